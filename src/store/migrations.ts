/**
 * Schema versions, applied in order and recorded, so an older data directory is upgraded in place.
 * The SQL is plain enough to run on SQLite and PostgreSQL alike.
 */
export const migrations: readonly string[] = [
  `CREATE TABLE services (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     key TEXT NOT NULL
   );
   CREATE TABLE rooms (
     id TEXT PRIMARY KEY,
     service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
     created_seq BIGINT NOT NULL,
     document TEXT NOT NULL
   );
   CREATE INDEX rooms_by_service ON rooms(service_id, created_seq);
   CREATE TABLE tokens (
     id TEXT PRIMARY KEY,
     creation_date BIGINT NOT NULL,
     document TEXT NOT NULL
   );
   CREATE INDEX tokens_by_age ON tokens(creation_date);
   CREATE TABLE secrets (
     name TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );
   CREATE TABLE nonces (
     nonce TEXT PRIMARY KEY,
     expires_at BIGINT NOT NULL
   );
   CREATE INDEX nonces_by_expiry ON nonces(expires_at);`,
  `CREATE TABLE sessions (
     participant_id TEXT PRIMARY KEY,
     portal TEXT NOT NULL,
     tickets TEXT NOT NULL,
     retired INTEGER NOT NULL DEFAULT 0,
     expires_at BIGINT NOT NULL,
     document TEXT NOT NULL
   );
   CREATE INDEX sessions_by_expiry ON sessions(expires_at);`,
  // Deleting a service deletes its unused tokens; older rows (none outlive the token lifetime) have none.
  `ALTER TABLE tokens ADD COLUMN service_id TEXT;
   CREATE INDEX tokens_by_service ON tokens(service_id);`,
  // Every login deletes a token, and each index is one more page written: a sixth of the deletion's
  // cost (SQLite, 49 µs instead of 58). Only a service's deletion looked tokens up by service, and
  // the table holds no more than the token lifetime's worth.
  'DROP INDEX tokens_by_service;',
];

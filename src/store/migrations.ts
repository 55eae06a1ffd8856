/** SQL plain enough for SQLite and PostgreSQL alike, or each store's own where they part. */
export type Migration = string | { readonly sqlite: string; readonly postgres: string };

export function migrationSql(migration: Migration, store: 'sqlite' | 'postgres'): string {
  return typeof migration === 'string' ? migration : migration[store];
}

/** Schema versions, applied in order and recorded, so an older data directory is upgraded in place. */
export const migrations: readonly Migration[] = [
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
  // SQLite keeps a table with a text key as two b-trees, the rows by rowid and an index of the key;
  // without a rowid the rows are ordered by the key itself: one page fewer written per login's token
  // consumption (40 µs instead of 46). PostgreSQL has no rowid.
  {
    sqlite: `CREATE TABLE tokens_by_id (
       id TEXT PRIMARY KEY,
       creation_date BIGINT NOT NULL,
       document TEXT NOT NULL,
       service_id TEXT
     ) WITHOUT ROWID;
     INSERT INTO tokens_by_id (id, creation_date, document, service_id) SELECT id, creation_date, document, service_id FROM tokens;
     DROP TABLE tokens;
     ALTER TABLE tokens_by_id RENAME TO tokens;
     CREATE INDEX tokens_by_age ON tokens(creation_date);`,
    postgres: '',
  },
];

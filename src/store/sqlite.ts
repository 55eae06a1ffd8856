import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makePrivateFiles, openDataDirectory } from './data-directory.js';
import { migrations, migrationSql } from './migrations.js';
import { judgeClaim, type SessionRow } from './sessions.js';
import type { ClaimResult, SessionRecord, ConsumeResult, Leadership, Page, Room, Service, Store, TokenRecord } from './store.js';

interface ServiceRow {
  id: string;
  name: string;
  key: string;
}

/**
 * A consumption sweeps expired tokens at most this often. Sweeping on each one took a transaction
 * around two statements, twice what the consumption's own statement costs.
 */
const TOKEN_SWEEP_INTERVAL_MS = 1_000;

/** The embedded store: one SQLite file in the data directory, in WAL mode. */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private lastTokenSweep = -Infinity;
  private closed = false;

  private constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('synchronous = NORMAL');
    this.migrate();
  }

  /** The database's file in the data directory. */
  static readonly fileName = 'conclave.sqlite';

  /** The database and its `-wal`/`-shm` files are the owner's only, in a directory that is too. */
  static open(dataDir: string): SqliteStore {
    openDataDirectory(dataDir);
    const file = join(dataDir, SqliteStore.fileName);
    makePrivateFiles(file, [`${file}-wal`, `${file}-shm`]);
    return new SqliteStore(file);
  }

  /** Each SQL text is prepared once: on the login path preparing cost more than running. */
  private prepare(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    const applied = this.prepare('SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations').get() as {
      version: number;
    };
    const apply = this.db.transaction((version: number, sql: string) => {
      this.db.exec(sql);
      this.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(version, Date.now());
    });
    migrations.forEach((migration, index) => {
      if (index + 1 > applied.version) apply(index + 1, migrationSql(migration, 'sqlite'));
    });
  }

  private roomIdsOf(serviceId: string): string[] {
    return (this.prepare('SELECT id FROM rooms WHERE service_id = ? ORDER BY created_seq').all(serviceId) as Array<{
      id: string;
    }>).map((row) => row.id);
  }

  async createService(service: Omit<Service, 'rooms'>): Promise<void> {
    this.prepare('INSERT INTO services (id, name, key) VALUES (?, ?, ?)').run(service._id, service.name, service.key);
  }

  async getService(id: string): Promise<Service | undefined> {
    const row = this.prepare('SELECT id, name, key FROM services WHERE id = ?').get(id) as ServiceRow | undefined;
    return row && { _id: row.id, name: row.name, key: row.key, rooms: this.roomIdsOf(row.id) };
  }

  async listServices(): Promise<Service[]> {
    const rows = this.prepare('SELECT id, name, key FROM services ORDER BY rowid').all() as ServiceRow[];
    return rows.map((row) => ({ _id: row.id, name: row.name, key: row.key, rooms: this.roomIdsOf(row.id) }));
  }

  async deleteService(id: string): Promise<boolean> {
    const remove = this.db.transaction((): boolean => {
      this.prepare('DELETE FROM tokens WHERE service_id = ?').run(id);
      return this.prepare('DELETE FROM services WHERE id = ?').run(id).changes > 0;
    });
    return remove.immediate();
  }

  async createRoom(serviceId: string, room: Room): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO rooms (id, service_id, created_seq, document) VALUES (?, ?, (SELECT COALESCE(MAX(created_seq), 0) + 1 FROM rooms), ?)',
      )
      .run(room._id, serviceId, JSON.stringify(room));
  }

  async getRoom(roomId: string): Promise<{ room: Room; serviceId: string } | undefined> {
    const row = this.prepare('SELECT service_id, document FROM rooms WHERE id = ?').get(roomId) as
      | { service_id: string; document: string }
      | undefined;
    return row && { room: JSON.parse(row.document) as Room, serviceId: row.service_id };
  }

  async listRooms(serviceId: string, page: Page): Promise<Room[]> {
    const rows = this.db
      .prepare('SELECT document FROM rooms WHERE service_id = ? ORDER BY created_seq LIMIT ? OFFSET ?')
      .all(serviceId, page.limit, page.offset) as Array<{ document: string }>;
    return rows.map((row) => JSON.parse(row.document) as Room);
  }

  async updateRoom(room: Room): Promise<boolean> {
    return this.prepare('UPDATE rooms SET document = ? WHERE id = ?').run(JSON.stringify(room), room._id).changes > 0;
  }

  async deleteRoom(roomId: string): Promise<boolean> {
    return this.prepare('DELETE FROM rooms WHERE id = ?').run(roomId).changes > 0;
  }

  async createToken(token: TokenRecord): Promise<void> {
    this.db
      .prepare('INSERT INTO tokens (id, service_id, creation_date, document) VALUES (?, ?, ?, ?)')
      .run(token._id, token.service, token.creationDate, JSON.stringify(token));
  }

  /**
   * One statement takes the token, so one consumer of many gets it. The sweep comes first and spares
   * the token: should it fail, nothing is consumed, and an expired token is still told 'expired'.
   */
  async consumeToken(tokenId: string, lifetimeMs: number, now: number): Promise<ConsumeResult> {
    // A clock set back would otherwise hold the sweep off for as long as it was set back.
    if (now - this.lastTokenSweep >= TOKEN_SWEEP_INTERVAL_MS || now < this.lastTokenSweep) {
      this.prepare('DELETE FROM tokens WHERE creation_date < ? AND id <> ?').run(now - lifetimeMs, tokenId);
      this.lastTokenSweep = now;
    }
    const row = this.prepare('DELETE FROM tokens WHERE id = ? RETURNING creation_date, document').get(tokenId) as
      | { creation_date: number; document: string }
      | undefined;
    if (!row) return { status: 'missing' };
    if (row.creation_date < now - lifetimeMs) return { status: 'expired' };
    return { status: 'ok', token: JSON.parse(row.document) as TokenRecord };
  }

  async getOrCreateKey(name: string, create: () => string): Promise<string> {
    this.prepare('INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING').run(name, create());
    return (this.prepare('SELECT value FROM secrets WHERE name = ?').get(name) as { value: string }).value;
  }

  async rememberNonce(nonce: string, expiresAt: number, now: number): Promise<boolean> {
    const remember = this.db.transaction((): boolean => {
      this.prepare('DELETE FROM nonces WHERE expires_at < ?').run(now);
      return this.prepare('INSERT INTO nonces (nonce, expires_at) VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING').run(nonce, expiresAt)
        .changes > 0;
    });
    return remember.immediate();
  }

  async saveSession(session: SessionRecord, portal: string, tickets: string[], expiresAt: number, now: number): Promise<void> {
    const save = this.db.transaction(() => {
      this.prepare('DELETE FROM sessions WHERE expires_at < ?').run(now);
      this.db
        .prepare(
          `INSERT INTO sessions (participant_id, portal, tickets, retired, expires_at, document) VALUES (?, ?, ?, 0, ?, ?)
           ON CONFLICT (participant_id) DO UPDATE SET tickets = excluded.tickets, expires_at = excluded.expires_at,
             document = excluded.document, retired = 0 WHERE sessions.portal = excluded.portal`,
        )
        .run(session.participantId, portal, JSON.stringify(tickets), expiresAt, JSON.stringify(session));
    });
    save.immediate();
  }

  async claimSession(participantId: string, ticketId: string, portal: string, now: number): Promise<ClaimResult> {
    const claim = this.db.transaction((): ClaimResult => {
      const row = this.db
        .prepare('SELECT tickets, retired, expires_at, document FROM sessions WHERE participant_id = ?')
        .get(participantId) as SessionRow | undefined;
      const result = judgeClaim(row, ticketId, now);
      if (result.status === 'ok') {
        this.prepare("UPDATE sessions SET tickets = '[]', portal = ? WHERE participant_id = ?").run(portal, participantId);
      }
      return result;
    });
    return claim.immediate();
  }

  async retireSession(participantId: string, expiresAt: number): Promise<void> {
    this.db
      .prepare("UPDATE sessions SET retired = 1, tickets = '[]', expires_at = ? WHERE participant_id = ?")
      .run(expiresAt, participantId);
  }

  async deleteSession(participantId: string, portal: string): Promise<void> {
    this.prepare('DELETE FROM sessions WHERE participant_id = ? AND portal = ? AND retired = 0').run(participantId, portal);
  }

  /** Embedded means one process: nobody else can be leader. */
  async acquireLeadership(): Promise<Leadership> {
    return { release: async () => undefined };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}

import pg from 'pg';
import { migrations, migrationSql } from './migrations.js';
import { judgeClaim, type SessionRow } from './sessions.js';
import {
  StoreError,
  type ClaimResult,
  type ConsumeResult,
  type Leadership,
  type Page,
  type Room,
  type Service,
  type SessionRecord,
  type Store,
  type TokenRecord,
} from './store.js';

interface ServiceRow {
  id: string;
  name: string;
  key: string;
  rooms: string[];
}

const ignore = (): void => undefined;

/**
 * The shared store for a cluster: PostgreSQL through a connection pool, every table inside one
 * schema (created if missing) so several deployments or test runs can share a database.
 * Every write that can race between processes is a single statement.
 */
export class PostgresStore implements Store {
  private readonly tables: Record<'services' | 'rooms' | 'tokens' | 'secrets' | 'nonces' | 'sessions', string>;
  /** Clients holding or waiting for a leadership lock, each with how to let it go. */
  private readonly lockClients = new Map<pg.Client, () => Promise<void>>();
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
    private readonly schema: string,
  ) {
    const qualified = (table: string) => `${pg.escapeIdentifier(schema)}.${table}`;
    this.tables = {
      services: qualified('services'),
      rooms: qualified('rooms'),
      tokens: qualified('tokens'),
      secrets: qualified('secrets'),
      nonces: qualified('nonces'),
      sessions: qualified('sessions'),
    };
  }

  static async connect(url: string, schema: string): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: url });
    // An idle pooled connection that dies is replaced on next use; unheard, its error would end the process.
    pool.on('error', ignore);
    const store = new PostgresStore(pool, url, schema);
    try {
      await store.migrate();
    } catch (error) {
      await pool.end();
      throw error;
    }
    return store;
  }

  /** Under a transaction-scoped advisory lock, so processes starting together neither race nor apply twice. */
  private async migrate(): Promise<void> {
    const client = await this.pool.connect();
    const schema = pg.escapeIdentifier(this.schema);
    try {
      await client.query('BEGIN');
      await client.query("SELECT pg_advisory_xact_lock(hashtext('conclave migrations'), hashtext($1))", [this.schema]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      // The migrations name their tables unqualified, as they are shared with SQLite.
      await client.query(`SET LOCAL search_path TO ${schema}`);
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)',
      );
      const { rows } = await client.query<{ version: number }>(
        'SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations',
      );
      const applied = rows[0]?.version ?? 0;
      for (const [index, migration] of migrations.entries()) {
        const version = index + 1;
        if (version <= applied) continue;
        const sql = migrationSql(migration, 'postgres');
        if (sql !== '') await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [version, Date.now()]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(ignore);
      throw error;
    } finally {
      client.release();
    }
  }

  private selectServices(where: string, params: unknown[]): Promise<pg.QueryResult<ServiceRow>> {
    return this.pool.query<ServiceRow>(
      `SELECT s.id, s.name, s.key,
              COALESCE(array_agg(r.id ORDER BY r.created_seq, r.id) FILTER (WHERE r.id IS NOT NULL), '{}') AS rooms
         FROM ${this.tables.services} s LEFT JOIN ${this.tables.rooms} r ON r.service_id = s.id
        ${where}
        GROUP BY s.id
        ORDER BY s.id`,
      params,
    );
  }

  async createService(service: Omit<Service, 'rooms'>): Promise<void> {
    await this.pool.query(`INSERT INTO ${this.tables.services} (id, name, key) VALUES ($1, $2, $3)`, [
      service._id,
      service.name,
      service.key,
    ]);
  }

  async getService(id: string): Promise<Service | undefined> {
    const { rows } = await this.selectServices('WHERE s.id = $1', [id]);
    return rows.map(serviceOf)[0];
  }

  async listServices(): Promise<Service[]> {
    const { rows } = await this.selectServices('', []);
    return rows.map(serviceOf);
  }

  async deleteService(id: string): Promise<boolean> {
    const result = await this.pool.query(
      `WITH tokens AS (DELETE FROM ${this.tables.tokens} WHERE service_id = $1)
       DELETE FROM ${this.tables.services} WHERE id = $1`,
      [id],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async createRoom(serviceId: string, room: Room): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.tables.rooms} (id, service_id, created_seq, document)
       VALUES ($1, $2, (SELECT COALESCE(MAX(created_seq), 0) + 1 FROM ${this.tables.rooms}), $3)`,
      [room._id, serviceId, JSON.stringify(room)],
    );
  }

  async getRoom(roomId: string): Promise<{ room: Room; serviceId: string } | undefined> {
    const { rows } = await this.pool.query<{ service_id: string; document: string }>(
      `SELECT service_id, document FROM ${this.tables.rooms} WHERE id = $1`,
      [roomId],
    );
    const row = rows[0];
    return row && { room: JSON.parse(row.document) as Room, serviceId: row.service_id };
  }

  async listRooms(serviceId: string, page: Page): Promise<Room[]> {
    // Rooms created at the same moment by two processes can share a sequence number; the id breaks the tie.
    const { rows } = await this.pool.query<{ document: string }>(
      `SELECT document FROM ${this.tables.rooms} WHERE service_id = $1 ORDER BY created_seq, id LIMIT $2 OFFSET $3`,
      [serviceId, page.limit, page.offset],
    );
    return rows.map((row) => JSON.parse(row.document) as Room);
  }

  async updateRoom(room: Room): Promise<boolean> {
    const result = await this.pool.query(`UPDATE ${this.tables.rooms} SET document = $1 WHERE id = $2`, [
      JSON.stringify(room),
      room._id,
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  async deleteRoom(roomId: string): Promise<boolean> {
    const result = await this.pool.query(`DELETE FROM ${this.tables.rooms} WHERE id = $1`, [roomId]);
    return (result.rowCount ?? 0) > 0;
  }

  async createToken(token: TokenRecord): Promise<void> {
    await this.pool.query(`INSERT INTO ${this.tables.tokens} (id, service_id, creation_date, document) VALUES ($1, $2, $3, $4)`, [
      token._id,
      token.service,
      token.creationDate,
      JSON.stringify(token),
    ]);
  }

  /**
   * One statement: of concurrent consumers only one gets the row back. The sweep skips rows other
   * transactions hold, so two consumers sweeping at once never wait on each other (no deadlock).
   */
  async consumeToken(tokenId: string, lifetimeMs: number, now: number): Promise<ConsumeResult> {
    const oldest = now - lifetimeMs;
    const { rows } = await this.pool.query<{ creation_date: string; document: string }>(
      `WITH consumed AS (
         DELETE FROM ${this.tables.tokens} WHERE id = $1 RETURNING creation_date, document
       ), swept AS (
         DELETE FROM ${this.tables.tokens} WHERE id IN (
           SELECT id FROM ${this.tables.tokens} WHERE creation_date < $2 AND id <> $1 FOR UPDATE SKIP LOCKED
         )
       )
       SELECT creation_date, document FROM consumed`,
      [tokenId, oldest],
    );
    const row = rows[0];
    if (!row) return { status: 'missing' };
    if (Number(row.creation_date) < oldest) return { status: 'expired' };
    return { status: 'ok', token: JSON.parse(row.document) as TokenRecord };
  }

  async getOrCreateKey(name: string, create: () => string): Promise<string> {
    await this.pool.query(`INSERT INTO ${this.tables.secrets} (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [
      name,
      create(),
    ]);
    // A separate statement, so it sees the row a concurrent creator committed first.
    const { rows } = await this.pool.query<{ value: string }>(`SELECT value FROM ${this.tables.secrets} WHERE name = $1`, [
      name,
    ]);
    const row = rows[0];
    if (!row) throw new StoreError(`Secret ${name} vanished`);
    return row.value;
  }

  /** An expired record of the same nonce is taken over in place; a live one makes the insert a no-op. */
  async rememberNonce(nonce: string, expiresAt: number, now: number): Promise<boolean> {
    const result = await this.pool.query(
      `WITH swept AS (
         DELETE FROM ${this.tables.nonces} WHERE nonce IN (
           SELECT nonce FROM ${this.tables.nonces} WHERE expires_at < $3 AND nonce <> $1 FOR UPDATE SKIP LOCKED
         )
       )
       INSERT INTO ${this.tables.nonces} AS remembered (nonce, expires_at) VALUES ($1, $2)
       ON CONFLICT (nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE remembered.expires_at < $3
       RETURNING nonce`,
      [nonce, expiresAt, now],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async saveSession(session: SessionRecord, portal: string, tickets: string[], expiresAt: number, now: number): Promise<void> {
    await this.pool.query(
      `WITH swept AS (
         DELETE FROM ${this.tables.sessions} WHERE participant_id IN (
           SELECT participant_id FROM ${this.tables.sessions} WHERE expires_at < $6 AND participant_id <> $1 FOR UPDATE SKIP LOCKED
         )
       )
       INSERT INTO ${this.tables.sessions} AS saved (participant_id, portal, tickets, retired, expires_at, document)
       VALUES ($1, $2, $3, 0, $4, $5)
       ON CONFLICT (participant_id) DO UPDATE SET tickets = EXCLUDED.tickets, expires_at = EXCLUDED.expires_at,
         document = EXCLUDED.document, retired = 0 WHERE saved.portal = EXCLUDED.portal`,
      [session.participantId, portal, JSON.stringify(tickets), expiresAt, JSON.stringify(session), now],
    );
  }

  async claimSession(participantId: string, ticketId: string, portal: string, now: number): Promise<ClaimResult> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<SessionRow>(
        `SELECT tickets, retired, expires_at, document FROM ${this.tables.sessions} WHERE participant_id = $1 FOR UPDATE`,
        [participantId],
      );
      const result = judgeClaim(rows[0], ticketId, now);
      if (result.status === 'ok') {
        await client.query(`UPDATE ${this.tables.sessions} SET tickets = '[]', portal = $2 WHERE participant_id = $1`, [
          participantId,
          portal,
        ]);
      }
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(ignore);
      throw error;
    } finally {
      client.release();
    }
  }

  async retireSession(participantId: string, expiresAt: number): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.tables.sessions} SET retired = 1, tickets = '[]', expires_at = $2 WHERE participant_id = $1`,
      [participantId, expiresAt],
    );
  }

  async deleteSession(participantId: string, portal: string): Promise<void> {
    await this.pool.query(
      `DELETE FROM ${this.tables.sessions} WHERE participant_id = $1 AND portal = $2 AND retired = 0`,
      [participantId, portal],
    );
  }

  /**
   * A session-level advisory lock on a connection of its own, outside the pool, held until
   * `release()`; PostgreSQL frees it when that connection ends, so a dead leader's lock passes on.
   */
  async acquireLeadership(name: string, onLost?: () => void): Promise<Leadership> {
    if (this.closed) throw new StoreError('Store closed');
    const client = new pg.Client({
      connectionString: this.url,
      application_name: `conclave leader ${name}`.slice(0, 63),
      keepAlive: true,
    });
    client.on('error', ignore);
    this.lockClients.set(client, () => client.end().catch(ignore));
    try {
      await client.connect();
      await client.query('SELECT pg_advisory_lock(hashtext($1), hashtext($2))', [this.schema, name]);
    } catch (error) {
      this.lockClients.delete(client);
      await client.end().catch(ignore);
      throw error;
    }
    let releasing: Promise<void> | undefined;
    const release = () =>
      (releasing ??= (async () => {
        this.lockClients.delete(client);
        await client.end().catch(ignore);
      })());
    this.lockClients.set(client, release);
    client.on('end', () => {
      if (!releasing) {
        this.lockClients.delete(client);
        onLost?.();
      }
    });
    return { release };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.lockClients.values()].map((letGo) => letGo()));
    await this.pool.end();
  }
}

function serviceOf(row: ServiceRow): Service {
  return { _id: row.id, name: row.name, key: row.key, rooms: row.rooms };
}

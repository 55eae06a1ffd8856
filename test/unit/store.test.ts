import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { migrations, migrationSql } from '../../src/store/migrations.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { storeConformance } from '../support/store-conformance.js';

const dataDirs: string[] = [];

after(async () => {
  for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
});

storeConformance('SQLite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'conclave-store-'));
  dataDirs.push(dir);
  return { store: SqliteStore.open(dir), reopen: async () => SqliteStore.open(dir) };
});

describe('SQLite data directory upgrade', () => {
  it('a data directory at schema 4 keeps its tokens, which a login then consumes from the table without rowid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conclave-store-'));
    dataDirs.push(dir);
    const file = join(dir, SqliteStore.fileName);
    const older = new Database(file);
    older.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    migrations.slice(0, 4).forEach((migration, index) => {
      older.exec(migrationSql(migration, 'sqlite'));
      older.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(index + 1, Date.now());
    });
    const now = Date.now();
    const token = { _id: 'kept', service: 'service', creationDate: now, room: 'room' };
    older.prepare('INSERT INTO tokens (id, service_id, creation_date, document) VALUES (?, ?, ?, ?)').run(token._id, token.service, now, JSON.stringify(token));
    older.close();

    const store = SqliteStore.open(dir);
    try {
      assert.deepEqual(await store.consumeToken('kept', 60_000, now), { status: 'ok', token });
      assert.deepEqual(await store.consumeToken('kept', 60_000, now), { status: 'missing' });
    } finally {
      await store.close();
    }
    const upgraded = new Database(file, { readonly: true });
    try {
      const schema = upgraded.prepare("SELECT name, sql FROM sqlite_master WHERE tbl_name = 'tokens' ORDER BY name").all() as Array<{ name: string; sql: string }>;
      assert.deepEqual(schema.map((entry) => entry.name), ['tokens', 'tokens_by_age']);
      assert.match(schema[0]!.sql, /WITHOUT ROWID/);
      assert.equal((upgraded.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number }).version, migrations.length);
    } finally {
      upgraded.close();
    }
  });
});

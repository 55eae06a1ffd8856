import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
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

import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ManagementClient } from '../../src/client/management-client.js';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { startEmbedded } from '../../src/embedded.js';
import { createLogger } from '../../src/logger.js';
import { SqliteStore } from '../../src/store/sqlite.js';

const DATABASE = 'conclave.sqlite';
const modeOf = async (path: string) => (await stat(path)).mode & 0o777;
const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });

function start(dataDir: string) {
  const config = loadConfig({
    overrides: { dataDir, portal: { port: 0, host: '127.0.0.1' }, management: { port: 0, host: '127.0.0.1' } },
  });
  return startEmbedded(config, createLogger('silent'), quiet);
}

let parent: string;
let umask: number;
before(async () => {
  parent = await mkdtemp(join(tmpdir(), 'conclave-data-directory-'));
  // The usual umask, which leaves files readable by everyone unless the server says otherwise.
  umask = process.umask(0o022);
});
after(async () => {
  process.umask(umask);
  await rm(parent, { recursive: true, force: true });
});

describe('the data directory', () => {
  test('a new one is the owner\'s only, and so are the database, its -wal and -shm files and the credentials', async () => {
    const dataDir = join(parent, 'new', 'data');
    const server = await start(dataDir);
    try {
      const { superServiceId } = server.bootstrap;
      const key = (await server.store.getService(superServiceId))!.key;
      const api = new ManagementClient({ url: `http://127.0.0.1:${server.management.port}`, serviceId: superServiceId, key });
      await api.createToken(server.bootstrap.sampleRoomId, 'writer', 'presenter');
      assert.equal(await modeOf(dataDir), 0o700);
      const files = (await readdir(dataDir)).sort();
      assert.deepEqual(files, [DATABASE, `${DATABASE}-shm`, `${DATABASE}-wal`, 'super-service.json']);
      for (const file of files) assert.equal(await modeOf(join(dataDir, file)), 0o600, file);
    } finally {
      await server.close();
    }
  });

  for (const mode of [0o755, 0o750, 0o707, 0o720]) {
    test(`one that others can read or write (mode ${mode.toString(8)}) is refused at start, saying how to fix it, and left untouched`, async () => {
      const dataDir = join(parent, `shared-${mode.toString(8)}`);
      await mkdir(dataDir);
      await chmod(dataDir, mode);
      await assert.rejects(start(dataDir), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(
          error.message,
          `data directory "${dataDir}" can be read or written by other users (mode 0${mode.toString(8)}); ` +
            `it holds every service key: make it private (chmod 700 ${dataDir}) or choose another dataDir`,
        );
        return true;
      });
      assert.deepEqual(await readdir(dataDir), []);
      assert.equal(await modeOf(dataDir), mode);
    });
  }

  test('one that others may only enter, not list or change, is accepted', async () => {
    const dataDir = join(parent, 'traversable');
    await mkdir(dataDir);
    await chmod(dataDir, 0o711);
    const server = await start(dataDir);
    await server.close();
    assert.equal(await modeOf(join(dataDir, DATABASE)), 0o600);
  });

  test('database files an older version left readable by others are made the owner\'s only', async () => {
    const dataDir = join(parent, 'upgraded');
    const older = SqliteStore.open(dataDir);
    try {
      await older.createService({ _id: 'service', name: 'service', key: 'secret' });
      for (const file of [DATABASE, `${DATABASE}-wal`, `${DATABASE}-shm`]) await chmod(join(dataDir, file), 0o644);
      const reopened = SqliteStore.open(dataDir);
      for (const file of [DATABASE, `${DATABASE}-wal`, `${DATABASE}-shm`]) {
        assert.equal(await modeOf(join(dataDir, file)), 0o600, file);
      }
      assert.equal((await reopened.getService('service'))?.key, 'secret');
      await reopened.close();
    } finally {
      await older.close();
    }
  });
});

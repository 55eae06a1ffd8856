import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BusErrors } from '../../src/bus/index.js';
import { InProcessBus } from '../../src/bus/in-process.js';
import { MANAGER_ADDRESS } from '../../src/cluster/api.js';
import { Portal } from '../../src/portal/index.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { clusterConfig, silentLogger } from '../support/cluster.js';

/** Resolves once `port` can be listened on again, or rejects with the listen error. */
function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as AddressInfo;
      server.close(() => resolve(bound));
    });
  });
}

describe('portal start', () => {
  test('a portal that cannot join the cluster fails to start and frees its port', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'conclave-portal-start-'));
    const store = SqliteStore.open(dataDir);
    const bus = new InProcessBus();
    try {
      const port = await listenOnce(0);
      const config = clusterConfig({ dataDir, portal: { port, host: '127.0.0.1' }, cluster: { joinRetries: 1 } });
      await assert.rejects(Portal.start({ config, bus, store, logger: silentLogger }), {
        message: BusErrors.unreachable(MANAGER_ADDRESS),
      });
      assert.equal(await listenOnce(port), port);
    } finally {
      await bus.close();
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { BusErrors } from '../../src/bus/index.js';
import { InProcessBus } from '../../src/bus/in-process.js';
import type { ClusterEvent, ClusterManager, ManagerRpc } from '../../src/cluster/index.js';
import type { RpcClient } from '../../src/bus/index.js';
import { clusterConfig, joinServing, managerClient, recordClusterEvents, startManager, untilInService, workerInfo } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';

const CHECK_PERIOD = 20;
const CHECK_ALIVE_COUNT = 5;

describe('cluster manager registry', () => {
  let bus: InProcessBus;
  let manager: ClusterManager;
  let rpc: RpcClient<ManagerRpc>;
  let events: ClusterEvent[];

  beforeEach(async () => {
    bus = new InProcessBus();
    events = await recordClusterEvents(bus);
    // Workers here join by hand and never keep alive; liveness has its own test below.
    manager = await startManager(bus, clusterConfig({ cluster: { checkAliveCount: 1_000 } }));
    rpc = managerClient(bus);
    await untilInService(manager);
  });
  afterEach(async () => {
    await manager.close();
    await bus.close();
  });

  it("keepAlive from a worker the manager does not know answers 'whoareyou'", async () => {
    assert.equal(await rpc.call('keepAlive', ['stranger']), 'whoareyou');
    await rpc.call('join', ['portal', 'portal-1', workerInfo()]);
    assert.equal(await rpc.call('keepAlive', ['portal-1']), 'ok');
  });

  it('a worker that quits is removed at once, its tasks released, and a worker-quit event is published', async () => {
    await rpc.call('join', ['conference', 'agent-1', workerInfo()]);
    await rpc.call('pickUpTasks', ['agent-1', ['room-1']]);
    await rpc.call('quit', ['agent-1']);
    assert.deepEqual(manager.getWorkers(), []);
    assert.equal(await rpc.call('getScheduled', ['conference', 'room-1']), null);
    await waitFor('the quit event', () => events.length === 1);
    assert.deepEqual(events, [{ type: 'worker-quit', purpose: 'conference', id: 'agent-1' }]);
  });

  it('getWorkers lists each worker with purpose, load, description, tasks and reservations, optionally by purpose', async () => {
    const info = workerInfo({ hostname: 'portal.example', capacity: { isps: ['isp-a'], regions: ['east'] } });
    await joinServing(bus, 'portal', 'portal-1', info);
    await rpc.call('join', ['conference', 'agent-1', workerInfo()]);
    await rpc.call('reportLoad', ['portal-1', 0.25]);
    await rpc.call('schedule', ['portal', 'code-1', { isp: 'isp-a' }, 60_000]);
    await rpc.call('schedule', ['portal', 'code-2', { isp: 'isp-a' }, 60_000]);
    await rpc.call('pickUpTasks', ['portal-1', ['code-2']]);
    const portals = await rpc.call('getWorkers', ['portal']);
    assert.deepEqual(portals, [
      { id: 'portal-1', purpose: 'portal', state: 2, load: 0.25, info, tasks: ['code-2'], reservations: ['code-1'] },
    ]);
    assert.deepEqual(manager.getWorkers().map(({ id, purpose }) => [id, purpose]), [
      ['portal-1', 'portal'],
      ['agent-1', 'conference'],
    ]);
  });

  it('a known worker joining again while in service starts a new life: its old tasks are dropped and its quit published', async () => {
    await rpc.call('join', ['conference', 'agent-1', workerInfo()]);
    await rpc.call('pickUpTasks', ['agent-1', ['room-1']]);
    assert.equal(await rpc.call('join', ['conference', 'agent-1', workerInfo()]), 'in-service');
    assert.deepEqual(manager.getWorkers().map(({ id, tasks }) => [id, tasks]), [['agent-1', []]]);
    await waitFor('the quit event of the old life', () => events.length === 1);
  });

  it('a join with a malformed description is refused', async () => {
    await assert.rejects(rpc.call('join', ['portal', 'portal-1', { maxLoad: 0.85 } as never]), { message: 'Invalid worker info.' });
    assert.deepEqual(manager.getWorkers(), []);
  });

  it('close stops serving and can be called twice', async () => {
    await manager.close();
    await manager.close();
    await assert.rejects(rpc.call('keepAlive', ['x']), { message: BusErrors.unreachable('cluster-manager') });
  });
});

describe('cluster manager liveness checks', () => {
  it('a worker that stops keeping alive is removed after the configured checks and a worker-quit event is published', async () => {
    const bus = new InProcessBus();
    const events = await recordClusterEvents(bus);
    const config = clusterConfig({ cluster: { checkPeriod: CHECK_PERIOD, checkAliveCount: CHECK_ALIVE_COUNT } });
    const manager = await startManager(bus, config);
    const rpc = managerClient(bus);
    const joinedAt = Date.now();
    await rpc.call('join', ['conference', 'silent', workerInfo()]);
    await rpc.call('join', ['conference', 'chatty', workerInfo()]);
    const keepAlive = setInterval(() => void rpc.call('keepAlive', ['chatty']).catch(() => undefined), CHECK_PERIOD / 2);
    try {
      await waitFor('the silent worker to be removed', () => events.length > 0);
      assert.ok(Date.now() - joinedAt >= CHECK_PERIOD * CHECK_ALIVE_COUNT, 'removed only after the missed checks');
      assert.deepEqual(events, [{ type: 'worker-quit', purpose: 'conference', id: 'silent' }]);
      assert.deepEqual(manager.getWorkers().map(({ id }) => id), ['chatty']);
      assert.equal(await rpc.call('keepAlive', ['silent']), 'whoareyou');
    } finally {
      clearInterval(keepAlive);
      await manager.close();
      await bus.close();
    }
  });
});

describe('cluster manager start', () => {
  it('a manager without an initial time is in service from its first answer', async () => {
    const bus = new InProcessBus();
    const manager = await startManager(bus, clusterConfig(), 0);
    try {
      assert.equal(manager.state, 'in-service');
      assert.equal(await managerClient(bus).call('join', ['portal', 'portal-1', workerInfo()]), 'in-service');
    } finally {
      await manager.close();
      await bus.close();
    }
  });

  it('a second manager on the same bus fails to start and leaves the first one serving', async () => {
    const bus = new InProcessBus();
    const first = await startManager(bus, clusterConfig(), 0);
    try {
      await assert.rejects(startManager(bus, clusterConfig(), 0), { message: 'Address already served: cluster-manager' });
      assert.equal(await managerClient(bus).call('keepAlive', ['stranger']), 'whoareyou');
    } finally {
      await first.close();
      await bus.close();
    }
  });
});

describe('cluster manager while initializing', () => {
  it('a known worker joining again keeps the tasks it re-sends, with no quit event', async () => {
    const bus = new InProcessBus();
    const events = await recordClusterEvents(bus);
    const manager = await startManager(bus, clusterConfig({ cluster: { checkAliveCount: 1_000 } }), 60_000);
    try {
      const rpc = managerClient(bus);
      assert.equal(await rpc.call('join', ['conference', 'agent-1', workerInfo()]), 'initializing');
      await rpc.call('pickUpTasks', ['agent-1', ['room-1']]);
      assert.equal(await rpc.call('join', ['conference', 'agent-1', workerInfo()]), 'initializing');
      assert.deepEqual(manager.getWorkers().map(({ tasks }) => tasks), [['room-1']]);
      await rpc.call('quit', ['agent-1']);
      await waitFor('the quit event', () => events.length === 1);
      assert.deepEqual(events, [{ type: 'worker-quit', purpose: 'conference', id: 'agent-1' }]);
    } finally {
      await manager.close();
      await bus.close();
    }
  });
});

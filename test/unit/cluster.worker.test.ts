import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { InProcessBus } from '../../src/bus/in-process.js';
import {
  ClusterErrors,
  ClusterWorker,
  MANAGER_ADDRESS,
  type ClusterEvent,
  type ClusterManager,
  type ClusterWorkerOptions,
  type LoadMeter,
} from '../../src/cluster/index.js';
import type { Config } from '../../src/config/config.js';
import {
  clusterConfig,
  managerClient,
  recordClusterEvents,
  silentLogger,
  startManager,
  untilInService,
  waitForTasks,
} from '../support/cluster.js';
import { waitFor } from '../support/wait.js';

/** A load the test sets by hand. */
class FixedLoad implements LoadMeter {
  constructor(public load = 0.1) {}
  sample(): number {
    return this.load;
  }
}

describe('cluster worker', () => {
  let bus: InProcessBus;
  let config: Config;
  let managers: ClusterManager[];
  let workers: ClusterWorker[];
  let events: ClusterEvent[];

  beforeEach(async () => {
    bus = new InProcessBus();
    config = clusterConfig();
    managers = [];
    workers = [];
    events = await recordClusterEvents(bus);
  });
  afterEach(async () => {
    for (const worker of workers) await worker.quit();
    for (const manager of managers) await manager.close();
    await bus.close();
  });

  async function manager(initialTimeMs?: number): Promise<ClusterManager> {
    const started = await startManager(bus, config, initialTimeMs);
    managers.push(started);
    if (initialTimeMs === undefined) await untilInService(started);
    return started;
  }

  function worker(options: Partial<ClusterWorkerOptions> = {}): ClusterWorker {
    const created = new ClusterWorker({
      config, bus, logger: silentLogger, purpose: 'portal', loadMeter: new FixedLoad(), ...options,
    });
    workers.push(created);
    return created;
  }

  it('its id is purpose-random@hostname and its description carries state 2 and the configured maxLoad', () => {
    const portal = worker({ info: { port: 8443, ssl: true, capacity: { isps: ['isp-a'], regions: [] } } });
    const other = worker();
    assert.match(portal.id, new RegExp(`^portal-[0-9a-f]{16}@${hostname().replaceAll('.', '\\.')}$`));
    assert.notEqual(portal.id, other.id);
    assert.deepEqual(portal.info, {
      ip: '', hostname: hostname(), port: 8443, via_host: '', ssl: true,
      capacity: { isps: ['isp-a'], regions: [] }, state: 2, maxLoad: 0.85,
    });
  });

  it('joins, stays alive past the removal deadline, and reports its tasks as they come and go', async () => {
    const m = await manager();
    const w = worker();
    await w.start();
    w.addTask('code-1');
    w.addTask('code-2');
    await waitForTasks(m, w.id, ['code-1', 'code-2']);
    w.removeTask('code-1');
    await waitForTasks(m, w.id, ['code-2']);
    assert.deepEqual(m.getWorkers()[0]!.reservations, ['code-1']);
    assert.deepEqual([...w.tasks], ['code-2']);
    const { checkPeriod, checkAliveCount } = config.cluster;
    const deadline = Date.now() + checkPeriod * (checkAliveCount + 3);
    await waitFor('the removal deadline to pass', () => Date.now() > deadline, { timeoutMs: deadline - Date.now() + 1_000 });
    assert.deepEqual(m.getWorkers().map(({ id }) => id), [w.id]);
    assert.deepEqual(events, []);
  });

  it('reports its load when it changes, so the manager stops giving it work at full load', async () => {
    const m = await manager();
    const load = new FixedLoad(0.9);
    const w = worker({ loadMeter: load });
    // Its owner (a portal) serves its address; the manager names only workers it can reach.
    await bus.serve(w.id, {});
    await w.start();
    await waitFor('the full load to be reported', () => m.getWorkers()[0]?.load === 0.9);
    const rpc = managerClient(bus);
    await assert.rejects(rpc.call('schedule', ['portal', 'code-1', {}, 1_000]), { message: ClusterErrors.fullLoad });
    load.load = 0.3;
    await waitFor('the lower load to be reported', () => m.getWorkers()[0]?.load === 0.3);
    assert.equal((await rpc.call('schedule', ['portal', 'code-1', {}, 1_000])).id, w.id);
  });

  it('keeps trying to join until the manager comes up', async () => {
    const w = worker();
    const starting = w.start();
    await new Promise((resolve) => setTimeout(resolve, config.cluster.joinRetryInterval * 2));
    const m = await manager();
    await starting;
    assert.deepEqual(m.getWorkers().map(({ id }) => id), [w.id]);
  });

  it('gives up joining after the configured retries with the last failure', async () => {
    const w = worker();
    await assert.rejects(w.start(), { message: 'Address unreachable: cluster-manager' });
  });

  it('after a manager restart it joins the new manager and re-sends its tasks', async () => {
    const first = await manager();
    const w = worker();
    await w.start();
    w.addTask('code-1');
    w.addTask('code-2');
    await waitForTasks(first, w.id, ['code-1', 'code-2']);
    await first.close();
    const second = await manager(60_000);
    await waitForTasks(second, w.id, ['code-1', 'code-2']);
    assert.equal(second.state, 'initializing');
    assert.deepEqual([...w.tasks], ['code-1', 'code-2']);
  });

  /** A manager whose keep-alive fails `failures` times, then answers `then`. */
  async function failingManager(failures: number, then: 'ok' | 'whoareyou'): Promise<{ calls: string[]; close(): Promise<void> }> {
    const calls: string[] = [];
    let keepAlives = 0;
    const fake = await bus.serve(MANAGER_ADDRESS, {
      join: () => {
        calls.push('join');
        return 'initializing';
      },
      keepAlive: () => {
        calls.push('keepAlive');
        if (++keepAlives <= failures) throw new Error('overloaded');
        return then;
      },
      pickUpTasks: (_id: string, tasks: string[]) => void calls.push(`pickUp ${tasks.join(',')}`),
    });
    return { calls, close: () => fake.close() };
  }

  it('after four failed keep-alives it keeps asking; a manager that still knows it gets its tasks again, without a join', async () => {
    const fake = await failingManager(6, 'ok');
    try {
      const w = worker();
      await w.start();
      w.addTask('code-1');
      await waitFor('the tasks to be re-sent', () => fake.calls.filter((call) => call === 'pickUp code-1').length === 2 || fake.calls.join(' '));
      assert.deepEqual(fake.calls.slice(0, 10), [
        'join', 'pickUp code-1', 'keepAlive', 'keepAlive', 'keepAlive', 'keepAlive', 'keepAlive', 'keepAlive', 'keepAlive', 'pickUp code-1',
      ]);
      assert.equal(w.state, 'in-service');
    } finally {
      await fake.close();
    }
  });

  it('after four failed keep-alives, a manager that answers it does not know it is re-joined, and gets the tasks again', async () => {
    const fake = await failingManager(4, 'whoareyou');
    try {
      const w = worker();
      await w.start();
      w.addTask('code-1');
      await waitFor('a second join', () => fake.calls.filter((call) => call === 'join').length === 2 || fake.calls.join(' '));
      await waitFor('the tasks to be re-sent', () => fake.calls.at(-1) === 'pickUp code-1' || fake.calls.join(' '));
      assert.deepEqual(fake.calls.slice(0, 8), [
        'join', 'pickUp code-1', 'keepAlive', 'keepAlive', 'keepAlive', 'keepAlive', 'keepAlive', 'join',
      ]);
    } finally {
      await fake.close();
    }
  });

  it('a loss (the manager is in service and forgot it) clears its tasks and calls onLoss once', async () => {
    const m = await manager();
    let losses = 0;
    const w = worker({ onLoss: () => void losses++ });
    await w.start();
    w.addTask('code-1');
    await waitForTasks(m, w.id, ['code-1']);
    await managerClient(bus).call('quit', [w.id]);
    await waitFor('the loss to be reported', () => losses === 1);
    assert.deepEqual([...w.tasks], []);
    await waitForTasks(m, w.id, []);
    w.addTask('code-2');
    await waitForTasks(m, w.id, ['code-2']);
    assert.equal(losses, 1);
  });

  it('quit leaves the cluster at once, publishes worker-quit, and can be called twice', async () => {
    const m = await manager();
    const w = worker();
    await w.start();
    await w.quit();
    await w.quit();
    assert.deepEqual(m.getWorkers(), []);
    await waitFor('the quit event', () => events.length === 1);
    assert.deepEqual(events, [{ type: 'worker-quit', purpose: 'portal', id: w.id }]);
  });

  it('quitting while still trying to join stops the attempts', async () => {
    config = clusterConfig({ cluster: { joinRetries: 1_000 } });
    const w = worker();
    const starting = assert.rejects(w.start(), { message: 'Cluster worker quit before joining' });
    await w.quit();
    await starting;
    const m = await manager();
    await new Promise((resolve) => setTimeout(resolve, config.cluster.joinRetryInterval * 3));
    assert.deepEqual(m.getWorkers(), []);
  });
});

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { InProcessBus } from '../../src/bus/in-process.js';
import {
  ClusterErrors,
  Scheduler,
  createStrategy,
  matchAll,
  originMatcher,
  type ClusterManager,
  type Purpose,
  type StrategyName,
} from '../../src/cluster/index.js';
import { clusterConfig, joinServing, managerClient, recordClusterEvents, startManager, untilInService, workerInfo } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';

const SHORT = 40;
const LONG = 60_000;

describe('scheduler', () => {
  const schedulers: Scheduler[] = [];
  afterEach(() => {
    for (const scheduler of schedulers.splice(0)) scheduler.close();
  });

  function scheduler(strategy: StrategyName = 'round-robin', purpose: Purpose = 'conference'): Scheduler {
    const created = new Scheduler({
      purpose,
      strategy: createStrategy(strategy),
      matcher: purpose === 'portal' ? originMatcher : matchAll,
      defaultReserveMs: SHORT,
    });
    schedulers.push(created);
    return created;
  }

  const listsOf = (s: Scheduler, id: string) => {
    const worker = s.snapshot().find((each) => each.id === id)!;
    return { tasks: worker.tasks, reservations: worker.reservations };
  };

  it('a reservation expires when nobody picks the task up', async () => {
    const s = scheduler();
    s.addWorker('w1', workerInfo());
    assert.equal(s.schedule('room-1', {}, SHORT).id, 'w1');
    assert.deepEqual(listsOf(s, 'w1'), { tasks: [], reservations: ['room-1'] });
    await waitFor('the reservation to expire', () => s.getScheduled('room-1') === null);
    assert.deepEqual(listsOf(s, 'w1'), { tasks: [], reservations: [] });
  });

  it('a picked-up task stays assigned after its reservation time', async () => {
    const s = scheduler();
    s.addWorker('w1', workerInfo());
    s.schedule('kept', {}, SHORT);
    s.schedule('control', {}, SHORT);
    s.pickUpTasks('w1', ['kept']);
    await waitFor('the control reservation to expire', () => s.getScheduled('control') === null);
    assert.equal(s.getScheduled('kept'), 'w1');
    assert.deepEqual(listsOf(s, 'w1'), { tasks: ['kept'], reservations: [] });
  });

  it('a laid-down task turns back into a reservation that then expires', async () => {
    const s = scheduler();
    s.addWorker('w1', workerInfo());
    s.schedule('room-1', {}, SHORT);
    s.pickUpTasks('w1', ['room-1']);
    s.layDownTask('w1', 'room-1');
    assert.deepEqual(listsOf(s, 'w1'), { tasks: [], reservations: ['room-1'] });
    await waitFor('the laid-down task to be released', () => s.getScheduled('room-1') === null);
  });

  it('a laid-down task the scheduler never scheduled is reserved for the default time', async () => {
    const s = scheduler();
    s.addWorker('w1', workerInfo());
    s.pickUpTasks('w1', ['re-sent']);
    s.layDownTask('w1', 're-sent');
    assert.deepEqual(listsOf(s, 'w1'), { tasks: [], reservations: ['re-sent'] });
    await waitFor('the default reservation to expire', () => s.getScheduled('re-sent') === null);
  });

  it('a task already assigned to a live worker goes to the same worker, with its reservation extended', async () => {
    const s = scheduler('round-robin');
    s.addWorker('w1', workerInfo());
    s.addWorker('w2', workerInfo());
    assert.equal(s.schedule('room-1', {}, SHORT).id, 'w1');
    assert.equal(s.schedule('room-1', {}, LONG).id, 'w1');
    s.schedule('control', {}, SHORT);
    await waitFor('the control reservation to expire', () => s.getScheduled('control') === null);
    assert.equal(s.getScheduled('room-1'), 'w1');
  });

  it('removing a worker releases its tasks and reservations, which can then go elsewhere', () => {
    const s = scheduler('least-used');
    s.addWorker('w1', workerInfo());
    s.addWorker('w2', workerInfo());
    s.updateLoad('w2', 0.5);
    s.schedule('picked', {}, LONG);
    s.schedule('reserved', {}, LONG);
    s.pickUpTasks('w1', ['picked']);
    s.removeWorker('w1');
    assert.equal(s.getScheduled('picked'), null);
    assert.equal(s.getScheduled('reserved'), null);
    assert.equal(s.schedule('picked', {}, LONG).id, 'w2');
  });

  it('workers at or above their maxLoad, or in another state, are not available', () => {
    const s = scheduler();
    s.addWorker('busy', workerInfo({ maxLoad: 0.5 }));
    s.addWorker('draining', workerInfo({ state: 3 }));
    s.updateLoad('busy', 0.5);
    assert.throws(() => s.schedule('room-1', {}, LONG), { message: ClusterErrors.fullLoad });
    s.updateLoad('busy', 0.49);
    assert.equal(s.schedule('room-1', {}, LONG).id, 'busy');
  });

  it('an empty cluster is reported as all in full load', () => {
    assert.throws(() => scheduler().schedule('room-1', {}, LONG), { message: 'No worker available, all in full load.' });
  });

  it('portals that do not match the preference yield the SPEC error', () => {
    const s = scheduler('last-used', 'portal');
    s.addWorker('isp-a', workerInfo({ capacity: { isps: ['isp-a'], regions: [] } }));
    assert.throws(() => s.schedule('code-1', { isp: 'isp-b' }, LONG), { message: 'No worker matches the preference.' });
    assert.equal(s.schedule('code-1', { isp: 'isp-a' }, LONG).id, 'isp-a');
  });

  it('a scheduled worker comes with its description so callers can reach it', () => {
    const s = scheduler();
    const info = workerInfo({ hostname: 'portal.example', port: 8443, ssl: true });
    s.addWorker('w1', info);
    assert.deepEqual(s.schedule('code-1', {}, LONG), { id: 'w1', info });
  });
});

describe('cluster manager scheduling', () => {
  let bus: InProcessBus;
  let manager: ClusterManager | undefined;
  afterEach(async () => {
    await manager?.close();
    await bus.close();
  });

  it("schedule before the manager is in service fails with 'cluster manager is not ready.'", async () => {
    bus = new InProcessBus();
    manager = await startManager(bus, clusterConfig({ cluster: { checkAliveCount: 1_000 } }), 2_000);
    const rpc = managerClient(bus);
    await joinServing(bus, 'conference', 'agent-1');
    await assert.rejects(rpc.call('schedule', ['conference', 'room-1', {}, LONG]), {
      message: 'cluster manager is not ready.',
    });
    await untilInService(manager);
    assert.equal((await rpc.call('schedule', ['conference', 'room-1', {}, LONG])).id, 'agent-1');
  });

  it('each purpose is scheduled with its configured strategy and only among its own workers', async () => {
    bus = new InProcessBus();
    manager = await startManager(bus, clusterConfig({
      cluster: { checkAliveCount: 1_000, strategies: { portal: 'round-robin', conference: 'least-used' } },
    }));
    await untilInService(manager);
    const rpc = managerClient(bus);
    for (const id of ['portal-1', 'portal-2']) await joinServing(bus, 'portal', id);
    for (const id of ['agent-1', 'agent-2']) await joinServing(bus, 'conference', id);
    await rpc.call('reportLoad', ['agent-1', 0.6]);
    await rpc.call('reportLoad', ['agent-2', 0.2]);
    const portals = [];
    for (const code of ['a', 'b', 'c']) portals.push((await rpc.call('schedule', ['portal', code, {}, LONG])).id);
    assert.deepEqual(portals, ['portal-1', 'portal-2', 'portal-1']);
    assert.equal((await rpc.call('schedule', ['conference', 'room-1', {}, LONG])).id, 'agent-2');
    assert.equal(await rpc.call('getScheduled', ['conference', 'room-1']), 'agent-2');
    assert.equal(await rpc.call('getScheduled', ['portal', 'room-1']), null);
  });

  it('a new task never goes to a worker whose bus address is gone; a task such a worker holds waits until it is removed', async () => {
    bus = new InProcessBus();
    const config = clusterConfig({ cluster: { checkAliveCount: 1_000, strategies: { portal: 'round-robin', conference: 'last-used' } } });
    manager = await startManager(bus, config);
    await untilInService(manager);
    const rpc = managerClient(bus);
    await joinServing(bus, 'portal', 'portal-1');
    await rpc.call('join', ['portal', 'portal-2', workerInfo()]);
    const portals = [];
    for (const code of ['a', 'b', 'c']) portals.push((await rpc.call('schedule', ['portal', code, {}, LONG])).id);
    assert.deepEqual(portals, ['portal-1', 'portal-1', 'portal-1'], 'portal-2 serves no address: it is never named');

    const agent = await bus.serve('agent-1', {});
    await rpc.call('join', ['conference', 'agent-1', workerInfo()]);
    await joinServing(bus, 'conference', 'agent-2');
    await rpc.call('pickUpTasks', ['agent-1', ['room-1']]);
    await agent.close();
    await assert.rejects(rpc.call('schedule', ['conference', 'room-1', {}, LONG]), { message: ClusterErrors.taskWorkerUnreachable });
    assert.equal((await rpc.call('schedule', ['conference', 'room-2', {}, LONG])).id, 'agent-2');
    await rpc.call('quit', ['agent-1']);
    assert.equal((await rpc.call('schedule', ['conference', 'room-1', {}, LONG])).id, 'agent-2');
  });

  it('a worker whose keep-alive is late and whose bus address stays gone longer than a reconnection is removed, before its liveness runs out', async () => {
    bus = new InProcessBus();
    const events = await recordClusterEvents(bus);
    // A reconnection here takes at most 50 + 200 ms; liveness alone would take 20 s.
    const config = clusterConfig({ bus: { maxReconnectDelay: 50 }, cluster: { checkPeriod: 20, checkAliveCount: 1_000 } });
    manager = await startManager(bus, config);
    await untilInService(manager);
    const rpc = managerClient(bus);
    await joinServing(bus, 'conference', 'agent-1');
    const gone = await bus.serve('agent-2', {});
    await rpc.call('join', ['conference', 'agent-2', workerInfo()]);
    await gone.close();
    const startedAt = Date.now();
    await waitFor('agent-2 to be removed', () => events.length === 1 || JSON.stringify(manager!.getWorkers().map(({ id }) => id)));
    assert.deepEqual(events, [{ type: 'worker-quit', purpose: 'conference', id: 'agent-2' }]);
    assert.ok(Date.now() - startedAt < 5_000);
    // agent-1 stopped keeping alive too, but its address is there: only liveness removes it.
    assert.deepEqual(manager.getWorkers().map(({ id }) => id), ['agent-1']);
  });

  it('an unknown purpose, or a task that is not a non-empty string, is refused', async () => {
    bus = new InProcessBus();
    manager = await startManager(bus, clusterConfig());
    await untilInService(manager);
    const rpc = managerClient(bus);
    await assert.rejects(rpc.call('join', ['mixer' as Purpose, 'mixer-1', workerInfo()]), { message: ClusterErrors.unknownPurpose });
    await assert.rejects(rpc.call('schedule', ['mixer' as Purpose, 'x', {}, LONG]), { message: ClusterErrors.unknownPurpose });
    await assert.rejects(rpc.call('schedule', ['portal', '', {}, LONG]), { message: 'Invalid task.' });
    await assert.rejects(rpc.call('schedule', ['portal', null as never, {}, LONG]), { message: 'Invalid task.' });
  });
});

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { InProcessBus } from '../../src/bus/in-process.js';
import type { ClusterEvent } from '../../src/cluster/index.js';
import { InProcessLauncher, NodeManager, NodeManagerErrors, type RoomTasks } from '../../src/agent/index.js';
import type { ConfigOverrides } from '../../src/config/config.js';
import { clusterConfig, recordClusterEvents, silentLogger, TrivialNodes } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';

const AGENT = 'conference-agent-test@host';

/** What the node manager told the agent's cluster worker, in order. */
class RecordedTasks implements RoomTasks {
  readonly log: string[] = [];
  addTask(task: string): void {
    this.log.push(`add ${task}`);
  }
  removeTask(task: string): void {
    this.log.push(`remove ${task}`);
  }
}

interface Harness {
  bus: InProcessBus;
  nodes: TrivialNodes;
  manager: NodeManager;
  tasks: RecordedTasks;
  events: ClusterEvent[];
}

describe('node manager', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.manager.close();
    await h?.bus.close();
    h = undefined;
  });

  async function start(agent: ConfigOverrides['agent'] = {}): Promise<Harness> {
    const bus = new InProcessBus();
    const events = await recordClusterEvents(bus);
    const nodes = new TrivialNodes(bus);
    const tasks = new RecordedTasks();
    const manager = new NodeManager({
      purpose: 'conference',
      config: clusterConfig({ agent }),
      bus,
      logger: silentLogger,
      launcher: new InProcessLauncher(nodes.factory),
      agentId: AGENT,
      roomTasks: tasks,
    });
    h = { bus, nodes, manager, tasks, events };
    manager.start();
    return h;
  }

  const idleCount = ({ manager }: Harness) => manager.snapshot().filter(({ room }) => room === null).length;

  it('keeps the configured number of idle nodes running, each at its own bus address', async () => {
    const { manager, nodes, bus } = await start({ prerunProcesses: 3 });
    await waitFor('three ready nodes', () => manager.snapshot().filter(({ ready }) => ready).length === 3);
    assert.deepEqual(nodes.started, [`${AGENT}.node-1`, `${AGENT}.node-2`, `${AGENT}.node-3`]);
    assert.deepEqual(await bus.call(`${AGENT}.node-2`, 'whoami', [], 500), { nodeId: `${AGENT}.node-2`, agentId: AGENT });
  });

  it('two joins of one room get the same node and the room is added to the cluster once', async () => {
    const { manager, tasks } = await start();
    const [first, second] = await Promise.all([
      manager.getNode({ room: 'room-1', task: 'room-1' }),
      manager.getNode({ room: 'room-1', task: 'room-1' }),
    ]);
    assert.equal(first, second);
    assert.equal(await manager.getNode({ room: 'room-1', task: 'room-1' }), first);
    assert.deepEqual(tasks.log, ['add room-1']);
    assert.equal(manager.queryNode('room-1'), first);
    assert.equal(manager.queryNode('room-2'), null);
  });

  it('different rooms go to different idle nodes and the idle nodes are refilled', async () => {
    const h = await start({ prerunProcesses: 2 });
    await waitFor('two idle nodes', () => idleCount(h) === 2);
    const room1 = await h.manager.getNode({ room: 'room-1', task: 'room-1' });
    const room2 = await h.manager.getNode({ room: 'room-2', task: 'room-2' });
    assert.deepEqual([room1, room2], [`${AGENT}.node-1`, `${AGENT}.node-2`]);
    assert.equal(idleCount(h), 2);
    assert.equal(h.manager.snapshot().length, 4);
    assert.deepEqual(h.tasks.log, ['add room-1', 'add room-2']);
  });

  it('never runs more than maxProcesses nodes and refuses a room when all of them are busy', async () => {
    const h = await start({ prerunProcesses: 2, maxProcesses: 2 });
    await h.manager.getNode({ room: 'room-1', task: 'room-1' });
    await h.manager.getNode({ room: 'room-2', task: 'room-2' });
    await assert.rejects(h.manager.getNode({ room: 'room-3', task: 'room-3' }), { message: NodeManagerErrors.noNodeAvailable('conference') });
    assert.equal(h.nodes.started.length, 2);
    h.manager.recycleNode(`${AGENT}.node-1`, { room: 'room-1', task: 'room-1' });
    assert.equal(await h.manager.getNode({ room: 'room-3', task: 'room-3' }), `${AGENT}.node-3`);
    assert.ok(h.manager.snapshot().length <= 2);
  });

  it('with no idle node ready it launches one on demand when allowed', async () => {
    const h = await start({ prerunProcesses: 0 });
    assert.equal(h.manager.snapshot().length, 0);
    assert.equal(await h.manager.getNode({ room: 'room-1', task: 'room-1' }), `${AGENT}.node-1`);
  });

  it('recycling the last task of a room retires its node, lays the room down and refills the idle nodes', async () => {
    const h = await start({ prerunProcesses: 1 });
    const node = await h.manager.getNode({ room: 'room-1', task: 'room-1' });
    await h.manager.getNode({ room: 'room-1', task: 'stream-a' });
    h.manager.recycleNode(node, { room: 'room-1', task: 'stream-a' });
    assert.equal(h.manager.queryNode('room-1'), node);
    h.manager.recycleNode(node, { room: 'other-room', task: 'room-1' });
    assert.equal(h.manager.queryNode('room-1'), node, 'a recycle naming another room is ignored');
    h.manager.recycleNode(node, { room: 'room-1', task: 'room-1' });
    assert.equal(h.manager.queryNode('room-1'), null);
    await waitFor('the node to be stopped', () => h.nodes.closed.includes(node));
    assert.deepEqual(h.tasks.log, ['add room-1', 'remove room-1']);
    assert.equal(idleCount(h), 1);
    assert.ok(!h.manager.snapshot().some(({ id }) => id === node));
    assert.deepEqual(h.events, []);
  });

  it("a node that does not get ready in time fails the request with 'node not ready' and gives the room up", async () => {
    const h = await start({ prerunProcesses: 0, nodeReadyTimeout: 50 });
    h.nodes.holdStarts();
    await assert.rejects(h.manager.getNode({ room: 'room-1', task: 'room-1' }), { message: NodeManagerErrors.nodeNotReady });
    assert.deepEqual(h.tasks.log, ['add room-1', 'remove room-1']);
    assert.equal(h.manager.queryNode('room-1'), null);
    h.nodes.release();
    assert.equal(await h.manager.getNode({ room: 'room-1', task: 'room-1' }), `${AGENT}.node-2`);
  });

  it('a node that exits is reported as node-lost and its room can be scheduled again on another node', async () => {
    const h = await start({ prerunProcesses: 1 });
    const lost = await h.manager.getNode({ room: 'room-1', task: 'room-1' });
    await h.nodes.crash(lost);
    await waitFor('the node-lost event', () => h.events.length === 1);
    assert.deepEqual(h.events, [{ type: 'node-lost', agent: AGENT, node: lost }]);
    assert.deepEqual(h.tasks.log, ['add room-1', 'remove room-1']);
    assert.equal(h.manager.queryNode('room-1'), null);
    const again = await h.manager.getNode({ room: 'room-1', task: 'room-1' });
    assert.notEqual(again, lost);
    assert.deepEqual(await h.bus.call(again, 'whoami', [], 500), { nodeId: again, agentId: AGENT });
    await waitFor('an idle node again', () => idleCount(h) === 1);
  });

  it('retiring the busy nodes stops them quietly and keeps the idle ones', async () => {
    const h = await start({ prerunProcesses: 1 });
    const busy = await h.manager.getNode({ room: 'room-1', task: 'room-1' });
    h.manager.retireBusyNodes();
    await waitFor('the busy node to be stopped', () => h.nodes.closed.includes(busy));
    assert.equal(h.manager.queryNode('room-1'), null);
    assert.equal(idleCount(h), 1);
    assert.deepEqual(h.events, []);
  });

  it('close stops every node and refuses further rooms', async () => {
    const h = await start({ prerunProcesses: 2 });
    await h.manager.getNode({ room: 'room-1', task: 'room-1' });
    await h.manager.close();
    assert.deepEqual([...h.nodes.closed].sort(), [...h.nodes.started].sort());
    assert.equal(h.nodes.started.length, 3);
    await assert.rejects(h.manager.getNode({ room: 'room-2', task: 'room-2' }), { message: NodeManagerErrors.closed });
    assert.deepEqual(h.events, []);
  });
});

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { rpcClient, type RpcClient } from '../../src/bus/index.js';
import { InProcessBus } from '../../src/bus/in-process.js';
import type { ClusterEvent, ClusterManager, ManagerRpc } from '../../src/cluster/index.js';
import { InProcessLauncher, startAgent, type Agent, type AgentRpc } from '../../src/agent/index.js';
import type { Config } from '../../src/config/config.js';
import {
  clusterConfig,
  managerClient,
  recordClusterEvents,
  silentLogger,
  startManager,
  untilInService,
  TrivialNodes,
  waitForTasks,
} from '../support/cluster.js';
import { waitFor } from '../support/wait.js';

const ROOM = { room: 'room-1', task: 'room-1' };

describe('conference agent', () => {
  let bus: InProcessBus;
  let config: Config;
  let manager: ClusterManager;
  let managerRpc: RpcClient<ManagerRpc>;
  let nodes: TrivialNodes;
  let events: ClusterEvent[];
  let agents: Agent[];

  beforeEach(async () => {
    bus = new InProcessBus();
    config = clusterConfig({ agent: { prerunProcesses: 1 } });
    events = await recordClusterEvents(bus);
    manager = await startManager(bus, config);
    managerRpc = managerClient(bus);
    nodes = new TrivialNodes(bus);
    agents = [];
    await untilInService(manager);
  });
  afterEach(async () => {
    for (const agent of agents) await agent.close();
    await manager.close();
    await bus.close();
  });

  async function agent(): Promise<{ agent: Agent; rpc: RpcClient<AgentRpc> }> {
    const started = await startAgent({ purpose: 'conference', config, bus, logger: silentLogger, launcher: new InProcessLauncher(nodes.factory) });
    agents.push(started);
    return { agent: started, rpc: rpcClient<AgentRpc>(bus, started.id, 1_000) };
  }

  /** The portal's getController (SPEC §4.5): schedule an agent for the room, then ask it for a node. */
  async function controllerOf(room: string): Promise<{ agent: string; node: string }> {
    const scheduled = await managerRpc.call('schedule', ['conference', room, {}, config.cluster.conferenceReserve]);
    const node = await rpcClient<AgentRpc>(bus, scheduled.id, 1_000).call('getNode', [{ room, task: room }]);
    return { agent: scheduled.id, node };
  }

  it('joins the cluster as a conference worker and serves AgentRpc at its worker id', async () => {
    const { agent: a } = await agent();
    assert.match(a.id, /^conference-[0-9a-f]+@/);
    assert.deepEqual(manager.getWorkers('conference').map(({ id }) => id), [a.id]);
    const controller = await controllerOf('room-1');
    assert.equal(controller.agent, a.id);
    assert.deepEqual(await bus.call(controller.node, 'whoami', [], 500), { nodeId: controller.node, agentId: a.id });
    await waitForTasks(manager, a.id, ['room-1']);
  });

  it('answers queryNode and releases the room to the cluster on recycleNode', async () => {
    const { agent: a, rpc } = await agent();
    const { node } = await controllerOf('room-1');
    assert.equal(await rpc.call('queryNode', ['room-1']), node);
    await rpc.call('recycleNode', [node, ROOM]);
    assert.equal(await rpc.call('queryNode', ['room-1']), null);
    await waitFor('the room to be laid down', () => manager.getWorkers()[0]?.reservations.includes('room-1') ?? false);
    await waitForTasks(manager, a.id, []);
    await waitFor('the node to be stopped', () => nodes.closed.includes(node));
  });

  it('a lost node is published and its room gets a new node when it is scheduled again', async () => {
    const { agent: a } = await agent();
    const first = await controllerOf('room-1');
    await nodes.crash(first.node);
    await waitFor('the node-lost event', () => events.some(({ type }) => type === 'node-lost'));
    assert.deepEqual(events, [{ type: 'node-lost', agent: a.id, node: first.node }]);
    await waitForTasks(manager, a.id, []);
    const second = await controllerOf('room-1');
    assert.equal(second.agent, a.id);
    assert.notEqual(second.node, first.node);
    await waitForTasks(manager, a.id, ['room-1']);
  });

  it('refuses malformed requests with an error instead of failing', async () => {
    const { rpc } = await agent();
    await assert.rejects(rpc.call('getNode', [null as never]), /Invalid argument: task.room/);
    await assert.rejects(rpc.call('getNode', [{ room: 'room-1' } as never]), /Invalid argument: task.task/);
    await assert.rejects(rpc.call('queryNode', [42 as never]), /Invalid argument: task/);
    await assert.rejects(rpc.call('recycleNode', ['', ROOM]), /Invalid argument: node/);
  });

  it('after a loss (the manager in service forgot it) it stops the nodes of its rooms, which were given away', async () => {
    const { agent: a } = await agent();
    const { node } = await controllerOf('room-1');
    await managerRpc.call('quit', [a.id]);
    await waitFor('the busy node to be stopped', () => nodes.closed.includes(node));
    assert.deepEqual([...a.worker.tasks], []);
    await waitFor('the agent to be back', () => manager.getWorkers().some(({ id }) => id === a.id));
    const again = await controllerOf('room-1');
    assert.notEqual(again.node, node);
  });

  it('close leaves the cluster, stops its nodes and its RPC, and can be called twice', async () => {
    const { agent: a, rpc } = await agent();
    await controllerOf('room-1');
    await a.close();
    await a.close();
    assert.deepEqual(manager.getWorkers(), []);
    await waitFor('the quit event', () => events.some(({ type }) => type === 'worker-quit'));
    assert.deepEqual([...nodes.closed].sort(), [...nodes.started].sort());
    await assert.rejects(rpc.call('queryNode', ['room-1']), /Address unreachable/);
  });
});

import { serveRpc, type Bus, type Served } from '../bus/index.js';
import { ClusterWorker, type LoadMeter } from '../cluster/index.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import type { AgentRpc } from './api.js';
import { isPlainObject, requireId } from './arguments.js';
import type { NodeLauncher } from './launcher.js';
import { NodeManager, type RoomTask } from './node-manager.js';

export { InProcessLauncher, type LaunchedNode, type NodeFactory, type NodeLauncher, type RunningNode } from './launcher.js';
export { NodeManager, NodeManagerErrors, type NodeSnapshot, type RoomTask, type RoomTasks } from './node-manager.js';

export interface ConferenceAgentDeps {
  config: Config;
  bus: Bus;
  logger: Logger;
  launcher: NodeLauncher;
  loadMeter?: LoadMeter;
}

export interface ConferenceAgent {
  /** The agent's cluster worker id, which is also the bus address serving AgentRpc. */
  readonly id: string;
  readonly worker: ClusterWorker;
  readonly nodes: NodeManager;
  /** Stops serving, quits the cluster and stops every node; safe to call more than once. */
  close(): Promise<void>;
}

/** A cluster worker of purpose `conference` that hands rooms to the nodes it runs (SPEC §9.5). */
export async function startConferenceAgent(deps: ConferenceAgentDeps): Promise<ConferenceAgent> {
  const { config, bus, launcher } = deps;
  const logger = deps.logger.child({ component: 'conference-agent' });
  const worker: ClusterWorker = new ClusterWorker({
    config,
    bus,
    logger,
    purpose: 'conference',
    loadMeter: deps.loadMeter,
    // The manager gave our rooms away and told the portals to drop their participants.
    onLoss: () => nodes.retireBusyNodes(),
  });
  const nodes = new NodeManager({ config, bus, logger, launcher, agentId: worker.id, roomTasks: worker });
  let served: Served | undefined;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await served?.close();
      await worker.quit();
      await nodes.close();
    })());
  try {
    served = await serveRpc<AgentRpc>(bus, worker.id, {
      getNode: (task) => nodes.getNode(requireRoomTask(task)),
      queryNode: (task) => nodes.queryNode(requireId(task, 'task')),
      recycleNode: (node, task) => nodes.recycleNode(requireId(node, 'node'), requireRoomTask(task)),
    });
    nodes.start();
    await worker.start();
  } catch (error) {
    await close();
    throw error;
  }
  logger.info({ agent: worker.id }, 'conference agent started');
  return { id: worker.id, worker, nodes, close };
}

function requireRoomTask(value: unknown): RoomTask {
  const task = isPlainObject(value) ? value : {};
  return { room: requireId(task['room'], 'task.room'), task: requireId(task['task'], 'task.task') };
}

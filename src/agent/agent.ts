import { isPlainObject, requireId } from '../bus/arguments.js';
import { serveRpc, type Bus, type Served } from '../bus/index.js';
import { ClusterWorker, type LoadMeter } from '../cluster/index.js';
import type { Config } from '../config/config.js';
import { type Logger, componentLogger } from '../logger.js';
import type { AgentPurpose, AgentRpc, RoomTask } from './api.js';
import type { NodeLauncher } from './launcher.js';
import { NodeManager } from './node-manager.js';

export interface AgentDeps {
  purpose: AgentPurpose;
  config: Config;
  bus: Bus;
  logger: Logger;
  launcher: NodeLauncher;
  loadMeter?: LoadMeter;
}

export interface Agent {
  readonly purpose: AgentPurpose;
  /** The agent's cluster worker id, which is also the bus address serving AgentRpc. */
  readonly id: string;
  readonly worker: ClusterWorker;
  readonly nodes: NodeManager;
  /** Stops serving, quits the cluster and stops every node; safe to call more than once. */
  close(): Promise<void>;
}

/**
 * A cluster worker that hands rooms to the nodes it runs (SPEC §9.5): conference nodes for a
 * `conference` agent, webrtc nodes holding a room's transports for a `webrtc` agent (SPEC-MEDIA M2).
 */
export async function startAgent(deps: AgentDeps): Promise<Agent> {
  const { purpose, config, bus, launcher } = deps;
  const logger = componentLogger(deps.logger, `${purpose}-agent`);
  const worker: ClusterWorker = new ClusterWorker({
    config,
    bus,
    logger,
    purpose,
    loadMeter: deps.loadMeter,
    ...(purpose === 'webrtc' && { info: { capacity: { isps: [...config.webrtc.isps], regions: [...config.webrtc.regions] } } }),
    // The manager gave our rooms away (and told the portals to drop a conference's participants).
    onLoss: () => nodes.retireBusyNodes(),
  });
  const nodes = new NodeManager({ purpose, config, bus, logger, launcher, agentId: worker.id, roomTasks: worker });
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
      listNodes: () => nodes.snapshot().map(({ id }) => id),
    });
    nodes.start();
    await worker.start();
  } catch (error) {
    await close();
    throw error;
  }
  logger.info({ agent: worker.id }, `${purpose} agent started`);
  return { purpose, id: worker.id, worker, nodes, close };
}

function requireRoomTask(value: unknown): RoomTask {
  const task = isPlainObject(value) ? value : {};
  return { room: requireId(task['room'], 'task.room'), task: requireId(task['task'], 'task.task') };
}

import { messageOf, rpcClient, type Bus, type RpcClient } from '../bus/index.js';
import {
  MANAGER_ADDRESS,
  type ManagerRpc,
  type Preference,
  type Purpose,
  type ScheduledWorker,
  type WorkerSnapshot,
} from '../cluster/api.js';
import type { AgentRpc, NodeRpc } from '../conference/api.js';
import { ApiErrors } from './errors.js';

/** What the management API asks of the cluster; a failed call becomes 1201 with the cluster's message. */
export interface ClusterGateway {
  /** Reserves a portal for a token's code for `reserveMs` (SPEC §3 token issuance). */
  schedulePortal(code: string, preference: Preference, reserveMs: number): Promise<ScheduledWorker>;
  /** The conference node hosting the room now, or null when no node holds it live. */
  nodeOfRoom(room: string): Promise<RpcClient<NodeRpc> | null>;
  /** The cluster's workers as the manager sees them now, of one purpose or all. */
  workers(purpose?: Purpose): Promise<WorkerSnapshot[]>;
}

async function clusterCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw ApiErrors.clusterFailed(messageOf(error));
  }
}

export function createClusterGateway(bus: Bus, timeoutMs: number): ClusterGateway {
  const manager = rpcClient<ManagerRpc>(bus, MANAGER_ADDRESS, timeoutMs);
  return {
    schedulePortal: (code, preference, reserveMs) =>
      clusterCall(() => manager.call('schedule', ['portal', code, preference, reserveMs])),

    nodeOfRoom: (room) =>
      clusterCall(async () => {
        const agent = await manager.call('getScheduled', ['conference', room]);
        if (!agent) return null;
        const node = await rpcClient<AgentRpc>(bus, agent, timeoutMs).call('queryNode', [room]);
        return node ? rpcClient<NodeRpc>(bus, node, timeoutMs) : null;
      }),

    workers: (purpose) => clusterCall(() => manager.call('getWorkers', purpose === undefined ? [] : [purpose])),
  };
}

import { rpcClient, type Bus, type RpcClient } from '../bus/index.js';
import { scheduleBy } from '../cluster/settle.js';
import {
  MANAGER_ADDRESS,
  type ManagerRpc,
  type Preference,
  type Purpose,
  type ScheduledWorker,
  type WorkerSnapshot,
} from '../cluster/api.js';
import type { AgentRpc } from '../agent/index.js';
import type { NodeRpc } from '../conference/api.js';
import type { WebrtcNodeRpc, WebrtcNodeStats } from '../webrtc/api.js';
import type { PortalPresenceRpc } from '../protocol/rest.js';
import { ApiError } from './errors.js';

/** What the management API asks of the cluster; a failed call is answered as the error catalogue's table says (1201 with the cluster's message unless listed). */
export interface ClusterGateway {
  /** Reserves a portal for a token's code for `reserveMs` (SPEC §3 token issuance). */
  schedulePortal(code: string, preference: Preference, reserveMs: number): Promise<ScheduledWorker>;
  /** The conference node hosting the room now, or null when no node holds it live. */
  nodeOfRoom(room: string): Promise<RpcClient<NodeRpc> | null>;
  /** Ends the room live: everyone in it is dropped. Nothing to do when no node holds it. */
  endRoom(room: string): Promise<void>;
  /** The cluster's workers as the manager sees them now, of one purpose or all. */
  workers(purpose?: Purpose): Promise<WorkerSnapshot[]>;
  /** Of `participantIds`, those `portal` waits for to reconnect. */
  awayOf(portal: string, participantIds: string[]): Promise<string[]>;
  /** What each webrtc node that answers in time holds and has counted. */
  mediaStats(): Promise<MediaNodeStats[]>;
}

export interface MediaNodeStats {
  agent: string;
  node: string;
  stats: WebrtcNodeStats;
}

async function clusterCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw ApiError.fromCluster(error);
  }
}

export interface GatewayTimers {
  /** Each call to the cluster. */
  timeoutMs: number;
  /** A token issued during a manager fail-over or a portal's death waits this long at most (the cluster's settle time). */
  settleMs: number;
  retryMs: number;
}

export function createClusterGateway(bus: Bus, { timeoutMs, settleMs, retryMs }: GatewayTimers): ClusterGateway {
  const manager = rpcClient<ManagerRpc>(bus, MANAGER_ADDRESS, timeoutMs);
  const nodeOfRoom = (room: string) =>
    clusterCall(async () => {
      const agent = await manager.call('getScheduled', ['conference', room]);
      if (!agent) return null;
      const node = await rpcClient<AgentRpc>(bus, agent, timeoutMs).call('queryNode', [room]);
      return node ? rpcClient<NodeRpc>(bus, node, timeoutMs) : null;
    });
  return {
    schedulePortal: (code, preference, reserveMs) =>
      clusterCall(() => scheduleBy(manager, ['portal', code, preference, reserveMs], Date.now() + settleMs, retryMs)),

    nodeOfRoom,

    endRoom: async (room) => {
      const node = await nodeOfRoom(room);
      if (node) await clusterCall(() => node.call('destroyRoom', [room]));
    },

    workers: (purpose) => clusterCall(() => manager.call('getWorkers', purpose === undefined ? [] : [purpose])),

    mediaStats: async () => {
      // A metrics scrape must not fail for one node that is slow or gone: it is left out.
      const agents = await manager.call('getWorkers', ['webrtc']).catch((): WorkerSnapshot[] => []);
      const perAgent = await Promise.all(
        agents.map(async ({ id: agent }) => {
          const nodes = await rpcClient<AgentRpc>(bus, agent, timeoutMs).call('listNodes', []).catch((): string[] => []);
          const answers = await Promise.all(
            nodes.map((node) => rpcClient<WebrtcNodeRpc>(bus, node, timeoutMs).call('stats', []).then((stats) => ({ agent, node, stats }), () => undefined)),
          );
          return answers.filter((answer) => answer !== undefined);
        }),
      );
      return perAgent.flat();
    },
    awayOf: (portal, participantIds) => clusterCall(() => rpcClient<PortalPresenceRpc>(bus, portal, timeoutMs).call('awayOf', [participantIds])),
  };
}

/** An agent's bus surface (SPEC §9.5), the same whatever its nodes run: conference rooms or a room's media. */
import type { Config } from '../config/config.js';

/** The purposes whose workers are agents running nodes. */
export type AgentPurpose = 'conference' | 'webrtc';

export interface RoomTask {
  room: string;
  task: string;
}

export type AgentRpc = {
  /** Returns the bus address of the node that hosts (or will host) the room. */
  getNode(task: RoomTask): string;
  /** The node that hosts the task now, or null. */
  queryNode(task: string): string | null;
  recycleNode(node: string, task: RoomTask): void;
  /** The bus addresses of the nodes it runs now. */
  listNodes(): string[];
};

/** getNode may wait for a node process to start: that wait comes on top of an ordinary call. */
export function getNodeTimeout({ agent, cluster }: Pick<Config, 'agent' | 'cluster'>): number {
  return agent.nodeReadyTimeout + cluster.rpcTimeout;
}

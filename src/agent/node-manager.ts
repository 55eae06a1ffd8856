import type { Bus } from '../bus/index.js';
import { CLUSTER_EVENTS, type ClusterEvent } from '../cluster/api.js';
import type { Config } from '../config/config.js';
import { type Logger, componentLogger } from '../logger.js';
import { messageOf } from '../protocol/errors.js';
import type { AgentPurpose, RoomTask } from './api.js';
import { nodeManagerError } from './errors.js';
import type { LaunchedNode, NodeLauncher } from './launcher.js';

/** What the node manager tells the cluster about rooms: the agent's cluster worker. */
export interface RoomTasks {
  addTask(task: string): void;
  removeTask(task: string): void;
}

export interface NodeManagerDeps {
  purpose: AgentPurpose;
  config: Config;
  bus: Bus;
  logger: Logger;
  launcher: NodeLauncher;
  agentId: string;
  roomTasks: RoomTasks;
}

/** A node hosts at most one room (a conference node by SPEC §4.6, a webrtc node that room's media); a node without a room is idle. */
interface ManagedNode {
  id: string;
  launched: LaunchedNode;
  ready: boolean;
  room: string | undefined;
  tasks: Set<string>;
  /** Retired or lost: it no longer counts and its end needs no report. */
  gone: boolean;
}

export interface NodeSnapshot {
  id: string;
  ready: boolean;
  room: string | null;
  tasks: string[];
}

/** SPEC §9.5: keeps idle nodes ready, hands rooms to nodes and retires nodes whose room is gone. */
export class NodeManager {
  private readonly nodes = new Map<string, ManagedNode>();
  private readonly kills = new Set<Promise<void>>();
  private readonly logger: Logger;
  private launched = 0;
  private closed = false;

  constructor(private readonly deps: NodeManagerDeps) {
    this.logger = componentLogger(deps.logger, 'node-manager', { purpose: deps.purpose, agent: deps.agentId });
  }

  /** Launches the idle nodes kept ready in advance. */
  start(): void {
    this.refill();
  }

  /** Same room → same node; otherwise an idle node, once it is ready. Resolves to the node's bus address. */
  async getNode({ room, task }: RoomTask): Promise<string> {
    if (this.closed) throw nodeManagerError('closed');
    let node = this.hosting(room);
    if (!node) {
      node = this.idle() ?? this.launchWithinLimit();
      if (!node) throw nodeManagerError('noNodeAvailable', this.deps.purpose);
      node.room = room;
      this.deps.roomTasks.addTask(room);
      this.refill();
    }
    node.tasks.add(task);
    try {
      await this.untilReady(node);
    } catch (error) {
      this.removeTask(node, task);
      throw error;
    }
    // Another request for the room may have given up on this node meanwhile, or it may have died.
    if (node.gone) throw nodeManagerError('nodeNotReady');
    return node.id;
  }

  queryNode(task: string): string | null {
    for (const node of this.nodes.values()) {
      if (node.tasks.has(task)) return node.id;
    }
    return null;
  }

  /** The task is over; a node left without tasks gives its room up and is retired. */
  recycleNode(nodeId: string, { room, task }: RoomTask): void {
    const node = this.nodes.get(nodeId);
    if (node && node.room === room) this.removeTask(node, task);
  }

  /** Retires every node hosting a room, e.g. after the cluster gave those rooms away. */
  retireBusyNodes(): void {
    for (const node of [...this.nodes.values()]) {
      if (node.room !== undefined) this.retire(node);
    }
    this.refill();
  }

  snapshot(): NodeSnapshot[] {
    return [...this.nodes.values()].map((node) => ({
      id: node.id,
      ready: node.ready,
      room: node.room ?? null,
      tasks: [...node.tasks],
    }));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const node of [...this.nodes.values()]) this.retire(node);
    await Promise.all(this.kills);
  }

  private hosting(room: string): ManagedNode | undefined {
    return [...this.nodes.values()].find((node) => node.room === room);
  }

  private idle(): ManagedNode | undefined {
    const idle = [...this.nodes.values()].filter((node) => node.room === undefined);
    return idle.find((node) => node.ready) ?? idle[0];
  }

  private refill(): void {
    const { prerunProcesses } = this.deps.config.agent;
    let idle = [...this.nodes.values()].filter((node) => node.room === undefined).length;
    while (idle < prerunProcesses && this.launchWithinLimit()) idle++;
  }

  private launchWithinLimit(): ManagedNode | undefined {
    const { maxProcesses } = this.deps.config.agent;
    if (this.closed || (maxProcesses !== -1 && this.nodes.size >= maxProcesses)) return undefined;
    const id = `${this.deps.agentId}.node-${++this.launched}`;
    const node: ManagedNode = {
      id,
      launched: this.deps.launcher.launch(id, this.deps.agentId),
      ready: false,
      room: undefined,
      tasks: new Set(),
      gone: false,
    };
    this.nodes.set(id, node);
    node.launched.ready.then(() => void (node.ready = true), () => undefined);
    node.launched.onExit(() => this.lost(node));
    return node;
  }

  private async untilReady(node: ManagedNode): Promise<void> {
    if (node.ready) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(nodeManagerError('nodeNotReady')), this.deps.config.agent.nodeReadyTimeout);
    });
    try {
      await Promise.race([node.launched.ready, timeout]);
    } catch {
      throw nodeManagerError('nodeNotReady');
    } finally {
      clearTimeout(timer);
    }
  }

  private removeTask(node: ManagedNode, task: string): void {
    node.tasks.delete(task);
    if (node.tasks.size > 0 || node.room === undefined || node.gone) return;
    this.retire(node);
    this.refill();
  }

  private retire(node: ManagedNode): void {
    node.gone = true;
    this.nodes.delete(node.id);
    if (node.room !== undefined) this.deps.roomTasks.removeTask(node.room);
    const kill = node.launched.kill().catch((error: unknown) => {
      this.logger.warn({ node: node.id, error: messageOf(error) }, 'could not stop a node');
    });
    this.kills.add(kill);
    void kill.finally(() => this.kills.delete(kill));
  }

  /** A node ended without being retired: its room must be scheduled afresh. */
  private lost(node: ManagedNode): void {
    if (node.gone) return;
    node.gone = true;
    this.nodes.delete(node.id);
    this.logger.warn({ node: node.id, room: node.room }, 'node lost');
    if (node.room !== undefined) this.deps.roomTasks.removeTask(node.room);
    const event: ClusterEvent = { type: 'node-lost', agent: this.deps.agentId, node: node.id };
    this.deps.bus.publish(CLUSTER_EVENTS, event);
    // A node that never became ready is not replaced at once, so a failing start cannot spin.
    if (node.ready) this.refill();
  }
}

/**
 * The webrtc node a room's transports live on (SPEC-MEDIA M2): scheduled through the cluster
 * manager (purpose `webrtc`) when the room's first transport opens, handed back to its agent when
 * the last one closes.
 */
import { getNodeTimeout, type AgentRpc } from '../agent/index.js';
import { rpcClient, type Bus, type RpcClient } from '../bus/index.js';
import { MANAGER_ADDRESS, type ClusterEvent, type ManagerRpc, type Preference } from '../cluster/api.js';
import type { Config } from '../config/config.js';
import type { WebrtcNodeRpc } from '../webrtc/api.js';

export interface MediaNodeAddress {
  agent: string;
  node: string;
}

export class MediaNodeLink {
  private scheduled: Promise<MediaNodeAddress> | undefined;
  private current: MediaNodeAddress | undefined;

  constructor(
    private readonly bus: Bus,
    private readonly config: Config,
    private readonly room: string,
  ) {}

  /**
   * The room's webrtc node, scheduled at the first need on an agent fit for `preference` (the
   * origin of whoever needs it first); a failure is retried at the next.
   */
  address(preference: Preference = {}): Promise<MediaNodeAddress> {
    if (!this.scheduled) {
      const scheduled = this.schedule(preference);
      this.scheduled = scheduled;
      scheduled.then(
        (address) => {
          if (this.scheduled === scheduled) this.current = address;
          // Released while it was being scheduled: nobody holds it.
          else this.recycle(address);
        },
        () => {
          if (this.scheduled === scheduled) this.scheduled = undefined;
        },
      );
    }
    return this.scheduled;
  }

  async rpc(): Promise<RpcClient<WebrtcNodeRpc>> {
    const { node } = await this.address();
    return rpcClient<WebrtcNodeRpc>(this.bus, node, this.config.cluster.rpcTimeout);
  }

  /** The node if it is known now, for calls that need no answer. */
  get known(): RpcClient<WebrtcNodeRpc> | undefined {
    return this.current && rpcClient<WebrtcNodeRpc>(this.bus, this.current.node, this.config.cluster.rpcTimeout);
  }

  /** Whether a cluster event says the room's node, or its agent, is gone. */
  isLost(event: ClusterEvent): boolean {
    const current = this.current;
    if (!current) return false;
    return (event.type === 'node-lost' && event.node === current.node) || (event.type === 'worker-quit' && event.purpose === 'webrtc' && event.id === current.agent);
  }

  /** The room has no transport left: its node goes back to the agent. */
  release(): void {
    const current = this.current;
    this.forget();
    if (current) this.recycle(current);
  }

  /** The node is gone; the next transport schedules another. */
  forget(): void {
    this.scheduled = undefined;
    this.current = undefined;
  }

  private recycle({ agent, node }: MediaNodeAddress): void {
    rpcClient<AgentRpc>(this.bus, agent, this.config.cluster.rpcTimeout).cast('recycleNode', [node, { room: this.room, task: this.room }]);
  }

  private async schedule(preference: Preference): Promise<MediaNodeAddress> {
    const { cluster } = this.config;
    const manager = rpcClient<ManagerRpc>(this.bus, MANAGER_ADDRESS, cluster.rpcTimeout);
    const agent = await manager.call('schedule', ['webrtc', this.room, preference, cluster.conferenceReserve]);
    const node = await rpcClient<AgentRpc>(this.bus, agent.id, cluster.rpcTimeout).call('getNode', [{ room: this.room, task: this.room }], getNodeTimeout(this.config));
    return { agent: agent.id, node };
  }
}

import { rpcClient, type Bus, type RpcClient } from '../bus/index.js';
import { MANAGER_ADDRESS, type ManagerRpc, type Preference } from '../cluster/api.js';
import { scheduleBy, settleTime } from '../cluster/settle.js';
import { getNodeTimeout, type AgentRpc } from '../agent/index.js';
import type { HandedOver, JoinResult, NodeRpc, ParticipantInfo } from '../conference/api.js';
import type { Config } from '../config/config.js';
import { codeOf } from '../protocol/errors.js';
import type { Controller } from './session.js';

/** The rooms' controllers (conference nodes) as a portal reaches them over the bus (SPEC §4.5–§4.6). */
export interface ControllerGateway {
  /** Schedules the room on a conference agent and gets the node that hosts it. */
  locate(room: string, origin: Preference): Promise<Controller>;
  join(controller: Controller, room: string, participant: ParticipantInfo): Promise<JoinResult>;
  text(controller: Controller, from: string, to: string, message: string): Promise<void>;
  leave(controller: Controller, participantId: string): Promise<void>;
  /** The participant now lives on this portal; answers what its previous portal may not have delivered. */
  resume(controller: Controller, participantId: string): Promise<HandedOver[]>;
  /** A media request for the participant's room controller (SPEC-MEDIA M4). */
  media<K extends MediaMethod>(controller: Controller, method: K, args: Parameters<NodeRpc[K]>): Promise<Awaited<ReturnType<NodeRpc[K]>>>;
}

export type MediaMethod = 'publish' | 'unpublish' | 'subscribe' | 'unsubscribe' | 'soac' | 'streamControl' | 'subscriptionControl';

export function controllersOnBus(bus: Bus, config: Config, portalId: string): ControllerGateway {
  const { cluster, portal, webrtc } = config;
  const manager = rpcClient<ManagerRpc>(bus, MANAGER_ADDRESS, cluster.rpcTimeout);
  const node = (controller: Controller): RpcClient<NodeRpc> => rpcClient<NodeRpc>(bus, controller.node, portal.rpcTimeout);
  return {
    // Rides out a manager fail-over and an agent's death: the login waits (at most the cluster's
    // settle time) rather than fails, and an agent found gone is reported by asking the manager again.
    async locate(room, origin) {
      const deadline = Date.now() + settleTime(config);
      for (;;) {
        const agent = await scheduleBy(manager, ['conference', room, origin, cluster.conferenceReserve], deadline, cluster.joinRetryInterval);
        try {
          const nodeId = await rpcClient<AgentRpc>(bus, agent.id, cluster.rpcTimeout).call('getNode', [{ room, task: room }], getNodeTimeout(config));
          return { agent: agent.id, node: nodeId };
        } catch (error) {
          if (codeOf(error) !== 'bus.unreachable' || Date.now() > deadline) throw error;
        }
      }
    },
    join: (controller, room, participant) => node(controller).call('join', [room, participant], portal.joinTimeout),
    async text(controller, from, to, message) {
      await node(controller).call('text', [from, to, message], portal.textTimeout);
    },
    async leave(controller, participantId) {
      await node(controller).call('leave', [participantId, portalId]);
    },
    resume: (controller, participantId) => node(controller).call('resume', [participantId, portalId]),
    // An offer waits for the webrtc node's answer.
    media: (controller, method, args) =>
      node(controller).call(method, args, method === 'soac' ? webrtc.negotiationTimeout + portal.rpcTimeout : portal.rpcTimeout),
  };
}

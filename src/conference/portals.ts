import { rpcClient, type Bus } from '../bus/index.js';
import { codeOf } from '../protocol/errors.js';
import type { PortalRpc } from '../portal/api.js';

/**
 * How a room reaches the portals its participants are connected to. Deliveries are calls, so a
 * portal that is gone shows up at once as `onUnreachable(portal)`.
 */
export interface Portals {
  notify(portal: string, participantId: string, event: string, data: unknown, seq: number): void;
  broadcast(portal: string, room: string, excludeList: string[], event: string, data: unknown, seq: number): void;
  drop(portal: string, participantId: string): void;
  release(portal: string, participantId: string): void;
}

/**
 * A delivery waits in a live portal's queue for as long as `deliveryTimeoutMs` (a busy portal still
 * gets it, in order); one that went down with a dead portal's queue is what that portal never confirmed.
 */
export function portalsOnBus(bus: Bus, deliveryTimeoutMs: number, onUnreachable: (portal: string) => void): Portals {
  const deliver = (address: string, call: Promise<unknown>) => {
    call.catch((error: unknown) => {
      if (codeOf(error) === 'bus.unreachable') onUnreachable(address);
    });
  };
  const portal = (address: string) => rpcClient<PortalRpc>(bus, address, deliveryTimeoutMs);
  return {
    notify: (address, participantId, event, data, seq) =>
      deliver(address, portal(address).call('notify', [participantId, event, data, seq])),
    broadcast: (address, room, excludeList, event, data, seq) =>
      deliver(address, portal(address).call('broadcast', [room, excludeList, event, data, seq])),
    drop: (address, participantId) => deliver(address, portal(address).call('drop', [participantId])),
    release: (address, participantId) => portal(address).cast('release', [participantId]),
  };
}

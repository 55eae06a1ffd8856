import { BusErrors, rpcClient, type Bus } from '../bus/index.js';
import type { PortalRpc } from '../portal/api.js';

/**
 * How a room reaches the portals its participants are connected to. Deliveries are calls, so a
 * portal that is gone shows up at once as `onUnreachable(portal)` with what could not be delivered.
 */
export interface Portals {
  notify(portal: string, participantId: string, event: string, data: unknown): void;
  broadcast(portal: string, room: string, excludeList: string[], event: string, data: unknown): void;
  drop(portal: string, participantId: string): void;
  release(portal: string, participantId: string): void;
}

export type Undelivered = { event: string; data: unknown } & (
  | { participantId: string }
  | { excludeList: string[] }
);

export function portalsOnBus(
  bus: Bus,
  rpcTimeoutMs: number,
  onUnreachable: (portal: string, undelivered?: Undelivered) => void,
): Portals {
  const unreachable = BusErrors.unreachable('');
  const deliver = (address: string, call: Promise<unknown>, undelivered?: Undelivered) => {
    call.catch((error: unknown) => {
      if (error instanceof Error && error.message.startsWith(unreachable)) onUnreachable(address, undelivered);
    });
  };
  const portal = (address: string) => rpcClient<PortalRpc>(bus, address, rpcTimeoutMs);
  return {
    notify: (address, participantId, event, data) =>
      deliver(address, portal(address).call('notify', [participantId, event, data]), { participantId, event, data }),
    broadcast: (address, room, excludeList, event, data) =>
      deliver(address, portal(address).call('broadcast', [room, excludeList, event, data]), { excludeList, event, data }),
    drop: (address, participantId) => deliver(address, portal(address).call('drop', [participantId])),
    release: (address, participantId) => portal(address).cast('release', [participantId]),
  };
}

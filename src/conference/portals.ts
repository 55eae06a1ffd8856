import { rpcClient, type Bus } from '../bus/index.js';
import type { PortalRpc } from '../portal/api.js';

/** How a room reaches the portals its participants are connected to; every message is one-way. */
export interface Portals {
  notify(portal: string, participantId: string, event: string, data: unknown): void;
  broadcast(portal: string, room: string, excludeList: string[], event: string, data: unknown): void;
  drop(portal: string, participantId: string): void;
}

export function portalsOnBus(bus: Bus, rpcTimeoutMs: number): Portals {
  const portal = (address: string) => rpcClient<PortalRpc>(bus, address, rpcTimeoutMs);
  return {
    notify: (address, participantId, event, data) => portal(address).cast('notify', [participantId, event, data]),
    broadcast: (address, room, excludeList, event, data) =>
      portal(address).cast('broadcast', [room, excludeList, event, data]),
    drop: (address, participantId) => portal(address).cast('drop', [participantId]),
  };
}

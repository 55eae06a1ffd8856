import { rpcClient, type Bus } from '../bus/index.js';
import { codeOf, type ErrorCode } from '../protocol/errors.js';
import type { PortalRpc } from '../portal/api.js';

export interface PortalWatch {
  cancel(): void;
}

/** How a room reaches the portals its participants are connected to. */
export interface Portals {
  /** Resolves false when the portal did not take it: gone, reconnecting to the broker, or too slow to take it in time. */
  notify(portal: string, participantId: string, event: string, data: unknown, seq: number): Promise<boolean>;
  broadcast(portal: string, room: string, excludeList: string[], event: string, data: unknown, seq: number): Promise<boolean>;
  drop(portal: string, participantId: string): void;
  release(portal: string, participantId: string): void;
  /** Calls `onBack` once the portal serves its address again, unless cancelled first. */
  whenBack(portal: string, onBack: () => void): PortalWatch;
}

/** Failures after which the portal may not have the notification; any other came from the portal itself. */
const notTaken: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['bus.unreachable', 'bus.disconnected', 'bus.timeout']);

/**
 * A delivery waits in a live portal's queue for as long as `deliveryTimeoutMs` (a busy portal still
 * gets it, in order). A portal whose queue is missing may be dead or only reconnecting after a broker
 * outage: whether it is gone is the cluster manager's to say; meanwhile it is asked every
 * `probePeriodMs` whether it serves again.
 */
export function portalsOnBus(bus: Bus, deliveryTimeoutMs: number, probePeriodMs: number): Portals {
  const deliver = (call: Promise<unknown>): Promise<boolean> =>
    call.then(
      () => true,
      (error: unknown) => !notTaken.has(codeOf(error)),
    );
  const portal = (address: string) => rpcClient<PortalRpc>(bus, address, deliveryTimeoutMs);
  return {
    notify: (address, participantId, event, data, seq) => deliver(portal(address).call('notify', [participantId, event, data, seq])),
    broadcast: (address, room, excludeList, event, data, seq) =>
      deliver(portal(address).call('broadcast', [room, excludeList, event, data, seq])),
    drop: (address, participantId) => void deliver(portal(address).call('drop', [participantId])),
    release: (address, participantId) => portal(address).cast('release', [participantId]),
    whenBack(address, onBack) {
      let timer: NodeJS.Timeout | undefined;
      let cancelled = false;
      const probe = () => {
        timer = setTimeout(() => {
          bus.isServed(address).then(
            (served) => {
              if (cancelled) return;
              if (served) onBack();
              else probe();
            },
            () => {
              if (!cancelled) probe();
            },
          );
        }, probePeriodMs);
      };
      probe();
      return {
        cancel() {
          cancelled = true;
          clearTimeout(timer);
        },
      };
    },
  };
}

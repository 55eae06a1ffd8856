import type { PortalPresenceRpc } from '../protocol/rest.js';

/** The portal's bus surface: what conference nodes call to reach clients (SPEC §8), and the management API's question about presence. */
export type PortalRpc = PortalPresenceRpc & {
  /** `seq` numbers the room's notifications in the order the node sent them. */
  notify(participantId: string, event: string, data: unknown, seq: number): void;
  /** Sends to every participant of `room` on this portal except those in `excludeList`. */
  broadcast(room: string, excludeList: string[], event: string, data: unknown, seq: number): void;
  drop(participantId: string): void;
  /** The participant resumed on another portal: forget it here without leaving its room. */
  release(participantId: string): void;
};

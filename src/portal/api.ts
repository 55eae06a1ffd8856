/** The portal's bus surface: what conference nodes call to reach clients (SPEC §8). */
export type PortalRpc = {
  notify(participantId: string, event: string, data: unknown): void;
  /** Sends to every participant of `room` on this portal except those in `excludeList`. */
  broadcast(room: string, excludeList: string[], event: string, data: unknown): void;
  drop(participantId: string): void;
  /** The participant resumed on another portal: forget it here without leaving its room. */
  release(participantId: string): void;
};

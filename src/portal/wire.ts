import type { ServerEventName } from '../protocol/socket.js';
import type { Flavour } from './flavours.js';

/** A notification as one flavour sends it, encoded at most once for every member of that flavour. */
export interface Prepared {
  event: ServerEventName;
  data: unknown;
  /** The Socket.IO packet, made when the first connected member needs it. */
  packet: string | undefined;
}

/**
 * The arguments of a notification's Socket.IO event: the 1.2 buffer flavour appends its number
 * (SPEC §6); the others send the data alone, or nothing when there is none.
 */
export function eventArguments(flavour: Flavour, event: ServerEventName, data: unknown, seq: number): unknown[] {
  if (flavour.reloginWithBuffer) return [event, data ?? null, seq];
  return data === undefined ? [event] : [event, data];
}

/**
 * What Socket.IO writes to Engine.IO for an event of the main namespace without an ack: packet type
 * 2 and the JSON array of its arguments (no binary data ever crosses the portal).
 */
export function eventPacket(args: readonly unknown[]): string {
  return `2${JSON.stringify(args)}`;
}

/**
 * One notification of a room, on its way to every member this portal holds: translated and
 * serialized once per flavour rather than once per member.
 */
export class RoomNotification {
  private readonly byFlavour = new Map<Flavour, Prepared | null>();

  constructor(
    readonly event: string,
    readonly data: unknown,
    readonly seq: number,
  ) {}

  /** What `flavour` sends, or undefined when its protocol lacks the event. */
  for(flavour: Flavour): Prepared | undefined {
    let prepared = this.byFlavour.get(flavour);
    if (prepared === undefined) {
      const outgoing = flavour.outgoing(this.event, this.data);
      prepared = outgoing ? { ...outgoing, packet: undefined } : null;
      this.byFlavour.set(flavour, prepared);
    }
    return prepared ?? undefined;
  }

  packetFor(flavour: Flavour, prepared: Prepared): string {
    return (prepared.packet ??= eventPacket(eventArguments(flavour, prepared.event, prepared.data, this.seq)));
  }
}

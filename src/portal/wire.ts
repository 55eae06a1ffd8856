import type { Socket } from 'socket.io';
import * as ws from 'ws';
import type { ServerEventName } from '../protocol/socket.js';
import type { Flavour } from './flavours.js';

/**
 * ws frames data as its own sender would. Its ES module exports the sender by name (its default
 * export has it only once something required ws), and its type declarations leave the sender out.
 */
const { Sender } = ws as unknown as {
  Sender: { frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[] };
};
const TEXT_OPCODE = 1;
/** Engine.IO's packet type of a message. */
const ENGINE_MESSAGE = '4';

/**
 * What Engine.IO takes with a packet: over WebSocket (without per-message compression) it sends
 * `wsPreEncodedFrame` as it is, the way Socket.IO sends a broadcast; long-polling sends the packet.
 * The frame is one buffer, header and payload joined once per notification: ws writes a frame of
 * two buffers with a cork, two writes and an uncork for every member.
 */
interface PacketOptions {
  compress: boolean;
  wsPreEncodedFrame: Buffer[];
}

/** A notification as one flavour sends it, encoded at most once for every member of that flavour. */
export interface Prepared {
  event: ServerEventName;
  data: unknown;
  /** The Socket.IO packet, made when the first connected member needs it. */
  packet: string | undefined;
  /** The packet framed for WebSocket, made with the packet. */
  options: PacketOptions | undefined;
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
 * One notification of a room, on its way to every member this portal holds: translated, serialized
 * and framed once per flavour rather than once per member.
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
      prepared = outgoing ? { ...outgoing, packet: undefined, options: undefined } : null;
      this.byFlavour.set(flavour, prepared);
    }
    return prepared ?? undefined;
  }

  packetFor(flavour: Flavour, prepared: Prepared): string {
    return (prepared.packet ??= eventPacket(eventArguments(flavour, prepared.event, prepared.data, this.seq)));
  }

  /** Writes what `flavour` sends to a member's Engine.IO connection. */
  writeTo(connection: Socket['conn'], flavour: Flavour, prepared: Prepared): void {
    const packet = this.packetFor(flavour, prepared);
    prepared.options ??= {
      compress: true,
      wsPreEncodedFrame: [Buffer.concat(Sender.frame(Buffer.from(ENGINE_MESSAGE + packet), { fin: true, opcode: TEXT_OPCODE, mask: false, readOnly: false, rsv1: false }))],
    };
    connection.write(packet, prepared.options);
  }
}

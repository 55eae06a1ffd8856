import type { Socket } from 'socket.io';
import type { Preference } from '../cluster/api.js';
import type { Flavour } from './flavours.js';
import { Outbox } from './outbox.js';

export interface Controller {
  agent: string;
  node: string;
}

/** What a session needs from the socket it currently rides on. */
export interface Carrier {
  readonly socket: Socket;
  readonly isConnected: boolean;
}

/**
 * One logged-in participant on this portal. It outlives sockets: a relogin moves it to the new
 * connection with its outbox, so notifications keep their order across reconnections.
 */
export class Session {
  readonly outbox: Outbox;
  /** Ticket ids that may still be used to resume; a successful relogin clears them (single use). */
  readonly validTickets = new Set<string>();
  reconnection: boolean;

  constructor(
    readonly participantId: string,
    readonly user: string,
    readonly role: string,
    readonly roomId: string,
    readonly tokenCode: string,
    readonly origin: Preference,
    readonly controller: Controller,
    readonly flavour: Flavour,
    readonly sdkType: string,
    reconnection: boolean,
    public carrier: Carrier,
    outbox: { windowMs: number; capacity: number },
  ) {
    this.reconnection = reconnection;
    // Only the 1.2 buffer flavour replays delivered notifications (SPEC §6); the others need just the pending ones.
    this.outbox = new Outbox(flavour.reloginWithBuffer ? outbox.windowMs : 0, outbox.capacity);
  }

  /** Sends now when the carrier is connected, else keeps it pending for the next relogin. */
  notify(event: string, data: unknown): void {
    const outgoing = this.flavour.outgoing(event, data);
    const live = this.carrier.isConnected;
    const message = this.outbox.append(outgoing.event, outgoing.data, live);
    if (live) this.emit(message.event, message.data, message.seq);
  }

  emit(event: string, data: unknown, seq: number): void {
    const { socket } = this.carrier;
    if (this.flavour.reloginWithBuffer) socket.emit(event, data ?? null, seq);
    else if (data === undefined) socket.emit(event);
    else socket.emit(event, data);
  }
}

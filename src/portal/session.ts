import type { Socket } from 'socket.io';
import type { Preference } from '../cluster/api.js';
import type { HandedOver } from '../conference/api.js';
import type { ClientToServerEvents, ServerEventName, ServerToClientEvents, Unchecked } from '../protocol/socket.js';
import type { Flavour } from './flavours.js';
import { metrics } from '../metrics.js';
import { Outbox } from './outbox.js';
import { eventArguments, eventPacket, RoomNotification } from './wire.js';

const SENT = { component: 'portal', outcome: 'sent' } as const;
const HELD = { component: 'portal', outcome: 'held' } as const;

/** A client's socket as the portal sees it: requests arrive unchecked, notifications leave typed. */
export type PortalSocket = Socket<Unchecked<ClientToServerEvents>, ServerToClientEvents>;

export interface Controller {
  agent: string;
  node: string;
}

/** What a session needs from the socket it currently rides on. */
export interface Carrier {
  readonly socket: PortalSocket;
  readonly isConnected: boolean;
}

interface Notification {
  event: string;
  data: unknown;
  seq: number;
}

export interface SessionInit {
  participantId: string;
  user: string;
  role: string;
  roomId: string;
  tokenCode: string;
  origin: Preference;
  controller: Controller;
  flavour: Flavour;
  sdkType: string;
  reconnection: boolean;
  carrier: Carrier;
  outbox: { windowMs: number; capacity: number };
}

/**
 * One logged-in participant on this portal. It outlives sockets: a relogin moves it to the new
 * connection with its outbox, so notifications keep their order across reconnections.
 */
export class Session {
  readonly participantId: string;
  readonly user: string;
  readonly role: string;
  readonly roomId: string;
  readonly tokenCode: string;
  readonly origin: Preference;
  readonly controller: Controller;
  readonly flavour: Flavour;
  readonly sdkType: string;
  readonly outbox: Outbox<ServerEventName>;
  /** Ticket ids that may still be used to resume; a successful relogin clears them (single use). */
  readonly validTickets = new Set<string>();
  reconnection: boolean;
  carrier: Carrier;
  /** While its node hands it over from another portal, live notifications wait behind what comes with it. */
  private deferred: Notification[] | undefined;

  constructor(init: SessionInit) {
    this.participantId = init.participantId;
    this.user = init.user;
    this.role = init.role;
    this.roomId = init.roomId;
    this.tokenCode = init.tokenCode;
    this.origin = init.origin;
    this.controller = init.controller;
    this.flavour = init.flavour;
    this.sdkType = init.sdkType;
    this.reconnection = init.reconnection;
    this.carrier = init.carrier;
    // Only the 1.2 buffer flavour replays delivered notifications (SPEC §6); the others need just the pending ones.
    this.outbox = new Outbox(init.flavour.reloginWithBuffer ? init.outbox.windowMs : 0, init.outbox.capacity);
  }

  /**
   * Sends now when the carrier is connected, else keeps it pending for the next relogin. `seq` is the
   * number the room gave it; the portal's own notifications (`drop`) come after the last one. A
   * notification to several members comes `shared`, so it is encoded and framed once per flavour.
   */
  notify(event: string, data: unknown, seq = this.outbox.lastSeq + 1, shared = new RoomNotification(event, data, seq)): void {
    if (this.deferred) {
      this.deferred.push({ event, data, seq });
      return;
    }
    const prepared = shared.for(this.flavour);
    if (!prepared) return;
    const live = this.carrier.isConnected;
    const message = this.outbox.append(prepared.event, prepared.data, live, seq);
    if (message && live) shared.writeTo(this.carrier.socket.conn, this.flavour, prepared);
    metrics.count('conclave_portal_notifications_total', 'Notifications to participants: sent at once, or held for one that is away.', live ? SENT : HELD);
  }

  /** Live notifications wait until `handOver`. */
  awaitHandOver(): void {
    this.deferred = [];
  }

  /**
   * Takes what the node handed over, then what arrived meanwhile: in order, each once. A client that
   * cannot replay (SPEC §6) gets only what its previous portal never confirmed.
   */
  handOver(handed: readonly HandedOver[]): void {
    const deferred = this.deferred ?? [];
    this.deferred = undefined;
    for (const { event, data, seq, confirmed } of handed) {
      if (confirmed && !this.flavour.reloginWithBuffer) continue;
      const outgoing = this.flavour.outgoing(event, data);
      if (outgoing) this.outbox.append(outgoing.event, outgoing.data, confirmed, seq);
    }
    for (const { event, data, seq } of deferred) this.notify(event, data, seq);
  }

  emit(event: ServerEventName, data: unknown, seq: number): void {
    this.carrier.socket.conn.write(eventPacket(eventArguments(this.flavour, event, data, seq)));
  }
}

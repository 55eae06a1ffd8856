import { encodeTicket, issueTicket, verifyTicket, type ReconnectionTicket, type TicketCheck } from '../protocol/ticket.js';
import { verifyTokenSignature, type TokenPayload } from '../protocol/token.js';
import { reconnectionKeyOf, tokenKeyOf, type Store } from '../store/index.js';

/** What a connection may do with the portal's keys: check tokens and tickets; it never sees the keys. */
export interface KeyVerifier {
  verifyToken(token: TokenPayload): boolean;
  verifyTicket(encoded: unknown): TicketCheck;
}

/**
 * The token key and the reconnection key, both from the store (shared by every portal), reloaded
 * so that a rotated token key is followed. They stay private to this object.
 */
export class PortalKeys implements KeyVerifier {
  #tokenKey = '';
  #reconnectionKey = '';

  constructor(
    private readonly store: Store,
    private readonly ticketLifetimeMs: number,
  ) {}

  async load(): Promise<void> {
    this.#tokenKey = await tokenKeyOf(this.store);
    this.#reconnectionKey = await reconnectionKeyOf(this.store);
  }

  verifyToken(token: TokenPayload): boolean {
    return verifyTokenSignature(this.#tokenKey, token);
  }

  verifyTicket(encoded: unknown): TicketCheck {
    return verifyTicket(this.#reconnectionKey, encoded);
  }

  /** A new ticket for the participant and its encoded form, the string the client receives. */
  issueTicket(participantId: string): { ticket: ReconnectionTicket; encoded: string } {
    const ticket = issueTicket(this.#reconnectionKey, participantId, this.ticketLifetimeMs);
    return { ticket, encoded: encodeTicket(ticket) };
  }
}

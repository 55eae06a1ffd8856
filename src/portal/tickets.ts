import { randomBytes } from 'node:crypto';
import { signaturesEqual, signText } from '../management/signing.js';
import type { Store } from '../store/index.js';
import { PortalError, PortalErrors } from './errors.js';
import { isEncodedTicket, isTicketBody } from './requests.js';

/** Shared through the store so any portal can verify any portal's tickets (SPEC §6, cluster-wide resume). */
export function reconnectionKeyOf(store: Store): Promise<string> {
  return store.getOrCreateKey('reconnection', () => randomBytes(64).toString('base64'));
}

/** The reconnection ticket's wire format (SPEC §6); clients decode it to read `notAfter`. */
export interface ReconnectionTicket {
  participantId: string;
  ticketId: string;
  notBefore: number;
  notAfter: number;
  signature: string;
}

function sign(key: string, participantId: string, notBefore: number, notAfter: number): string {
  return signText(key, `${participantId},${notBefore},${notAfter}`);
}

export function issueTicket(key: string, participantId: string, lifetimeMs: number, now = Date.now()): ReconnectionTicket {
  const notAfter = now + lifetimeMs;
  return {
    participantId,
    ticketId: randomBytes(12).toString('hex'),
    notBefore: now,
    notAfter,
    signature: sign(key, participantId, now, notAfter),
  };
}

export function encodeTicket(ticket: ReconnectionTicket): string {
  return Buffer.from(JSON.stringify(ticket)).toString('base64');
}

/** Decodes and checks a ticket string; throws a PortalError with the SPEC's message. */
export function verifyTicket(key: string, encoded: unknown, now = Date.now()): ReconnectionTicket {
  let ticket: unknown;
  try {
    ticket = isEncodedTicket(encoded) ? JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) : undefined;
  } catch {
    ticket = undefined;
  }
  if (!isTicketBody(ticket)) throw new PortalError(PortalErrors.invalidTicket);
  if (now < ticket.notBefore || now > ticket.notAfter) throw new PortalError(PortalErrors.ticketExpired);
  if (!signaturesEqual(sign(key, ticket.participantId, ticket.notBefore, ticket.notAfter), ticket.signature)) {
    throw new PortalError(PortalErrors.invalidTicketSignature);
  }
  return ticket;
}

import { randomUUID } from 'node:crypto';
import { signaturesEqual, signText } from './signing.js';

/** The reconnection ticket's wire format (SPEC §6); clients decode it to read `notAfter`. */
export interface ReconnectionTicket {
  participantId: string;
  ticketId: string;
  notBefore: number;
  notAfter: number;
  signature: string;
}

/** Why a ticket is refused; each names its SPEC error in the catalogue. */
export type TicketFault = 'invalidTicket' | 'ticketExpired' | 'invalidTicketSignature';

export type TicketCheck = { ok: true; ticket: ReconnectionTicket } | { ok: false; fault: TicketFault };

const MAX_ENCODED_LENGTH = 1024;
const ticketFields = ['participantId', 'ticketId', 'notBefore', 'notAfter', 'signature'];
const participantIdPattern = /^[A-Za-z0-9_-]{1,128}$/;
const ticketIdPattern = /^[0-9a-f]{1,64}$/;
const signaturePattern = /^[A-Za-z0-9+/=]{1,256}$/;

function sign(key: string, participantId: string, notBefore: number, notAfter: number): string {
  return signText(key, `${participantId},${notBefore},${notAfter}`);
}

export function issueTicket(key: string, participantId: string, lifetimeMs: number, now = Date.now()): ReconnectionTicket {
  const notAfter = now + lifetimeMs;
  return {
    participantId,
    // 122 random bits from the pool randomUUID keeps: randomBytes asked the system on every login (30 µs of one under load).
    ticketId: randomUUID().replaceAll('-', ''),
    notBefore: now,
    notAfter,
    signature: sign(key, participantId, now, notAfter),
  };
}

export function encodeTicket(ticket: ReconnectionTicket): string {
  return Buffer.from(JSON.stringify(ticket)).toString('base64');
}

/** Exactly the SPEC §6 fields, each of its type and bounded. */
function isTicketBody(value: unknown): value is ReconnectionTicket {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const fields = value as Record<string, unknown>;
  const keys = Object.keys(fields);
  if (keys.length !== ticketFields.length || !ticketFields.every((field) => keys.includes(field))) return false;
  const { participantId, ticketId, notBefore, notAfter, signature } = fields;
  return (
    typeof participantId === 'string' && participantIdPattern.test(participantId) &&
    typeof ticketId === 'string' && ticketIdPattern.test(ticketId) &&
    Number.isInteger(notBefore) && Number.isInteger(notAfter) &&
    typeof signature === 'string' && signaturePattern.test(signature)
  );
}

function decodeTicket(encoded: unknown): ReconnectionTicket | undefined {
  if (typeof encoded !== 'string' || encoded.length === 0 || encoded.length > MAX_ENCODED_LENGTH) return undefined;
  try {
    const ticket: unknown = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
    return isTicketBody(ticket) ? ticket : undefined;
  } catch {
    return undefined;
  }
}

/** Decodes a ticket string and checks its time window and signature. */
export function verifyTicket(key: string, encoded: unknown, now = Date.now()): TicketCheck {
  const ticket = decodeTicket(encoded);
  if (!ticket) return { ok: false, fault: 'invalidTicket' };
  if (now < ticket.notBefore || now > ticket.notAfter) return { ok: false, fault: 'ticketExpired' };
  if (!signaturesEqual(sign(key, ticket.participantId, ticket.notBefore, ticket.notAfter), ticket.signature)) {
    return { ok: false, fault: 'invalidTicketSignature' };
  }
  return { ok: true, ticket };
}

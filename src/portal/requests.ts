import { Ajv } from 'ajv';
import type { ReconnectionTicket } from './tickets.js';

/** One schema per client event payload; a payload that fails gets the event's SPEC error. */
const ajv = new Ajv({ allErrors: false });

const idPattern = '^[A-Za-z0-9_-]{1,128}$';

export interface UserAgent {
  sdk: { type: string; version: string };
}

const shortText = { type: 'string', minLength: 1, maxLength: 64 };
/** What the OWT SDKs describe themselves with; only `sdk` is read, the rest is bounded. */
const nameAndVersion = {
  type: 'object',
  additionalProperties: false,
  properties: { name: { type: 'string', maxLength: 64 }, version: { type: 'string', maxLength: 64 } },
};

export const isUserAgent = ajv.compile<UserAgent>({
  type: 'object',
  required: ['sdk'],
  additionalProperties: false,
  properties: {
    sdk: {
      type: 'object',
      required: ['type', 'version'],
      additionalProperties: false,
      properties: { type: shortText, version: shortText },
    },
    runtime: nameAndVersion,
    os: nameAndVersion,
    capabilities: {
      type: 'object',
      maxProperties: 32,
      propertyNames: { maxLength: 64 },
      additionalProperties: { anyOf: [{ type: 'boolean' }, { type: 'number' }, { type: 'string', maxLength: 64 }] },
    },
  },
});

export interface LoginRequest {
  token: string;
  userAgent: UserAgent;
  protocol?: string;
}

export const isLoginObject = ajv.compile<Partial<LoginRequest>>({
  type: 'object',
  properties: {
    token: {},
    userAgent: {},
    protocol: {},
  },
  additionalProperties: false,
});

export const isToken = ajv.compile<string>({ type: 'string', minLength: 1, maxLength: 4096 });

/** The `relogin` payload. */
export const isEncodedTicket = ajv.compile<string>({ type: 'string', minLength: 1, maxLength: 1024 });

/** A decoded reconnection ticket, in its SPEC §6 format exactly. */
export const isTicketBody = ajv.compile<ReconnectionTicket>({
  type: 'object',
  required: ['participantId', 'ticketId', 'notBefore', 'notAfter', 'signature'],
  additionalProperties: false,
  properties: {
    participantId: { type: 'string', pattern: idPattern },
    ticketId: { type: 'string', pattern: '^[0-9a-f]{1,64}$' },
    notBefore: { type: 'integer' },
    notAfter: { type: 'integer' },
    signature: { type: 'string', pattern: '^[A-Za-z0-9+/=]{1,256}$' },
  },
});

export interface TextRequest {
  to: string;
  message: string;
}

export const isTextRequest = ajv.compile<TextRequest>({
  type: 'object',
  required: ['to', 'message'],
  properties: {
    to: { type: 'string', anyOf: [{ const: 'all' }, { pattern: idPattern }] },
    message: { type: 'string' },
  },
  additionalProperties: false,
});

export interface CustomMessageRequest {
  type: 'data';
  receiver: string;
  data: string;
}

export const isCustomMessageRequest = ajv.compile<CustomMessageRequest>({
  type: 'object',
  required: ['type', 'receiver', 'data'],
  properties: {
    type: { const: 'data' },
    receiver: { type: 'string', anyOf: [{ const: 'all' }, { pattern: idPattern }] },
    data: { type: 'string' },
  },
  additionalProperties: false,
});

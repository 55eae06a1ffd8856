import { Ajv } from 'ajv';
import type { CustomMessageRequest, LoginRequest, TextRequest, UserAgent } from '../protocol/socket.js';

/** One schema per client event payload; a payload that fails gets the event's SPEC error. */
const ajv = new Ajv({ allErrors: false });

const idPattern = '^[A-Za-z0-9_-]{1,128}$';

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

export const isTextRequest = ajv.compile<TextRequest>({
  type: 'object',
  required: ['to', 'message'],
  properties: {
    to: { type: 'string', anyOf: [{ const: 'all' }, { pattern: idPattern }] },
    message: { type: 'string' },
  },
  additionalProperties: false,
});

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

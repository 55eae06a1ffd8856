import { Ajv } from 'ajv';

/** One schema per client event payload; a payload that fails gets the event's SPEC error. */
const ajv = new Ajv({ allErrors: false });

const idPattern = '^[A-Za-z0-9_-]{1,128}$';

export interface UserAgent {
  sdk: { type: string; version: string };
}

export const isUserAgent = ajv.compile<UserAgent>({
  type: 'object',
  required: ['sdk'],
  properties: {
    sdk: {
      type: 'object',
      required: ['type', 'version'],
      properties: { type: { type: 'string', minLength: 1, maxLength: 64 }, version: { type: 'string', minLength: 1, maxLength: 64 } },
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

import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Secrets never reach the log, whatever a call site passes. */
const redactedPaths = [
  'token', '*.token', 'ticket', '*.ticket', 'reconnectionTicket', '*.reconnectionTicket',
  'key', '*.key', 'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization',
  'signature', '*.signature',
];

export function createLogger(level: string, name = 'conclave'): Logger {
  return pino({ name, level, redact: { paths: redactedPaths, censor: '[redacted]' } });
}

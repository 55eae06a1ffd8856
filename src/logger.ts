import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Secrets never reach the log, whatever a call site passes. */
const redactedPaths = [
  'token', '*.token', 'ticket', '*.ticket', 'reconnectionTicket', '*.reconnectionTicket',
  'key', '*.key', 'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization',
  'signature', '*.signature',
];

/** Logs JSON lines to stdout, or to `destination` when given. */
export function createLogger(level: string, name = 'conclave', destination?: DestinationStream): Logger {
  const options = { name, level, redact: { paths: redactedPaths, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}

import { pino, type DestinationStream, type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';

export type { Logger } from 'pino';

export const logFormats = ['json', 'pretty'] as const;
export type LogFormat = (typeof logFormats)[number];

/** Secrets never reach the log, whatever a call site passes. */
const redactedPaths = [
  'token', '*.token', 'ticket', '*.ticket', 'reconnectionTicket', '*.reconnectionTicket',
  'key', '*.key', 'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization',
  'signature', '*.signature',
];

/** Log output a reader has not taken yet, past which new lines are dropped rather than held. */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;

/**
 * Lines to `out` through Node's own stream, which never blocks the process. pino's default
 * destination writes synchronously, and on a pipe that is full (its reader stopped reading, or is
 * gone while another process still holds the pipe) it sleeps and retries forever on the main
 * thread: the process then answers nothing, signals included. Here lines a slow reader cannot take
 * wait in memory up to a bound and are dropped beyond it; a closed pipe ends the logging, not the
 * process.
 */
export function streamDestination(out: NodeJS.WritableStream & { writableLength?: number }, format: LogFormat = 'json'): DestinationStream {
  let closed = false;
  out.on('error', () => {
    closed = true;
  });
  const pretty = format === 'pretty' ? prettyFactory({ colorize: false, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }) : undefined;
  return {
    write(line: string) {
      if (closed || (out.writableLength ?? 0) > MAX_PENDING_BYTES) return;
      out.write(pretty ? pretty(line) : line);
    },
  };
}

/** Logs JSON lines (or `pretty` text) to stdout, or to `destination` when given. */
export function createLogger(level: string, name = 'conclave', destination?: DestinationStream, format: LogFormat = 'json'): Logger {
  const options = { name, level, redact: { paths: redactedPaths, censor: '[redacted]' } };
  return pino(options, destination ?? streamDestination(process.stdout, format));
}

/**
 * A logger for a component, or for a part of one: a line names its component once (pino repeats a
 * key its parent already binds), so a part inside another component is named by `part`.
 */
export function componentLogger(parent: Logger, component: string, bindings: Record<string, unknown> = {}): Logger {
  return parent.child('component' in parent.bindings() ? { part: component, ...bindings } : { component, ...bindings });
}

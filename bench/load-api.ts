/** What the bench asks of its load generators, and what they answer. Shared by both sides; no side effects. */
import type { ProcessUsage } from './usage.js';

/** The handshake query that puts a baseline client in a room, as a Conclave token does. */
export const BASELINE_ROOM_QUERY = 'room';

/** SDK types the bench logs in as: the OWT JavaScript SDK and a native one, which differ on relogin (SPEC §6). */
export const BenchSdks = { javascript: 'JavaScript', native: 'C++' } as const;
export type BenchSdk = (typeof BenchSdks)[keyof typeof BenchSdks];

/**
 * One client of a scenario: a Conclave participant with its token, or a bare Socket.IO client —
 * one that echoes, or with `logsIn` one that logs in and out of `room` as a participant would.
 */
export type Entry =
  | { target: 'conclave'; room: string; token: string; sdk: BenchSdk }
  | { target: 'baseline'; room: string; logsIn: boolean };

/** A closed-loop run of one request kind over many clients. */
export interface RunResult {
  latenciesMs: number[];
  startedAt: number;
  endedAt: number;
  /** Error message → how many clients failed with it. */
  failures: Record<string, number>;
}

export interface Arrival {
  received: number;
  /** When the last of them received it (ms since the epoch, sub-millisecond). */
  lastAt: number;
}

export interface StreamResult {
  /** Per room, the messages the server acknowledged, in sending order. */
  acked: Record<string, string[]>;
  failures: Record<string, number>;
}

export interface DeliveryCounts {
  clients: number;
  expected: number;
  lost: number;
  duplicated: number;
  reordered: number;
}

export function emptyCounts(): DeliveryCounts {
  return { clients: 0, expected: 0, lost: 0, duplicated: 0, reordered: 0 };
}

export type DeliveryAudit = DeliveryCounts & { bySdk: Partial<Record<BenchSdk, DeliveryCounts>> };

export type LoadMethods = {
  /** Each entry: connect, enter (login or echo), leave (logout) and disconnect. */
  cycle(url: string, entries: Entry[], concurrency: number): Promise<RunResult>;
  /** Each entry: connect and enter, then stay in `group`. */
  hold(group: string, url: string, entries: Entry[], concurrency: number): Promise<RunResult>;
  /** Every client of `group` leaves and disconnects. */
  release(group: string, concurrency: number): Promise<RunResult>;
  /** Client `index` of `group` sends `message` to all of its room; resolves with when it was sent. */
  send(group: string, index: number, message: string): Promise<{ sentAt: number }>;
  /** Resolves once every client of `group` received `message`, or at `timeoutMs`. */
  arrival(group: string, message: string, timeoutMs: number): Promise<Arrival>;
  /** Every client of `group` sends numbered messages to its room, one every `intervalMs`, until stopped. */
  startStream(group: string, intervalMs: number): void;
  /** Stops the stream once every sender has sent at least `atLeast` messages. */
  stopStream(group: string, atLeast: number): Promise<StreamResult>;
  /** Every client of `group` loses its transport, reconnects and resumes (relogin, or echo for the baseline). */
  resume(group: string, url: string, concurrency: number): Promise<RunResult>;
  /** Waits up to `timeoutMs` for `expected` (per room) to reach every client of `group`, then counts the damage. */
  audit(group: string, expected: Record<string, string[]>, timeoutMs: number): Promise<DeliveryAudit>;
  usage(): ProcessUsage;
};

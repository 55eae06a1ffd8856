/** One simulated client of a load generator: a Conclave participant or a bare Socket.IO client. */
import { io, type Socket } from 'socket.io-client';
import { reloginResultOf, type ReloginResult } from '../src/protocol/socket.js';
import { BASELINE_ROOM_QUERY, BenchSdks, type Entry } from './load-api.js';
import { preciseNow } from './stats.js';

/** How long any single request may take before the bench calls it failed. */
const REQUEST_TIMEOUT_MS = 10_000;
const SDK_VERSION = '5.1';
const PROTOCOL = '1.2';

class RequestFailed extends Error {
  override name = 'RequestFailed';
}

function open(url: string, entry: Entry): Socket {
  return io(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    query: entry.target === 'baseline' && !entry.logsIn ? { [BASELINE_ROOM_QUERY]: entry.room } : {},
  });
}

function connected(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (error) => reject(new RequestFailed(`connect: ${error.message}`)));
  });
}

/**
 * Emits `event` and resolves with the ack's data when its status is `ok`. `accept` sees that data
 * inside the ack callback itself: events that arrived in the same read from the socket are
 * dispatched right after it, before any code awaiting the promise runs.
 */
function request(socket: Socket, event: string, payload?: unknown, accept: (data: unknown) => void = () => undefined): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const args = payload === undefined ? [] : [payload];
    socket.timeout(REQUEST_TIMEOUT_MS).emit(event, ...args, (timeout: Error | null, status: unknown, data: unknown) => {
      if (timeout) {
        reject(new RequestFailed(`${event}: no answer`));
      } else if (status === 'ok') {
        accept(data);
        resolve(data);
      } else {
        reject(new RequestFailed(`${event}: ${typeof data === 'string' ? data : JSON.stringify(data)}`));
      }
    });
  });
}

/**
 * Keeps what a real client would: its reconnection ticket and, for protocol 1.2 notifications that
 * carry a sequence number, the last one seen (a replayed one is skipped, as the SDKs do). Every
 * `text` it accepts goes to `onText` with the time it arrived.
 */
export class BenchClient {
  private socket: Socket | undefined;
  private ticket: string | undefined;
  private lastSeq = 0;

  constructor(
    readonly entry: Entry,
    private readonly onText: (client: BenchClient, message: string, at: number) => void,
  ) {}

  /** Connects and logs in (the echoing baseline: one ack round trip); resolves with the time it took. */
  async enter(url: string): Promise<number> {
    const startedAt = preciseNow();
    const socket = this.attach(url);
    await connected(socket);
    const { entry } = this;
    if (entry.target === 'baseline' && !entry.logsIn) {
      await request(socket, 'echo', {});
    } else {
      const result = (await request(socket, 'login', {
        token: entry.target === 'conclave' ? entry.token : entry.room,
        userAgent: { sdk: { type: entry.target === 'conclave' ? entry.sdk : BenchSdks.javascript, version: SDK_VERSION } },
        protocol: PROTOCOL,
      })) as { reconnectionTicket?: string };
      this.ticket = result.reconnectionTicket;
    }
    return preciseNow() - startedAt;
  }

  /** Logs out (Conclave) and disconnects; resolves with the time the logout took. */
  async leave(): Promise<number> {
    const socket = this.socket;
    if (!socket) return 0;
    const startedAt = preciseNow();
    try {
      if ((this.entry.target === 'conclave' || this.entry.logsIn) && socket.connected) await request(socket, 'logout');
    } finally {
      socket.disconnect();
      this.socket = undefined;
    }
    return preciseNow() - startedAt;
  }

  /** Drops the transport without a word, as a network failure would, and resumes on a new one. */
  async resume(url: string): Promise<number> {
    this.socket?.io.engine.close();
    const startedAt = preciseNow();
    const socket = this.attach(url);
    await connected(socket);
    if (this.entry.target === 'baseline') {
      await request(socket, 'echo', {});
      return preciseNow() - startedAt;
    }
    if (!this.ticket) throw new RequestFailed('relogin: no reconnection ticket');
    // The replayed buffer must be taken before any live notification that follows the answer, or
    // the live one's sequence number would make the replay look old.
    await request(socket, 'relogin', this.ticket, (answer) => {
      const { ticket, messages } = reloginResultOf(answer as string | ReloginResult);
      this.ticket = ticket;
      for (const message of messages) this.receive(message.event, message.data, message.seq);
    });
    return preciseNow() - startedAt;
  }

  async send(message: string): Promise<void> {
    if (!this.socket) throw new RequestFailed('text: not connected');
    await request(this.socket, 'text', { to: 'all', message });
  }

  close(): void {
    this.socket?.disconnect();
    this.socket = undefined;
  }

  private attach(url: string): Socket {
    const socket = open(url, this.entry);
    socket.onAny((event: string, data: unknown, seq: unknown) => this.receive(event, data, seq));
    this.socket = socket;
    return socket;
  }

  private receive(event: string, data: unknown, seq: unknown): void {
    const at = preciseNow();
    if (typeof seq === 'number') {
      if (seq <= this.lastSeq) return;
      this.lastSeq = seq;
    }
    if (event !== 'text') return;
    const message = (data as { message?: unknown } | null)?.message;
    if (typeof message === 'string') this.onText(this, message, at);
  }
}

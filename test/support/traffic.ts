/**
 * Participants as applications see them, and the load a fault meets, for counting what the fault
 * costs. A member keeps the texts it was given, in the order it was given them. A `native` member
 * is a 1.2 client of the OWT native SDKs: a relogin answers it with the buffer, and it keeps only
 * notifications numbered above the last it saw (SPEC §6). A `javascript` member is the OWT
 * JavaScript SDK: a ticket string, then the pending messages, and no numbers read. When its
 * connection drops, a member re-logs in with its ticket at once, on its portal or, if that one does
 * not answer, on the next one: a client behind a load balancer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { io, type Socket } from 'socket.io-client';
import { reloginResultOf, type ReloginResult } from '../../src/protocol/socket.js';
import { portalUrlOf, slow, type ProcessCluster } from './process-cluster.js';
import { waitFor } from './wait.js';

export type Flavour = 'native' | 'javascript';

const sdks: Record<Flavour, { type: string; version: string }> = {
  native: { type: 'C++', version: '5.1' },
  javascript: { type: 'JavaScript', version: '5.1' },
};

/** The portal answered a request with an error. */
export class Refusal extends Error {
  override name = 'Refusal';
}

/** An answer lost with its connection is a failure, not a wait without end. */
const ANSWER_TIMEOUT_MS = 15_000;

function ask(socket: Socket, event: string, payload: unknown, accept?: (data: unknown) => void): Promise<unknown> {
  return new Promise((resolve, reject) => {
    socket.timeout(ANSWER_TIMEOUT_MS).emit(event, payload, (timedOut: Error | null, status: unknown, data: unknown) => {
      if (timedOut) {
        reject(new Refusal(`${event}: no answer`));
        return;
      }
      if (status !== 'ok') {
        reject(new Refusal(`${event}: ${typeof data === 'string' ? data : JSON.stringify(data)}`));
        return;
      }
      accept?.(data);
      resolve(data);
    });
  });
}

export class Member {
  /** Every text's message, in the order the application got them. */
  readonly texts: string[] = [];
  /** Every other notification, in order. */
  readonly notifications: Array<{ event: string; data: unknown }> = [];
  /** Each successful relogin: where, and when. */
  readonly resumes: Array<{ url: string; at: number }> = [];
  /** Why it stopped trying to come back, if it did. */
  failure: string | undefined;
  id = '';
  private socket: Socket | undefined;
  private url = '';
  private ticket: string | undefined;
  private lastSeq = 0;
  private closed = false;

  /** `portals` lists where it may go when its own portal does not answer. */
  constructor(
    readonly user: string,
    readonly flavour: Flavour,
    private readonly portals: readonly string[],
  ) {}

  get portal(): string {
    return this.url;
  }

  get dropped(): boolean {
    return this.notifications.some(({ event }) => event === 'drop');
  }

  async login(url: string, token: string): Promise<void> {
    const socket = await this.connect(url);
    const result = (await ask(socket, 'login', { token, userAgent: { sdk: sdks[this.flavour] }, protocol: '1.2' })) as {
      id: string;
      reconnectionTicket: string;
    };
    this.id = result.id;
    this.ticket = result.reconnectionTicket;
    socket.on('disconnect', () => void this.comeBack());
  }

  async send(to: string, message: string): Promise<void> {
    if (!this.socket?.connected) throw new Refusal('text: not connected');
    await ask(this.socket, 'text', { to, message });
  }

  close(): void {
    this.closed = true;
    this.socket?.disconnect();
  }

  /** Re-logs in on its portal, else on the others in turn, until one takes it or refuses it. */
  private async comeBack(): Promise<void> {
    while (!this.closed && !this.failure && !this.dropped) {
      for (const url of [this.url, ...this.portals.filter((each) => each !== this.url)]) {
        let socket: Socket;
        try {
          socket = await this.connect(url);
        } catch {
          continue;
        }
        try {
          // The buffer is taken inside the answer, before any live notification read along with it.
          await ask(socket, 'relogin', this.ticket, (answer) => {
            const { ticket, messages } = reloginResultOf(answer as string | ReloginResult);
            this.ticket = ticket;
            for (const message of messages) this.receive(message.event, message.data, message.seq);
          });
        } catch (error) {
          this.failure = (error as Error).message;
          return;
        }
        this.resumes.push({ url, at: Date.now() });
        socket.on('disconnect', () => void this.comeBack());
        return;
      }
      await sleep(50);
    }
  }

  private async connect(url: string): Promise<Socket> {
    this.socket?.disconnect();
    const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
    socket.onAny((event: string, data: unknown, seq: unknown) => this.receive(event, data, seq));
    this.socket = socket;
    this.url = url;
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (error) => {
        socket.disconnect();
        reject(error);
      });
    });
    return socket;
  }

  private receive(event: string, data: unknown, seq: unknown): void {
    if (this.flavour === 'native' && typeof seq === 'number') {
      if (seq <= this.lastSeq) return;
      this.lastSeq = seq;
    }
    const message = (data as { message?: unknown } | null)?.message;
    if (event === 'text' && typeof message === 'string') this.texts.push(message);
    else this.notifications.push({ event, data });
  }
}

export interface Tally {
  lost: number;
  duplicated: number;
  reordered: number;
}

/** What `received` lacks, repeats, or has out of order, against the acknowledged `sent` (in sending order). */
export function tally(sent: readonly string[], received: readonly string[]): Tally {
  const order = new Map(sent.map((message, index) => [message, index]));
  const seen = new Set<string>();
  let duplicated = 0;
  let reordered = 0;
  let latest = -1;
  for (const message of received) {
    if (seen.has(message)) {
      duplicated++;
      continue;
    }
    seen.add(message);
    const index = order.get(message);
    if (index === undefined) continue;
    if (index < latest) reordered++;
    latest = Math.max(latest, index);
  }
  return { lost: sent.filter((message) => !seen.has(message)).length, duplicated, reordered };
}

const flavours: Flavour[] = ['native', 'javascript'];

/** `count` members of `room`, flavours alternating, each on the portal its token names. */
export async function members(cluster: ProcessCluster, room: string, count: number): Promise<Array<{ member: Member; url: string }>> {
  const joined: Array<{ member: Member; url: string }> = [];
  for (let index = 0; index < count; index++) {
    const member = new Member(`user-${index}`, flavours[index % flavours.length]!, cluster.portals.map(({ url }) => url));
    const token = await cluster.management.createToken(room, member.user, 'presenter');
    await member.login(portalUrlOf(token), token);
    cluster.onClose(() => member.close());
    joined.push({ member, url: portalUrlOf(token) });
  }
  return joined;
}

/** Texts to 'all' every `periodMs`; remembers which were acknowledged, in the order they were sent. */
export class Traffic {
  private readonly sent: string[] = [];
  private readonly ackedSet = new Set<string>();
  private readonly pending = new Set<Promise<void>>();
  private readonly timer: NodeJS.Timeout;
  failures = 0;

  constructor(sender: Member, periodMs = 50) {
    this.timer = setInterval(() => {
      const message = `m${this.sent.length + 1}`;
      this.sent.push(message);
      const sending = sender.send('all', message).then(
        () => void this.ackedSet.add(message),
        () => void (this.failures += 1),
      );
      this.pending.add(sending);
      void sending.finally(() => this.pending.delete(sending));
    }, periodMs);
  }

  get acked(): string[] {
    return this.sent.filter((message) => this.ackedSet.has(message));
  }

  /** Until `count` more texts than now have been acknowledged. */
  async more(count: number): Promise<void> {
    const target = this.acked.length + count;
    await waitFor(`${count} more acknowledged texts`, () => this.acked.length >= target || `${this.acked.length} of ${target}`, slow);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.pending);
  }
}

/** Waits until every member got every acknowledged text, then answers each flavour's tally. */
export async function tallies(everyone: Member[], acked: string[]): Promise<Record<Flavour, Tally>> {
  await waitFor('every acknowledged text to reach every member', () => {
    const missing = everyone.filter((member) => tally(acked, member.texts).lost > 0);
    return missing.length === 0 || missing.map((member) => `${member.user}: ${JSON.stringify(tally(acked, member.texts))}`).join(', ');
  }, slow);
  const sum = (flavour: Flavour): Tally => {
    const each = everyone.filter((member) => member.flavour === flavour).map((member) => tally(acked, member.texts));
    return {
      lost: each.reduce((total, one) => total + one.lost, 0),
      duplicated: each.reduce((total, one) => total + one.duplicated, 0),
      reordered: each.reduce((total, one) => total + one.reordered, 0),
    };
  };
  return { native: sum('native'), javascript: sum('javascript') };
}

/**
 * Logs new members in, one after the other, alternately into each of `rooms`: a steady stream that
 * a fault meets whenever it comes. Counts failures and the slowest login.
 */
export class Logins {
  readonly failures: string[] = [];
  succeeded = 0;
  slowestMs = 0;
  private running = true;
  private readonly done: Promise<void>;

  constructor(cluster: ProcessCluster, rooms: string[]) {
    this.done = (async () => {
      for (let index = 0; this.running; index++) {
        const member = new Member(`login-${index}`, flavours[index % flavours.length]!, cluster.portals.map(({ url }) => url));
        cluster.onClose(() => member.close());
        const startedAt = Date.now();
        try {
          const token = await cluster.management.createToken(rooms[index % rooms.length]!, member.user, 'presenter');
          await member.login(portalUrlOf(token), token);
          this.succeeded += 1;
          this.slowestMs = Math.max(this.slowestMs, Date.now() - startedAt);
        } catch (error) {
          this.failures.push(`${member.user}: ${(error as Error).message}`);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

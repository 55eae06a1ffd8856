/** Bench child: a load generator. It holds groups of clients and runs what the bench asks over IPC. */
import { setTimeout as delay } from 'node:timers/promises';
import { messageOf } from '../src/bus/index.js';
import { BenchClient } from './bench-client.js';
import { serveParent } from './ipc.js';
import {
  emptyCounts,
  type Arrival,
  type BenchSdk,
  type DeliveryAudit,
  type DeliveryCounts,
  type Entry,
  type LoadMethods,
  type RunResult,
  type StreamResult,
} from './load-api.js';
import { inPool, preciseNow } from './stats.js';
import { usageOf } from './usage.js';

class Group {
  readonly clients: BenchClient[] = [];
  readonly arrivals = new Map<string, Arrival>();
  /** Each client's accepted texts, in arrival order. */
  readonly received = new Map<BenchClient, string[]>();
  distinctArrivals = 0;
  stream: { stop(atLeast: number): void; result: Promise<StreamResult> } | undefined;
  private readonly seen = new Map<BenchClient, Set<string>>();
  private readonly listeners = new Set<() => void>();

  readonly onText = (client: BenchClient, message: string, at: number): void => {
    let list = this.received.get(client);
    if (!list) this.received.set(client, (list = []));
    list.push(message);
    let seen = this.seen.get(client);
    if (!seen) this.seen.set(client, (seen = new Set()));
    if (seen.has(message)) return;
    seen.add(message);
    this.distinctArrivals += 1;
    const arrival = this.arrivals.get(message) ?? { received: 0, lastAt: at };
    arrival.received += 1;
    arrival.lastAt = Math.max(arrival.lastAt, at);
    this.arrivals.set(message, arrival);
    for (const listener of this.listeners) listener();
  };

  /** Resolves when `done()` holds, checked on every arrival, or after `timeoutMs` whatever it says. */
  until(done: () => boolean, timeoutMs: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      const check = () => {
        if (done()) finish();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.listeners.add(check);
    });
  }
}

const groups = new Map<string, Group>();

function groupOf(name: string): Group {
  let group = groups.get(name);
  if (!group) groups.set(name, (group = new Group()));
  return group;
}

function existingGroup(name: string): Group {
  const group = groups.get(name);
  if (!group) throw new Error(`no group ${name}`);
  return group;
}

function tally(failures: Record<string, number>, error: unknown): void {
  const message = messageOf(error);
  failures[message] = (failures[message] ?? 0) + 1;
}

/** A closed loop over `items`: each `work` resolves with its latency; failures are counted by message. */
async function run<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<number>): Promise<RunResult> {
  const latenciesMs: number[] = [];
  const failures: Record<string, number> = {};
  const startedAt = preciseNow();
  await inPool(items, concurrency, async (item) => {
    try {
      latenciesMs.push(await work(item));
    } catch (error) {
      tally(failures, error);
    }
  });
  return { latenciesMs, startedAt, endedAt: preciseNow(), failures };
}

const ignoreText = () => undefined;

function stream(group: Group, intervalMs: number): Group['stream'] {
  let stopAfter = Number.POSITIVE_INFINITY;
  const failures: Record<string, number> = {};
  const sender = async (client: BenchClient): Promise<[string, string[]]> => {
    const acked: string[] = [];
    for (let n = 1; n <= stopAfter; n++) {
      const message = `${client.entry.room}#${n}`;
      try {
        await client.send(message);
        acked.push(message);
      } catch (error) {
        tally(failures, error);
      }
      // Paced below the portal's per-connection event limit.
      await delay(intervalMs);
    }
    return [client.entry.room, acked];
  };
  const result = Promise.all(group.clients.map(sender)).then((acked) => ({ acked: Object.fromEntries(acked), failures }));
  return { stop: (atLeast) => void (stopAfter = atLeast), result };
}

function countDelivery(counts: DeliveryCounts, wanted: readonly string[], texts: readonly string[]): void {
  const position = new Map(wanted.map((message, index) => [message, index]));
  const got = new Set(texts);
  counts.clients += 1;
  counts.expected += wanted.length;
  counts.lost += wanted.filter((message) => !got.has(message)).length;
  counts.duplicated += texts.length - got.size;
  for (let i = 1; i < texts.length; i++) {
    if ((position.get(texts[i]!) ?? -1) < (position.get(texts[i - 1]!) ?? -1)) counts.reordered += 1;
  }
}

function audit(group: Group, expected: Record<string, string[]>): DeliveryAudit {
  const total = emptyCounts();
  const bySdk: Partial<Record<BenchSdk, DeliveryCounts>> = {};
  for (const client of group.clients) {
    const wanted = expected[client.entry.room] ?? [];
    const texts = group.received.get(client) ?? [];
    countDelivery(total, wanted, texts);
    if (client.entry.target === 'conclave') countDelivery((bySdk[client.entry.sdk] ??= emptyCounts()), wanted, texts);
  }
  return { ...total, bySdk };
}

const handlers: LoadMethods = {
  cycle: (url, entries, concurrency) =>
    run(entries, concurrency, async (entry: Entry) => {
      const client = new BenchClient(entry, ignoreText);
      try {
        const latency = await client.enter(url);
        await client.leave();
        return latency;
      } finally {
        client.close();
      }
    }),
  hold: (name, url, entries, concurrency) => {
    const group = groupOf(name);
    return run(entries, concurrency, async (entry: Entry) => {
      const client = new BenchClient(entry, group.onText);
      try {
        const latency = await client.enter(url);
        group.clients.push(client);
        return latency;
      } catch (error) {
        client.close();
        throw error;
      }
    });
  },
  release: async (name, concurrency) => {
    const group = existingGroup(name);
    groups.delete(name);
    return run(group.clients, concurrency, (client) => client.leave());
  },
  send: async (name, index, message) => {
    const { clients } = existingGroup(name);
    const sentAt = preciseNow();
    await clients[index % clients.length]!.send(message);
    return { sentAt };
  },
  arrival: async (name, message, timeoutMs) => {
    const group = existingGroup(name);
    await group.until(() => (group.arrivals.get(message)?.received ?? 0) >= group.clients.length, timeoutMs);
    return group.arrivals.get(message) ?? { received: 0, lastAt: Number.NaN };
  },
  startStream: (name, intervalMs) => {
    const group = existingGroup(name);
    group.stream = stream(group, intervalMs);
  },
  stopStream: async (name, atLeast) => {
    const group = existingGroup(name);
    if (!group.stream) throw new Error(`group ${name} is not streaming`);
    group.stream.stop(atLeast);
    const result = await group.stream.result;
    group.stream = undefined;
    return result;
  },
  resume: (name, url, concurrency) => run(existingGroup(name).clients, concurrency, (client) => client.resume(url)),
  audit: async (name, expected, timeoutMs) => {
    const group = existingGroup(name);
    const wanted = group.clients.reduce((sum, client) => sum + (expected[client.entry.room]?.length ?? 0), 0);
    await group.until(() => group.distinctArrivals >= wanted, timeoutMs);
    return audit(group, expected);
  },
  usage: () => usageOf(false),
};

serveParent(handlers, async () => {
  for (const group of groups.values()) for (const client of group.clients) client.close();
});

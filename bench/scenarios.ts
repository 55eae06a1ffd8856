/** The four signaling measurements, each run against the bare Socket.IO baseline and then Conclave; with --profile, a fifth for the heap. */
import type { ManagementClient } from '../src/client/management-client.js';
import type { BaselineMethods } from './baseline.js';
import type { Child } from './ipc.js';
import {
  BenchSdks,
  emptyCounts,
  type BenchSdk,
  type DeliveryAudit,
  type DeliveryCounts,
  type Entry,
  type LoadMethods,
  type RunResult,
} from './load-api.js';
import { BASELINE_PROFILE_PREFIX } from './profile.js';
import type { ServerMethods } from './server.js';
import { inPool, summarize, type LatencySummary } from './stats.js';
import type { ProcessUsage } from './usage.js';

export interface Sizes {
  /** Clients that log in and out for the throughput measurement. */
  logins: number;
  /** Requests in flight at once, over all generators (a closed loop). */
  concurrency: number;
  participants: number;
  participantRooms: number;
  loginsWhileHolding: number;
  fanout: number;
  fanoutRepeats: number;
  resuming: number;
  resumingRooms: number;
}

export type Target = 'conclave' | 'baseline';

/** A run as the bench reports it; CPU is the share of one core used while it ran. */
export interface Throughput {
  clients: number;
  succeeded: number;
  failures: Record<string, number>;
  perSecond: number;
  latencyMs: LatencySummary;
  serverCpuPercent: number;
  generatorsCpuPercent: number;
}

export interface Holding {
  ramp: Throughput;
  held: number;
  before: ProcessUsage;
  after: ProcessUsage;
  rssPerParticipantBytes: number;
  heapPerParticipantBytes: number;
  loginWhileHolding: Throughput;
  release: Throughput;
}

/** The server's heap snapshots before and after it took `held` participants. */
export interface HeldHeap {
  before: string;
  after: string;
  held: number;
}

export interface Fanout {
  join: Throughput;
  receivers: number;
  /** Server memory growth per member of the one big room, after garbage collection. */
  rssPerReceiverBytes: number;
  heapPerReceiverBytes: number;
  repeats: number;
  /** Repeats in which some receiver did not get the message within the timeout. */
  incomplete: number;
  lastArrivalMs: LatencySummary;
  /** The server's CPU per text sent to the room (warm-up included): its own share of the fan-out, whoever receives. */
  serverCpuPerTextMs: number;
}

export interface Resumption {
  held: number;
  /** Resuming while nothing is said in the rooms. */
  quiet: Throughput;
  /** Resuming while a sender in each room talks (one message every 25 ms). */
  talking: Throughput;
  /** What became of the messages sent to the rooms during the second resumption. */
  delivery: DeliveryAudit & { sent: number; sendFailures: Record<string, number> };
}

export type Pair<T> = Record<Target, T>;

/** The login run on each server, and on the bare one answering and notifying as the portal does. */
export type LoginRuns = Pair<Throughput> & { mirror: Throughput };

export interface Processes {
  server: Child<ServerMethods>;
  baseline: Child<BaselineMethods>;
  generators: Child<LoadMethods>[];
}

/** Said of the runs of a label where the baseline serves Conclave's traffic: the baseline's profile compares, so it is taken too. */
interface BaselineProfile {
  sameWorkAsConclave: true;
}

const ROLE = 'presenter';
const TOKEN_CONCURRENCY = 32;
/** Odd, so that each server has a median round. */
export const LOGIN_ROUNDS = 3;
const ARRIVAL_TIMEOUT_MS = 10_000;
const AUDIT_TIMEOUT_MS = 5_000;
/** Below the portal's default 50 events per second and connection, which the bench keeps. */
const STREAM_INTERVAL_MS = 25;
/** Messages each room gets at least, however quickly its clients resume. */
const STREAM_MINIMUM = 20;

function mergeFailures(target: Record<string, number>, source: Record<string, number>): Record<string, number> {
  for (const [message, count] of Object.entries(source)) target[message] = (target[message] ?? 0) + count;
  return target;
}

function mergeCounts(target: DeliveryCounts, source: DeliveryCounts): DeliveryCounts {
  target.clients += source.clients;
  target.expected += source.expected;
  target.lost += source.lost;
  target.duplicated += source.duplicated;
  target.reordered += source.reordered;
  return target;
}

function mergeAudits(audits: DeliveryAudit[]): DeliveryAudit {
  const merged: DeliveryAudit = { ...emptyCounts(), bySdk: {} };
  for (const audit of audits) {
    mergeCounts(merged, audit);
    for (const [sdk, counts] of Object.entries(audit.bySdk) as Array<[BenchSdk, DeliveryCounts]>) {
      mergeCounts((merged.bySdk[sdk] ??= emptyCounts()), counts);
    }
  }
  return merged;
}

/** `work`'s result, with `read()` taken just before and just after it. */
async function between<T, R>(read: () => Promise<R>, work: () => Promise<T>): Promise<{ result: T; before: R; after: R }> {
  const before = await read();
  const result = await work();
  return { result, before, after: await read() };
}

/** Deals `items` round robin to `count` hands. */
export function deal<T>(items: readonly T[], count: number): T[][] {
  const hands = Array.from({ length: count }, (): T[] => []);
  items.forEach((item, index) => hands[index % count]!.push(item));
  return hands;
}

export class Scenarios {
  private readonly generatorConcurrency: number;

  constructor(
    private readonly processes: Processes,
    private readonly management: ManagementClient,
    private readonly urls: { portal: string; baseline: string },
    private readonly sizes: Sizes,
    private readonly progress: (line: string) => void,
    /** Where to write the CPU profiles (--profile) and the heap snapshots; none when absent. */
    private readonly profileDir?: string,
  ) {
    this.generatorConcurrency = Math.max(1, Math.ceil(sizes.concurrency / processes.generators.length));
  }

  /**
   * 1. N clients connect, log in and log out; logins per second and latency. Each server first
   * serves as many unmeasured, so that no run measures code the JIT has yet to compile (the
   * generators' included): the first run measured used to be up to 1.5 times as slow. Then
   * LOGIN_ROUNDS rounds, each measuring the three servers one after the other, and each server's
   * median round: on two cores the server and the generators compete for CPU, and one round
   * alone was seen 30% off the next.
   */
  async login(): Promise<LoginRuns> {
    const { logins } = this.sizes;
    this.progress(`login: ${logins} clients of each kind to warm up, unmeasured`);
    for (const entries of [
      this.baselineEntries(logins, () => 'warm-up', false),
      this.baselineEntries(logins, () => 'warm-up', true),
      await this.loginEntries('conclave', logins, 'bench-warm-up'),
    ]) {
      const url = this.url(entries[0]!.target);
      await this.onGenerators(entries, (generator, part) => generator.call('cycle', url, part, this.generatorConcurrency));
    }
    const rounds: LoginRuns[] = [];
    for (let round = 1; round <= LOGIN_ROUNDS; round++) {
      this.progress(`login, round ${round} of ${LOGIN_ROUNDS}: ${logins} clients on the baseline, as many answered as the portal answers, as many on Conclave`);
      rounds.push({
        baseline: await this.cycle('baseline', `login-echo-${round}`, await this.loginEntries('baseline', logins, 'lobby')),
        mirror: await this.cycle('baseline', `login-${round}`, this.baselineEntries(logins, () => 'lobby', true), { sameWorkAsConclave: true }),
        conclave: await this.cycle('conclave', `login-${round}`, await this.loginEntries('conclave', logins, `bench-login-${round}`)),
      });
    }
    const medianOf = (target: keyof LoginRuns) => {
      const runs = rounds.map((round) => round[target]).sort((a, b) => a.perSecond - b.perSecond);
      return runs[Math.floor(runs.length / 2)]!;
    };
    return { baseline: medianOf('baseline'), mirror: medianOf('mirror'), conclave: medianOf('conclave') };
  }

  /** 2. Ramp to many logged-in clients over many rooms; memory per participant; login latency meanwhile. */
  async participants(): Promise<Pair<Holding>> {
    const { participants, participantRooms } = this.sizes;
    this.progress(`participants: ${participants} baseline clients`);
    const baseline = await this.hold('baseline', () => this.baselineEntries(participants, (i) => `room-${i % participantRooms}`));
    this.progress(`participants: ${participants} Conclave clients in ${participantRooms} rooms`);
    const conclave = await this.hold('conclave', () => this.participantEntries('bench-participants'));
    return { baseline, conclave };
  }

  /** 3. One `text` to `all` in a room of many; time until the last receiver has it, over repeats. */
  async fanout(): Promise<Pair<Fanout>> {
    const { fanout } = this.sizes;
    this.progress(`fan-out: baseline room of ${fanout}`);
    const baseline = await this.fanoutTo('baseline', this.baselineEntries(fanout, () => 'fanout'));
    const room = await this.room('bench-fanout');
    this.progress(`fan-out: Conclave room of ${fanout}`);
    const conclave = await this.fanoutTo('conclave', await this.tokens(fanout, () => room));
    return { baseline, conclave };
  }

  /**
   * 4. Clients lose their transport and resume, first in quiet rooms, then while one sender per
   * room keeps talking: every message the server acknowledged must then reach every client exactly
   * once, in order. The baseline runs the same, with no resumption to save what a drop swallows.
   */
  async reconnection(): Promise<Pair<Resumption>> {
    const { resuming, resumingRooms } = this.sizes;
    this.progress(`reconnection: ${resuming} baseline clients in ${resumingRooms} rooms`);
    const baselineRoom = (i: number) => `resume-${i % resumingRooms}`;
    const baseline = await this.resumeTwice(
      'baseline',
      this.baselineEntries(resumingRooms, baselineRoom),
      this.baselineEntries(resuming, baselineRoom),
    );
    this.progress(`reconnection: ${resuming} Conclave clients in ${resumingRooms} rooms`);
    const rooms = await Promise.all(Array.from({ length: resumingRooms }, (_, i) => this.room(`bench-resume-${i}`)));
    // Half resume as the OWT JavaScript SDK (ticket string, pending replayed), half as a native 1.2 client (buffer in the answer).
    const sdkOf = (i: number): BenchSdk => (i % 2 === 0 ? BenchSdks.javascript : BenchSdks.native);
    const conclave = await this.resumeTwice(
      'conclave',
      await this.tokens(resumingRooms, (i) => rooms[i]!),
      await this.tokens(resuming, (i) => rooms[i % resumingRooms]!, sdkOf),
    );
    return { baseline, conclave };
  }

  /**
   * 5. With --profile, and last: the server's heap before and after it takes as many participants as
   * (2) held. Once V8 has taken a heap snapshot it follows every object its collector moves, which
   * made each later run's garbage collection up to ten times as costly: no run is measured after it.
   */
  async heldHeap(): Promise<HeldHeap> {
    if (this.profileDir === undefined) throw new Error('heap snapshots are taken with --profile only');
    const { participants, participantRooms } = this.sizes;
    const group = 'heap';
    const snapshots = { before: `${this.profileDir}/held-before.heapsnapshot`, after: `${this.profileDir}/held-after.heapsnapshot` };
    await this.processes.server.call('heapSnapshot', snapshots.before);
    // Made after the first snapshot, so that what admitting the clients costs (their tokens too) is counted.
    const entries = await this.participantEntries('bench-heap');
    this.progress(`heap: ${participants} Conclave clients in ${participantRooms} rooms, between two heap snapshots`);
    const url = this.url('conclave');
    const held = this.succeeded(await this.onGenerators(entries, (generator, part) => generator.call('hold', group, url, part, this.generatorConcurrency)));
    await this.processes.server.call('heapSnapshot', snapshots.after);
    await this.onAll((generator) => generator.call('release', group, this.generatorConcurrency));
    return { ...snapshots, held };
  }

  /** The same clients resume twice: once in quiet rooms, for the latency alone; once while their rooms talk, for the audit. */
  private async resumeTwice(target: Target, senderEntries: Entry[], entries: Entry[]): Promise<Resumption> {
    const url = this.url(target);
    const group = 'resuming';
    const senders = 'senders';
    const [talker] = this.processes.generators;
    const resume = () => this.onAll((generator) => generator.call('resume', group, url, this.generatorConcurrency));
    await talker!.call('hold', senders, url, senderEntries, this.generatorConcurrency);
    const held = await this.onGenerators(entries, (generator, part) => generator.call('hold', group, url, part, this.generatorConcurrency));
    const quiet = await this.measure(target, 'relogin', resume);
    await talker!.call('startStream', senders, STREAM_INTERVAL_MS);
    const talking = await this.measure(target, 'relogin-while-talking', resume);
    const streamed = await talker!.call('stopStream', senders, STREAM_MINIMUM);
    const audit = mergeAudits(
      await Promise.all(this.processes.generators.map((generator) => generator.call('audit', group, streamed.acked, AUDIT_TIMEOUT_MS))),
    );
    await this.onAll((generator) => generator.call('release', group, this.generatorConcurrency));
    await talker!.call('release', senders, this.generatorConcurrency);
    const sent = Object.values(streamed.acked).reduce((sum, messages) => sum + messages.length, 0);
    return { held: this.succeeded(held), quiet, talking, delivery: { ...audit, sent, sendFailures: streamed.failures } };
  }

  private async cycle(target: Target, label: string, entries: Entry[], baselineProfile?: BaselineProfile): Promise<Throughput> {
    const url = this.url(target);
    return this.measure(
      target,
      label,
      () => this.onGenerators(entries, (generator, part) => generator.call('cycle', url, part, this.generatorConcurrency)),
      baselineProfile,
    );
  }

  /** `entriesOf` runs after the first memory sample, so what admitting the clients costs (their tokens too) is counted. */
  private async hold(target: Target, entriesOf: () => Entry[] | Promise<Entry[]>): Promise<Holding> {
    const group = 'participants';
    const url = this.url(target);
    const before = await this.usage(target, true);
    const entries = await entriesOf();
    const ramp = await this.measure(target, 'ramp', () =>
      this.onGenerators(entries, (generator, part) => generator.call('hold', group, url, part, this.generatorConcurrency)),
    );
    const after = await this.usage(target, true);
    const held = ramp.succeeded;
    this.progress(`participants: ${held} held by ${target}; logins meanwhile`);
    const loginWhileHolding = await this.cycle(target, 'login-while-holding', await this.loginEntries(target, this.sizes.loginsWhileHolding, 'bench-login-holding'));
    const release = await this.measure(target, 'release', () =>
      this.onAll((generator) => generator.call('release', group, this.generatorConcurrency)),
    );
    return {
      ramp,
      held,
      before,
      after,
      rssPerParticipantBytes: (after.rssBytes - before.rssBytes) / held,
      heapPerParticipantBytes: (after.heapUsedBytes - before.heapUsedBytes) / held,
      loginWhileHolding,
      release,
    };
  }

  private async fanoutTo(target: Target, entries: Entry[]): Promise<Fanout> {
    const group = 'fanout';
    const url = this.url(target);
    const before = await this.usage(target, true);
    const join = await this.measure(target, 'fanout-join', () =>
      this.onGenerators(entries, (generator, part) => generator.call('hold', group, url, part, this.generatorConcurrency)),
    );
    const after = await this.usage(target, true);
    const receivers = join.succeeded;
    const {
      result: { lastArrivalsMs, incomplete },
      before: usageBefore,
      after: usageAfter,
    } = await this.profiled(target, 'fanout', () => between(() => this.usage(target, false), () => this.repeatFanout(group, receivers)), {
      sameWorkAsConclave: true,
    });
    await this.onAll((generator) => generator.call('release', group, this.generatorConcurrency));
    return {
      join,
      receivers,
      rssPerReceiverBytes: (after.rssBytes - before.rssBytes) / receivers,
      heapPerReceiverBytes: (after.heapUsedBytes - before.heapUsedBytes) / receivers,
      repeats: this.sizes.fanoutRepeats,
      incomplete,
      lastArrivalMs: summarize(lastArrivalsMs),
      serverCpuPerTextMs: (usageAfter.cpuMs - usageBefore.cpuMs) / (this.sizes.fanoutRepeats + 1),
    };
  }

  /** Repeat 0 warms the path up and is not counted; senders rotate so none nears the event rate limit. */
  private async repeatFanout(group: string, receivers: number): Promise<{ lastArrivalsMs: number[]; incomplete: number }> {
    const { generators } = this.processes;
    const lastArrivalsMs: number[] = [];
    let incomplete = 0;
    for (let repeat = 0; repeat <= this.sizes.fanoutRepeats; repeat++) {
      const message = `fanout#${repeat}`;
      const sender = generators[repeat % generators.length]!;
      const [{ sentAt }, ...arrivals] = await Promise.all([
        sender.call('send', group, Math.floor(repeat / generators.length), message),
        ...generators.map((generator) => generator.call('arrival', group, message, ARRIVAL_TIMEOUT_MS)),
      ]);
      if (repeat === 0) continue;
      const received = arrivals.reduce((sum, arrival) => sum + arrival.received, 0);
      if (received < receivers) incomplete += 1;
      lastArrivalsMs.push(Math.max(...arrivals.map((arrival) => arrival.lastAt)) - sentAt);
    }
    return { lastArrivalsMs, incomplete };
  }

  /**
   * Runs `work` and reports it with the CPU the server under test and the generators spent meanwhile;
   * profiles that server meanwhile when asked to (see `profiled`).
   */
  private async measure(target: Target, label: string, work: () => Promise<RunResult[]>, baselineProfile?: BaselineProfile): Promise<Throughput> {
    const generators = this.processes.generators;
    const cpu = async () => ({
      server: (await this.usage(target, false)).cpuMs,
      generators: (await Promise.all(generators.map((generator) => generator.call('usage')))).reduce((sum, usage) => sum + usage.cpuMs, 0),
    });
    const { result: results, before, after } = await this.profiled(target, label, () => between(cpu, work), baselineProfile);
    const latenciesMs = results.flatMap((result) => result.latenciesMs);
    const failures = results.reduce<Record<string, number>>((merged, result) => mergeFailures(merged, result.failures), {});
    const wallMs = Math.max(...results.map((result) => result.endedAt)) - Math.min(...results.map((result) => result.startedAt));
    const clients = latenciesMs.length + Object.values(failures).reduce((sum, count) => sum + count, 0);
    return {
      clients,
      succeeded: latenciesMs.length,
      failures,
      perSecond: (latenciesMs.length / wallMs) * 1_000,
      latencyMs: summarize(latenciesMs),
      serverCpuPercent: ((after.server - before.server) / wallMs) * 100,
      generatorsCpuPercent: ((after.generators - before.generators) / wallMs) * 100,
    };
  }

  /**
   * Starting and writing a profile fall outside `work`, so a reading taken inside it leaves them out.
   * The baseline is profiled only where it did Conclave's work, under the same label with its prefix.
   */
  private async profiled<T>(target: Target, label: string, work: () => Promise<T>, baselineProfile?: BaselineProfile): Promise<T> {
    if (this.profileDir === undefined || (target === 'baseline' && !baselineProfile?.sameWorkAsConclave)) return work();
    const server = target === 'conclave' ? this.processes.server : this.processes.baseline;
    await server.call('startProfile');
    try {
      return await work();
    } finally {
      await server.call('stopProfile', `${this.profileDir}/${target === 'conclave' ? '' : BASELINE_PROFILE_PREFIX}${label}.cpuprofile`);
    }
  }

  private succeeded(results: RunResult[]): number {
    return results.reduce((sum, result) => sum + result.latenciesMs.length, 0);
  }

  private usage(target: Target, collectGarbage: boolean): Promise<ProcessUsage> {
    return target === 'conclave'
      ? this.processes.server.call('usage', collectGarbage)
      : this.processes.baseline.call('usage', collectGarbage);
  }

  private url(target: Target): string {
    return target === 'conclave' ? this.urls.portal : this.urls.baseline;
  }

  /** Deals `entries` to the generators and runs `work` on each hand at once. */
  private onGenerators(entries: Entry[], work: (generator: Child<LoadMethods>, entries: Entry[]) => Promise<RunResult>): Promise<RunResult[]> {
    const { generators } = this.processes;
    const hands = deal(entries, generators.length);
    return Promise.all(generators.map((generator, index) => work(generator, hands[index]!)));
  }

  private onAll(work: (generator: Child<LoadMethods>) => Promise<RunResult>): Promise<RunResult[]> {
    return Promise.all(this.processes.generators.map(work));
  }

  private baselineEntries(count: number, roomOf: (index: number) => string, logsIn = false): Entry[] {
    return Array.from({ length: count }, (_, i) => ({ target: 'baseline', room: roomOf(i), logsIn }));
  }

  private async room(name: string): Promise<string> {
    return (await this.management.createRoom(name))._id;
  }

  /** The clients of (2), over as many new rooms as it names, each with its join token. */
  private async participantEntries(roomPrefix: string): Promise<Entry[]> {
    const { participants, participantRooms } = this.sizes;
    const rooms = await Promise.all(Array.from({ length: participantRooms }, (_, i) => this.room(`${roomPrefix}-${i}`)));
    return this.tokens(participants, (i) => rooms[i % participantRooms]!);
  }

  /** Clients of one new room (Conclave) or of the baseline's lobby. */
  private async loginEntries(target: Target, count: number, roomName: string): Promise<Entry[]> {
    if (target === 'baseline') return this.baselineEntries(count, () => 'lobby');
    const room = await this.room(roomName);
    return this.tokens(count, () => room);
  }

  /** Join tokens made beforehand through the management API, as an application server would. */
  private async tokens(count: number, roomOf: (index: number) => string, sdkOf: (index: number) => BenchSdk = () => BenchSdks.javascript): Promise<Entry[]> {
    const entries: Entry[] = new Array(count);
    await inPool(Array.from({ length: count }, (_, i) => i), TOKEN_CONCURRENCY, async (i) => {
      const room = roomOf(i);
      entries[i] = { target: 'conclave', room, token: await this.management.createToken(room, `user-${i}`, ROLE), sdk: sdkOf(i) };
    });
    return entries;
  }
}

/**
 * `npm run bench -- --media`: one publisher's synthetic video and audio forwarded to N subscribers
 * on 127.0.0.1, through a bare `dgram` relay, a bare werift forwarder and the embedded Conclave
 * server on each media engine (`webrtc.engine`), the same load in the same invocation; each
 * forwarder in a child process of its own, publisher and subscribers in generator processes.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ManagementClient } from '../src/client/management-client.js';
import type { ConfigOverrides } from '../src/config/config.js';
import { Child } from './ipc.js';
import { load, mediaKinds, type MediaLoadMethods, type Reception, type RelayMethods, type SentRanges } from './media-api.js';
import { printProfiles } from './profile.js';
import { formatTable, runRecord } from './report.js';
import { deal } from './scenarios.js';
import type { ServerMethods } from './server.js';
import { summarize, type LatencySummary } from './stats.js';
import type { ProcessUsage } from './usage.js';

export interface MediaSizes {
  /** Subscriber counts, ascending: each run adds subscribers to the previous one's. */
  subscribers: number[];
  /** After subscribers join, before measuring: keyframe requests, NACK bursts and JIT warm-up settle. */
  warmupMs: number;
  windowMs: number;
  /** After the window, for packets still in flight. */
  graceMs: number;
  /** Past the last count, Conclave's subscribers grow by this many until a packet is lost; 0: no search. */
  searchStep: number;
  searchLimit: number;
}

export const mediaFull: MediaSizes = { subscribers: [1, 10, 50], warmupMs: 3_000, windowMs: 10_000, graceMs: 500, searchStep: 25, searchLimit: 200 };
export const mediaQuick: MediaSizes = { subscribers: [1, 10], warmupMs: 1_500, windowMs: 4_000, graceMs: 500, searchStep: 0, searchLimit: 0 };

export const forwarders = ['dgram', 'werift', 'conclave', 'conclaveDatachannel'] as const;
export type Forwarder = (typeof forwarders)[number];

/** The Conclave servers, one per media engine. */
const engineOf = { conclave: 'werift', conclaveDatachannel: 'datachannel' } as const;
type ConclaveForwarder = keyof typeof engineOf;
const conclaveForwarders = Object.keys(engineOf) as ConclaveForwarder[];

function isConclave(forwarder: Forwarder): forwarder is ConclaveForwarder {
  return forwarder in engineOf;
}

const forwarderNames: Record<Forwarder, string> = {
  dgram: 'dgram relay',
  werift: 'werift bare',
  conclave: 'Conclave on werift',
  conclaveDatachannel: 'Conclave on datachannel',
};

/** One forwarder with N subscribers, over one measurement window. */
export interface MediaRun {
  subscribers: number;
  /** Subscribers whose set-up failed (they are not counted anywhere else). */
  setupFailures: number;
  windowMs: number;
  /** Packets the publisher sent in the window (each to be forwarded to every subscriber). */
  sent: number;
  forwarded: number;
  forwardedPerSecond: number;
  lost: number;
  nacked: number;
  /** Subscribers that received nothing in the window. */
  silent: number;
  forwarderCpuPercent: number;
  cpuPerPacketUs: number;
  packetsPerSecondPerCore: number;
  cpuPerSubscriberPercent: number;
  generatorsCpuPercent: number;
  delayMs: LatencySummary;
  rssPerSubscriberBytes: number;
  heapPerSubscriberBytes: number;
  /** The one-minute load average at the end of the window. */
  loadAverage: number;
}

export type MediaResults = Record<Forwarder, MediaRun[]>;

/** A Conclave server's runs past the fixed counts, up to the first that lost a packet (or the limit). */
export interface MediaSearch {
  runs: MediaRun[];
  /** The most subscribers a run held without losing a packet or failing a set-up. */
  largestWithoutLoss: number;
  /** Why the search stopped. */
  stoppedBy: string;
}

/** A Conclave server under test, and how to reach it. */
interface ConclaveServer {
  process: Child<ServerMethods>;
  management: ManagementClient;
  portalUrl: string;
}

interface Processes {
  servers: Record<ConclaveForwarder, ConclaveServer>;
  relay: Child<RelayMethods>;
  generators: Child<MediaLoadMethods>[];
}

const GENERATORS = 2;
const ROLE = 'presenter';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** Sets a forwarder up: the publisher, then subscribers added `count` at a time (why those that failed did). */
interface Setup {
  publish(): Promise<void>;
  addSubscribers(count: number): Promise<string[]>;
}

class MediaBench {
  constructor(
    private readonly processes: Processes,
    private readonly sizes: MediaSizes,
    private readonly progress: (line: string) => void,
    private readonly profileDir: string | undefined,
  ) {}

  /** The fixed counts; with `search`, then more until a packet is lost. */
  async run(forwarder: Forwarder, search: boolean): Promise<{ runs: MediaRun[]; search?: MediaSearch }> {
    const setup = await this.setupOf(forwarder);
    const runs: MediaRun[] = [];
    try {
      await setup.publish();
      // Start-up garbage is collected and the publisher's stream settled before memory is counted.
      await delay(this.sizes.warmupMs);
      const base = await this.usage(forwarder, true);
      let subscribers = 0;
      const failures: string[] = [];
      const step = async (count: number): Promise<MediaRun> => {
        this.progress(`${forwarderNames[forwarder]}: ${count} subscriber(s)`);
        const failed = await setup.addSubscribers(count - subscribers);
        for (const reason of failed) this.progress(`${forwarderNames[forwarder]}: a subscriber could not be set up: ${reason}`);
        failures.push(...failed);
        subscribers = count;
        const memory = await this.usage(forwarder, true);
        await delay(this.sizes.warmupMs);
        const profiled = isConclave(forwarder) && this.profileDir !== undefined && count === this.sizes.subscribers.at(-1);
        const run = await this.measure(forwarder, count, failures.length);
        if (profiled) await this.profile(forwarder, count);
        run.rssPerSubscriberBytes = (memory.rssBytes - base.rssBytes) / (count - failures.length);
        run.heapPerSubscriberBytes = (memory.heapUsedBytes - base.heapUsedBytes) / (count - failures.length);
        this.progress(
          `${forwarderNames[forwarder]}: ${count} subscriber(s): ${run.cpuPerPacketUs.toFixed(1)} µs a packet, ` +
            `delay p50 ${run.delayMs.p50.toFixed(2)} ms p99 ${run.delayMs.p99.toFixed(2)} ms, ${run.lost} lost (${run.silent} subscribers got nothing), ${run.nacked} NACKed, ` +
            `generators ${run.generatorsCpuPercent.toFixed(0)} % of a core`,
        );
        return run;
      };
      for (const count of this.sizes.subscribers) runs.push(await step(count));
      if (!search || this.sizes.searchStep === 0) return { runs };
      const searched: MediaRun[] = [];
      const held = (run: MediaRun) => run.lost === 0 && run.setupFailures === 0;
      let largestWithoutLoss = Math.max(0, ...runs.filter(held).map((run) => run.subscribers));
      let stoppedBy = `the limit of ${this.sizes.searchLimit} subscribers`;
      if (!held(runs.at(-1)!)) return { runs, search: { runs: searched, largestWithoutLoss, stoppedBy: 'a loss or a failed set-up at the last fixed count' } };
      while (subscribers + this.sizes.searchStep <= this.sizes.searchLimit) {
        const run = await step(subscribers + this.sizes.searchStep);
        searched.push(run);
        if (!held(run)) {
          stoppedBy = `${run.lost} packets lost and ${run.setupFailures} set-ups failed at ${run.subscribers} subscribers`;
          break;
        }
        largestWithoutLoss = run.subscribers;
      }
      return { runs, search: { runs: searched, largestWithoutLoss, stoppedBy } };
    } finally {
      await Promise.all([this.processes.relay.call('closeAll'), ...this.processes.generators.map((generator) => generator.call('closeAll'))]);
    }
  }

  private async setupOf(forwarder: Forwarder): Promise<Setup> {
    const { relay, generators } = this.processes;
    const publisher = generators[0]!;
    /** Subscribers are dealt to the generators; each does its part at once. */
    const spread = async (count: number, work: (generator: Child<MediaLoadMethods>, part: number) => Promise<string[]>) => {
      const hands = deal(Array.from({ length: count }, (_, i) => i), generators.length);
      const failures = await Promise.all(generators.map((generator, i) => (hands[i]!.length > 0 ? work(generator, hands[i]!.length) : [])));
      return failures.flat();
    };
    if (forwarder === 'dgram') {
      return {
        publish: async () => publisher.call('udpPublish', await relay.call('udpRelay', [])),
        addSubscribers: (count) =>
          spread(count, async (generator, part) => {
            await relay.call('udpRelay', await generator.call('udpSubscribers', part));
            return [];
          }),
      };
    }
    if (forwarder === 'werift') {
      return {
        publish: async () => {
          const [failure] = await publisher.call('peerAnswers', await relay.call('weriftAnswer', 'publisher', await publisher.call('peerOffers', 'publisher', 1)));
          if (failure !== undefined) throw new Error(`the publisher could not connect to the bare werift forwarder: ${failure}`);
        },
        addSubscribers: async (count) => {
          const failures = await spread(count, async (generator, part) =>
            generator.call('peerAnswers', await relay.call('weriftAnswer', 'subscriber', await generator.call('peerOffers', 'subscriber', part))),
          );
          // The clients wait for their side only: the forwarder's side is reported, as a subscriber it never connects stays silent.
          this.progress(`werift bare: the forwarder's peer connections by state: ${JSON.stringify(await relay.call('weriftStates'))}`);
          return failures;
        },
      };
    }
    const { management, portalUrl } = this.processes.servers[forwarder];
    const room = (await management.createRoom(`bench-media-${Date.now()}`))._id;
    let publication = '';
    let joined = 0;
    const tokens = (count: number) => Promise.all(Array.from({ length: count }, () => management.createToken(room, `subscriber-${joined++}`, ROLE)));
    return {
      publish: async () => {
        publication = await publisher.call('conclavePublish', portalUrl, await management.createToken(room, 'publisher', ROLE));
      },
      addSubscribers: (count) => spread(count, async (generator, part) => generator.call('conclaveSubscribe', portalUrl, await tokens(part), publication)),
    };
  }

  /** A window of its own, after the measured one: the profiler's sampling costs CPU the figures should not include. */
  private async profile(forwarder: ConclaveForwarder, subscribers: number): Promise<void> {
    this.progress(`${forwarderNames[forwarder]}: ${subscribers} subscriber(s): CPU profile`);
    const server = this.processes.servers[forwarder].process;
    await server.call('startProfile');
    await delay(this.sizes.windowMs);
    await server.call('stopProfile', `${this.profileDir}/media-${engineOf[forwarder]}-${subscribers}.cpuprofile`);
  }

  private async measure(forwarder: Forwarder, subscribers: number, setupFailures: number): Promise<MediaRun> {
    const { generators } = this.processes;
    const publisher = generators[0]!;
    const generatorsCpu = async () => (await Promise.all(generators.map((generator) => generator.call('usage')))).reduce((sum, usage) => sum + usage.cpuMs, 0);
    await Promise.all(generators.map((generator) => generator.call('record')));
    const before = { forwarder: (await this.usage(forwarder, false)).cpuMs, generators: await generatorsCpu(), at: performance.now() };
    await publisher.call('markStart');
    await delay(this.sizes.windowMs);
    const ranges: SentRanges = await publisher.call('markEnd');
    const after = { forwarder: (await this.usage(forwarder, false)).cpuMs, generators: await generatorsCpu(), at: performance.now() };
    const loadAverage = loadavg()[0]!;
    await delay(this.sizes.graceMs);
    const receptions: Reception[] = await Promise.all(generators.map((generator) => generator.call('collect', ranges)));
    const wallMs = after.at - before.at;
    const cpuMs = after.forwarder - before.forwarder;
    const forwarded = receptions.reduce((sum, reception) => sum + reception.received, 0);
    const sent = mediaKinds.reduce((sum, kind) => sum + ranges[kind][1] - ranges[kind][0], 0);
    const cpuPerPacketUs = (cpuMs * 1_000) / Math.max(forwarded, 1);
    const connected = subscribers - setupFailures;
    return {
      subscribers,
      setupFailures,
      windowMs: wallMs,
      sent,
      forwarded,
      forwardedPerSecond: (forwarded / wallMs) * 1_000,
      lost: receptions.reduce((sum, reception) => sum + reception.lost, 0),
      nacked: receptions.reduce((sum, reception) => sum + reception.nacked, 0),
      silent: receptions.reduce((sum, reception) => sum + reception.silent, 0),
      forwarderCpuPercent: (cpuMs / wallMs) * 100,
      cpuPerPacketUs,
      packetsPerSecondPerCore: 1_000_000 / cpuPerPacketUs,
      cpuPerSubscriberPercent: (cpuMs / wallMs / connected) * 100,
      generatorsCpuPercent: ((after.generators - before.generators) / wallMs) * 100,
      delayMs: summarize(receptions.flatMap((reception) => reception.delaysMs)),
      rssPerSubscriberBytes: 0,
      heapPerSubscriberBytes: 0,
      loadAverage,
    };
  }

  private usage(forwarder: Forwarder, collectGarbage: boolean): Promise<ProcessUsage> {
    return isConclave(forwarder) ? this.processes.servers[forwarder].process.call('usage', collectGarbage) : this.processes.relay.call('usage', collectGarbage);
  }
}

type MediaRow = Record<'measure' | Forwarder | 'weriftToDgram' | 'conclaveToWerift' | 'datachannelToWerift', string>;

const mediaHeader: MediaRow = {
  measure: 'measure',
  ...forwarderNames,
  weriftToDgram: 'werift/dgram',
  conclaveToWerift: 'Conclave on werift/werift',
  datachannelToWerift: 'Conclave on datachannel/on werift',
};

export function mediaRowsOf(results: MediaResults): MediaRow[] {
  const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '');
  const rows: MediaRow[] = [];
  /** What one more forwarded packet a second costs, from the previous count to this one: fixed costs (the publisher's ingest, timers) drop out. */
  const marginalUs = (runs: MediaRun[], index: number) => {
    const [previous, run] = [runs[index - 1], runs[index]!];
    if (!previous) return Number.NaN;
    return (((run.forwarderCpuPercent - previous.forwarderCpuPercent) / 100) * 1_000_000) / (run.forwardedPerSecond - previous.forwardedPerSecond);
  };
  results.conclave.forEach((_, index) => {
    const runs = Object.fromEntries(forwarders.map((forwarder) => [forwarder, results[forwarder][index]!])) as Record<Forwarder, MediaRun>;
    const marginal = Object.fromEntries(forwarders.map((forwarder) => [forwarder, marginalUs(results[forwarder], index)])) as Record<Forwarder, number>;
    const row = (measure: string, show: (run: MediaRun, forwarder: Forwarder) => string, value?: (run: MediaRun, forwarder: Forwarder) => number): MediaRow => {
      const ratioOf = (a: Forwarder, b: Forwarder) => (value ? ratio(value(runs[a], a), value(runs[b], b)) : '');
      return {
        measure: `${runs.conclave.subscribers} sub.: ${measure}`,
        ...(Object.fromEntries(forwarders.map((forwarder) => [forwarder, show(runs[forwarder], forwarder)])) as Record<Forwarder, string>),
        weriftToDgram: ratioOf('werift', 'dgram'),
        conclaveToWerift: ratioOf('conclave', 'werift'),
        datachannelToWerift: ratioOf('conclaveDatachannel', 'conclave'),
      };
    };
    const marginalOf = (_: MediaRun, forwarder: Forwarder) => marginal[forwarder];
    rows.push(
      row('CPU per forwarded packet (µs)', (run) => run.cpuPerPacketUs.toFixed(1), (run) => run.cpuPerPacketUs),
      ...(index > 0 ? [row(`  each added packet, from ${results.conclave[index - 1]!.subscribers} sub. (µs)`, (run, forwarder) => marginalOf(run, forwarder).toFixed(1), marginalOf)] : []),
      row('forwarded packets/s per core', (run) => run.packetsPerSecondPerCore.toFixed(0), (run) => run.packetsPerSecondPerCore),
      row('CPU per subscriber (% of a core)', (run) => run.cpuPerSubscriberPercent.toFixed(2), (run) => run.cpuPerSubscriberPercent),
      row('forwarder CPU (% of a core)', (run) => run.forwarderCpuPercent.toFixed(1)),
      row('added delay p50 / p99 (ms)', (run) => `${run.delayMs.p50.toFixed(2)} / ${run.delayMs.p99.toFixed(2)}`, (run) => run.delayMs.p99),
      row('lost / forwarded packets (silent subscribers)', (run) => `${run.lost} / ${run.forwarded}${run.silent > 0 ? ` (${run.silent})` : ''}`),
      row('subscribers whose set-up failed', (run) => String(run.setupFailures)),
      row('sequence numbers in NACKs', (run) => String(run.nacked)),
      row('RSS / heap per subscriber (KB)', (run) => `${(run.rssPerSubscriberBytes / 1_024).toFixed(0)} / ${(run.heapPerSubscriberBytes / 1_024).toFixed(0)}`, (run) => run.rssPerSubscriberBytes),
      row('generators CPU (% of a core)', (run) => run.generatorsCpuPercent.toFixed(0)),
    );
  });
  return rows;
}

export interface MediaOptions {
  mode: 'full' | 'quick';
  profile: boolean;
  fileLimit: number;
  serverOverrides: ConfigOverrides;
  resultsDir: string;
  stamp: string;
  log: (line: string) => void;
}

export async function runMediaBench(options: MediaOptions): Promise<void> {
  const { mode, fileLimit, log } = options;
  const sizes = mode === 'quick' ? mediaQuick : mediaFull;
  const profileDir = options.profile ? `${options.resultsDir}profiles-${options.stamp}-media` : undefined;
  const startedAt = new Date();
  const loadAverageBefore = loadavg();
  log(`media ${mode} run; load average ${loadAverageBefore.map((value) => value.toFixed(2)).join(' ')}; subscribers ${sizes.subscribers.join(', ')}`);
  const startServer = (forwarder: ConclaveForwarder) => {
    const overrides = { ...options.serverOverrides, webrtc: { ...options.serverOverrides.webrtc, engine: engineOf[forwarder] } };
    return Child.start<ServerMethods>(`server-${engineOf[forwarder]}`, here('./server.ts'), { overrides }, { fileLimit, nodeFlags: ['--expose-gc'] });
  };
  const [serverProcesses, relay, generators] = await Promise.all([
    Promise.all(conclaveForwarders.map(startServer)),
    Child.start<RelayMethods>('relay', here('./relay.ts'), {}, { fileLimit, nodeFlags: ['--expose-gc'] }),
    Promise.all(Array.from({ length: GENERATORS }, (_, i) => Child.start<MediaLoadMethods>(`media-${i}`, here('./media-load.ts'), {}, { fileLimit }))),
  ]);
  try {
    const servers = {} as Record<ConclaveForwarder, ConclaveServer>;
    for (const [index, forwarder] of conclaveForwarders.entries()) {
      const process = serverProcesses[index]!;
      const info = await process.call('describe');
      servers[forwarder] = { process, management: new ManagementClient({ url: info.managementUrl, serviceId: info.serviceId, key: info.key }), portalUrl: info.portalUrl };
    }
    const bench = new MediaBench({ servers, relay, generators }, sizes, log, profileDir);
    const results = {} as MediaResults;
    const searches: Partial<Record<ConclaveForwarder, MediaSearch>> = {};
    for (const forwarder of forwarders) {
      const outcome = await bench.run(forwarder, isConclave(forwarder));
      results[forwarder] = outcome.runs;
      if (isConclave(forwarder) && outcome.search) searches[forwarder] = outcome.search;
    }
    const searched = Object.values(searches).flatMap((search) => search.runs);
    const duringRuns = [...forwarders.flatMap((forwarder) => results[forwarder]), ...searched].map((run) => run.loadAverage);
    const environment = {
      ...runRecord(mode, startedAt, loadAverageBefore),
      generators: GENERATORS,
      serverOverrides: options.serverOverrides,
      sizes,
      load,
    };
    console.log(formatTable(mediaRowsOf(results), mediaHeader));
    console.log(
      `\nmedia ${mode} run, ${environment.cpus} cores; one publisher: video ${load.video.rate} packets/s of ${load.video.bytes} bytes, ` +
        `audio ${load.audio.rate} packets/s of ${load.audio.bytes} bytes; ${sizes.windowMs / 1_000} s windows; ` +
        `load average before ${loadAverageBefore[0]!.toFixed(2)}, during the windows ${Math.min(...duringRuns).toFixed(2)}–${Math.max(...duringRuns).toFixed(2)}, after ${environment.loadAverageAfter[0]!.toFixed(2)}.`,
    );
    await mkdir(options.resultsDir, { recursive: true });
    const file = `${options.resultsDir}${options.stamp}-media.json`;
    for (const [forwarder, search] of Object.entries(searches) as Array<[ConclaveForwarder, MediaSearch]>) {
      const held = search.runs.map((run) => `${run.subscribers}: ${run.lost} lost, ${run.forwarderCpuPercent.toFixed(0)} % server CPU, delay p99 ${run.delayMs.p99.toFixed(1)} ms`);
      console.log(
        `largest subscriber count ${forwarderNames[forwarder]} held without loss: ${search.largestWithoutLoss} (search stopped by ${search.stoppedBy}${held.length > 0 ? `; ${held.join('; ')}` : ''})`,
      );
    }
    await writeFile(file, `${JSON.stringify({ environment, results, searches }, null, 2)}\n`);
    console.log(`results: ${file}`);
  } finally {
    await Promise.all([...serverProcesses.map((server) => server.stop()), relay.stop(), ...generators.map((generator) => generator.stop())]);
  }
  if (profileDir) await printProfiles(profileDir, 'media run');
}

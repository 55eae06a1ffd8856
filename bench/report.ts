/** The bench's one table and its JSON record, with ratios to the baseline and the targets. */
import { availableParallelism, loadavg } from 'node:os';
import { BenchSdks, type BenchSdk, type DeliveryCounts } from './load-api.js';
import { LOGIN_ROUNDS, type Fanout, type Holding, type LoginRuns, type Pair, type Resumption, type Sizes, type Throughput } from './scenarios.js';

const sdkNames: Record<BenchSdk, string> = {
  [BenchSdks.javascript]: 'JS SDK',
  [BenchSdks.native]: 'native 1.2',
};

/** The signaling targets (2 cores). */
export const targets = {
  loginsPerSecond: 1_000,
  loginP99Ms: 50,
  baselineRateShare: 0.85,
  memoryPerParticipantBytes: 30 * 1_024,
  fanoutP99Ms: 100,
  reloginP99Ms: 20,
};

export interface Results {
  login: LoginRuns;
  participants: Pair<Holding>;
  fanout: Pair<Fanout>;
  reconnection: Pair<Resumption>;
}

/** When and on what a run ran, as every bench records it. */
export interface RunRecord {
  mode: 'full' | 'quick';
  startedAt: string;
  finishedAt: string;
  node: string;
  cpus: number;
  loadAverageBefore: number[];
  loadAverageAfter: number[];
}

/** The record of a run that ends now. */
export function runRecord(mode: RunRecord['mode'], startedAt: Date, loadAverageBefore: number[]): RunRecord {
  return {
    mode,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    loadAverageBefore,
    loadAverageAfter: loadavg(),
  };
}

export interface Environment extends RunRecord {
  fileLimit: number;
  generators: number;
  /** What the server under test runs with besides the production defaults. */
  serverOverrides: unknown;
  sizes: Sizes;
  /** Under --profile, Conclave's runs, and the baseline's where it does their work, run slower. */
  profiled: boolean;
}

/** The server's CPU time per client served, in microseconds: steadier than a rate on a shared machine. */
function cpuPerCycleUs(run: Throughput): number {
  return (run.serverCpuPercent * 10_000) / run.perSecond;
}

export function ratiosOf(results: Results): Record<string, number> {
  const { login, participants, fanout, reconnection } = results;
  return {
    loginsPerSecond: login.conclave.perSecond / login.baseline.perSecond,
    loginsPerSecondToMirror: login.conclave.perSecond / login.mirror.perSecond,
    cpuPerLoginToMirror: cpuPerCycleUs(login.conclave) / cpuPerCycleUs(login.mirror),
    loginP50: login.conclave.latencyMs.p50 / login.baseline.latencyMs.p50,
    loginP99: login.conclave.latencyMs.p99 / login.baseline.latencyMs.p99,
    rssPerParticipant: participants.conclave.rssPerParticipantBytes / participants.baseline.rssPerParticipantBytes,
    heapPerParticipant: participants.conclave.heapPerParticipantBytes / participants.baseline.heapPerParticipantBytes,
    loginP99WhileHolding:
      participants.conclave.loginWhileHolding.latencyMs.p99 / participants.baseline.loginWhileHolding.latencyMs.p99,
    heapPerMemberOfBigRoom: fanout.conclave.heapPerReceiverBytes / fanout.baseline.heapPerReceiverBytes,
    fanoutP50: fanout.conclave.lastArrivalMs.p50 / fanout.baseline.lastArrivalMs.p50,
    fanoutP99: fanout.conclave.lastArrivalMs.p99 / fanout.baseline.lastArrivalMs.p99,
    fanoutCpu: fanout.conclave.serverCpuPerTextMs / fanout.baseline.serverCpuPerTextMs,
    reloginP50: reconnection.conclave.quiet.latencyMs.p50 / reconnection.baseline.quiet.latencyMs.p50,
    reloginP99: reconnection.conclave.quiet.latencyMs.p99 / reconnection.baseline.quiet.latencyMs.p99,
    reloginWhileTalkingP99: reconnection.conclave.talking.latencyMs.p99 / reconnection.baseline.talking.latencyMs.p99,
  };
}

type Row = {
  measure: string;
  conclave: string;
  baseline: string;
  ratio: string;
  target: string;
  met: string;
};

const ms = (value: number) => (value < 10 ? value.toFixed(2) : value.toFixed(1));
const kb = (bytes: number) => (bytes / 1_024).toFixed(1);
const times = (ratio: number) => `${ratio.toFixed(2)}×`;
const verdict = (met: boolean) => (met ? 'yes' : 'NO');
const percentiles = (summary: { p50: number; p99: number }) => `${ms(summary.p50)} / ${ms(summary.p99)}`;

function failuresOf(results: Results): number {
  const runs: Throughput[] = [
    results.login.conclave,
    results.participants.conclave.ramp,
    results.participants.conclave.loginWhileHolding,
    results.participants.conclave.release,
    results.fanout.conclave.join,
    results.reconnection.conclave.quiet,
    results.reconnection.conclave.talking,
  ];
  return runs.reduce((sum, run) => sum + run.clients - run.succeeded, 0);
}

export function rowsOf(results: Results): Row[] {
  const { login, participants, fanout, reconnection } = results;
  const ratios = ratiosOf(results);
  const rss = participants.conclave.rssPerParticipantBytes;
  const failed = failuresOf(results);
  return [
    {
      measure: `login + logout, ${login.conclave.clients} clients (/s, median of ${LOGIN_ROUNDS} rounds)`,
      conclave: login.conclave.perSecond.toFixed(0),
      baseline: login.baseline.perSecond.toFixed(0),
      ratio: times(ratios['loginsPerSecond']!),
      target: `≥ ${targets.loginsPerSecond}/s, ≥ ${targets.baselineRateShare}× baseline`,
      met: verdict(login.conclave.perSecond >= targets.loginsPerSecond && ratios['loginsPerSecond']! >= targets.baselineRateShare),
    },
    {
      measure: 'the same, baseline sending what the portal sends (/s)',
      conclave: login.conclave.perSecond.toFixed(0),
      baseline: login.mirror.perSecond.toFixed(0),
      ratio: times(ratios['loginsPerSecondToMirror']!),
      target: '',
      met: '',
    },
    {
      measure: 'login latency p50 / p99 (ms)',
      conclave: percentiles(login.conclave.latencyMs),
      baseline: percentiles(login.baseline.latencyMs),
      ratio: times(ratios['loginP99']!),
      target: `p99 < ${targets.loginP99Ms} ms`,
      met: verdict(login.conclave.latencyMs.p99 < targets.loginP99Ms),
    },
    {
      measure: 'server CPU while logging in (% of a core)',
      conclave: login.conclave.serverCpuPercent.toFixed(0),
      baseline: login.baseline.serverCpuPercent.toFixed(0),
      ratio: '',
      target: '',
      met: '',
    },
    {
      measure: 'server CPU per login + logout (µs), baseline: echo / as the portal',
      conclave: cpuPerCycleUs(login.conclave).toFixed(0),
      baseline: `${cpuPerCycleUs(login.baseline).toFixed(0)} / ${cpuPerCycleUs(login.mirror).toFixed(0)}`,
      ratio: times(ratios['cpuPerLoginToMirror']!),
      target: '',
      met: '',
    },
    {
      measure: `participants held (${participants.conclave.ramp.clients} asked)`,
      conclave: String(participants.conclave.held),
      baseline: String(participants.baseline.held),
      ratio: '',
      target: '',
      met: verdict(participants.conclave.held === participants.conclave.ramp.clients),
    },
    {
      measure: 'server RSS per participant (KB)',
      conclave: kb(rss),
      baseline: kb(participants.baseline.rssPerParticipantBytes),
      ratio: times(ratios['rssPerParticipant']!),
      target: `≤ ${kb(targets.memoryPerParticipantBytes)} KB`,
      met: verdict(rss <= targets.memoryPerParticipantBytes),
    },
    {
      measure: 'server heap per participant (KB)',
      conclave: kb(participants.conclave.heapPerParticipantBytes),
      baseline: kb(participants.baseline.heapPerParticipantBytes),
      ratio: times(ratios['heapPerParticipant']!),
      target: '',
      met: '',
    },
    {
      measure: 'login p50 / p99 while holding them (ms)',
      conclave: percentiles(participants.conclave.loginWhileHolding.latencyMs),
      baseline: percentiles(participants.baseline.loginWhileHolding.latencyMs),
      ratio: times(ratios['loginP99WhileHolding']!),
      target: `p99 < ${targets.loginP99Ms} ms`,
      met: verdict(participants.conclave.loginWhileHolding.latencyMs.p99 < targets.loginP99Ms),
    },
    {
      measure: `server heap per member of a room of ${fanout.conclave.receivers} (KB)`,
      conclave: kb(fanout.conclave.heapPerReceiverBytes),
      baseline: kb(fanout.baseline.heapPerReceiverBytes),
      ratio: times(ratios['heapPerMemberOfBigRoom']!),
      target: '',
      met: '',
    },
    {
      measure: `fan-out to ${fanout.conclave.receivers}, last receipt p50 / p99 (ms)`,
      conclave: percentiles(fanout.conclave.lastArrivalMs),
      baseline: percentiles(fanout.baseline.lastArrivalMs),
      ratio: times(ratios['fanoutP99']!),
      target: `p99 < ${targets.fanoutP99Ms} ms`,
      met: verdict(fanout.conclave.lastArrivalMs.p99 < targets.fanoutP99Ms && fanout.conclave.incomplete === 0),
    },
    {
      measure: `server CPU per text to all ${fanout.conclave.receivers} (ms)`,
      conclave: ms(fanout.conclave.serverCpuPerTextMs),
      baseline: ms(fanout.baseline.serverCpuPerTextMs),
      ratio: times(ratios['fanoutCpu']!),
      target: '',
      met: '',
    },
    {
      measure: `relogin of ${reconnection.conclave.held}, p50 / p99 (ms)`,
      conclave: percentiles(reconnection.conclave.quiet.latencyMs),
      baseline: percentiles(reconnection.baseline.quiet.latencyMs),
      ratio: times(ratios['reloginP99']!),
      target: `p99 < ${targets.reloginP99Ms} ms`,
      met: verdict(reconnection.conclave.quiet.latencyMs.p99 < targets.reloginP99Ms),
    },
    {
      measure: 'relogin while the rooms talk, p50 / p99 (ms)',
      conclave: percentiles(reconnection.conclave.talking.latencyMs),
      baseline: percentiles(reconnection.baseline.talking.latencyMs),
      ratio: times(ratios['reloginWhileTalkingP99']!),
      target: '',
      met: '',
    },
    ...deliveryRows(reconnection),
    {
      measure: 'failed requests (all Conclave runs)',
      conclave: String(failed),
      baseline: '',
      ratio: '',
      target: '0',
      met: verdict(failed === 0),
    },
  ];
}

/**
 * One row per SDK flavour, as they resume differently (SPEC §6) and so can fail differently; and
 * what bare Socket.IO loses across the same drops, with nothing to resume.
 */
function deliveryRows({ conclave, baseline }: Pair<Resumption>): Row[] {
  const damage = (counts: DeliveryCounts) => `${counts.lost} / ${counts.duplicated} / ${counts.reordered}`;
  const perSdk = (Object.entries(conclave.delivery.bySdk) as Array<[BenchSdk, DeliveryCounts]>).map(([sdk, counts]) => ({
    measure: `${sdkNames[sdk]}: notifications lost / dup. / reordered (of ${counts.expected})`,
    conclave: damage(counts),
    baseline: '',
    ratio: '',
    target: '0',
    met: verdict(counts.lost + counts.duplicated + counts.reordered === 0),
  }));
  const unprotected: Row = {
    measure: `bare Socket.IO across the same drops (of ${baseline.delivery.expected})`,
    conclave: '',
    baseline: damage(baseline.delivery),
    ratio: '',
    target: '',
    met: '',
  };
  return [...perSdk, unprotected];
}

const signalingHeader: Row = { measure: 'measure', conclave: 'Conclave', baseline: 'Socket.IO', ratio: 'ratio', target: 'target', met: 'met' };

/** A table whose columns are `header`'s keys, in its order. */
export function formatTable<R extends Record<string, string>>(rows: R[], header: R): string {
  const columns = Object.keys(header) as Array<keyof R>;
  const widths = columns.map((column) => Math.max(...[header, ...rows].map((row) => row[column]!.length)));
  const line = (row: R) => `| ${columns.map((column, i) => row[column]!.padEnd(widths[i]!)).join(' | ')} |`;
  const rule = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export function formatSignalingTable(rows: Row[]): string {
  return formatTable(rows, signalingHeader);
}

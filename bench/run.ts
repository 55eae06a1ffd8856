/**
 * `npm run bench [-- --quick] [--profile] [--concurrency N] [--signaling | --media]`: the embedded server with production timers in a
 * child process, a bare Socket.IO server beside it, load from separate generator processes on
 * loopback; one table on stdout, the record in bench/results/<timestamp>.json. Then, in a full run,
 * the media forwarding bench (bench/media.ts); `--media` runs that one alone, `--signaling` the first alone.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ManagementClient } from '../src/client/management-client.js';
import { defaults, type ConfigOverrides } from '../src/config/config.js';
import type { BaselineMethods } from './baseline.js';
import { Child, hardFileLimit } from './ipc.js';
import type { LoadMethods } from './load-api.js';
import { runMediaBench } from './media.js';
import { printHeapGrowth } from './heap.js';
import { printProfiles } from './profile.js';
import { formatSignalingTable, ratiosOf, rowsOf, runRecord, targets, type Environment, type Results } from './report.js';
import { Scenarios, type HeldHeap, type Sizes } from './scenarios.js';
import type { ServerMethods } from './server.js';

const full: Sizes = {
  logins: 3_000,
  concurrency: 16,
  participants: 5_000,
  participantRooms: 50,
  loginsWhileHolding: 500,
  fanout: 1_000,
  fanoutRepeats: 30,
  resuming: 500,
  resumingRooms: 5,
};

const quick: Sizes = {
  logins: 400,
  concurrency: 16,
  participants: 1_000,
  participantRooms: 10,
  loginsWhileHolding: 200,
  fanout: 200,
  fanoutRepeats: 10,
  resuming: 100,
  resumingRooms: 2,
};

const GENERATORS = 2;
/** A one-minute load average from which other work is likely to have slowed the run down. */
const BUSY_LOAD = 0.5;
/** Descriptors a process needs besides its sockets: files, pipes, the event loop's own. */
const FILE_MARGIN = 1_024;

/** Production settings except where the server listens, its log level and the per-IP limits (all load comes from 127.0.0.1). */
const serverOverrides = {
  log: { level: 'warn' },
  portal: { port: 0, host: '127.0.0.1', maxConnectionsPerIp: 100_000, maxSocketsPerIp: 100_000, loginAttemptsPerIpPerMinute: 1_000_000 },
  management: { port: 0, host: '127.0.0.1' },
} satisfies ConfigOverrides;

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

/** Every child's soft limit of open files is raised to the hard limit, which must suffice for the run. */
function fileLimitFor(sizes: Sizes): number {
  const limit = hardFileLimit();
  const needed = Math.max(sizes.participants, sizes.fanout) + FILE_MARGIN;
  if (limit < needed) throw new Error(`the open-file limit is ${limit}; this run needs ${needed} (raise it with ulimit -n)`);
  return limit;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean' }, profile: { type: 'boolean' }, media: { type: 'boolean' }, signaling: { type: 'boolean' }, concurrency: { type: 'string' } },
  });
  const mode = values.quick ? 'quick' : 'full';
  const profile = values.profile ?? false;
  const sizes = { ...(mode === 'quick' ? quick : full) };
  if (values.concurrency !== undefined) sizes.concurrency = Number(values.concurrency);
  if (!Number.isInteger(sizes.concurrency) || sizes.concurrency < 1) throw new Error('--concurrency takes a positive integer');
  if (values.media && values.signaling) throw new Error('--media and --signaling each run one part alone: give one of them');
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const resultsDir = here('./results/');
  const profileDir = `${resultsDir}profiles-${stamp}`;
  if (values.media) {
    await runMediaBench({ mode, profile, fileLimit: hardFileLimit(), serverOverrides, resultsDir, stamp, log });
    return;
  }
  const fileLimit = fileLimitFor(sizes);
  const loadAverageBefore = loadavg();

  log(`${mode} run; open-file limit per child ${fileLimit}; load average ${loadAverageBefore.map((load) => load.toFixed(2)).join(' ')}`);
  log(
    `server under test: production defaults except ${JSON.stringify(serverOverrides)} (defaults: portal.maxConnectionsPerIp ${defaults.portal.maxConnectionsPerIp}, portal.maxSocketsPerIp a quarter of the portal's sockets, at most 2,000, portal.loginAttemptsPerIpPerMinute ${defaults.portal.loginAttemptsPerIpPerMinute}; portal.eventsPerSecond stays ${defaults.portal.eventsPerSecond})`,
  );
  const [server, baseline, generators] = await Promise.all([
    Child.start<ServerMethods>('server', here('./server.ts'), { overrides: serverOverrides }, { fileLimit, nodeFlags: ['--expose-gc'] }),
    Child.start<BaselineMethods>('baseline', here('./baseline.ts'), {}, { fileLimit, nodeFlags: ['--expose-gc'] }),
    Promise.all(Array.from({ length: GENERATORS }, (_, i) => Child.start<LoadMethods>(`load-${i}`, here('./load.ts'), {}, { fileLimit }))),
  ]);
  let results: Results | undefined;
  let heldHeap: HeldHeap | undefined;
  try {
    const info = await server.call('describe');
    const { url: baselineUrl } = await baseline.call('describe');
    const management = new ManagementClient({ url: info.managementUrl, serviceId: info.serviceId, key: info.key });
    const scenarios = new Scenarios(
      { server, baseline, generators },
      management,
      { portal: info.portalUrl, baseline: baselineUrl },
      sizes,
      log,
      profile ? profileDir : undefined,
    );
    results = {
      login: await scenarios.login(),
      participants: await scenarios.participants(),
      fanout: await scenarios.fanout(),
      reconnection: await scenarios.reconnection(),
    };
    if (profile) heldHeap = await scenarios.heldHeap();
    const environment: Environment = {
      ...runRecord(mode, startedAt, loadAverageBefore),
      fileLimit,
      generators: GENERATORS,
      serverOverrides,
      sizes,
      profiled: profile,
    };
    console.log(formatSignalingTable(rowsOf(results)));
    console.log(
      `\n${mode} run, ${environment.cpus} cores, load average before ${loadAverageBefore[0]!.toFixed(2)} / after ${environment.loadAverageAfter[0]!.toFixed(2)}; ` +
        `${sizes.concurrency} requests in flight; server limits raised: portal.maxConnectionsPerIp ${serverOverrides.portal.maxConnectionsPerIp}, ` +
        `portal.maxSocketsPerIp ${serverOverrides.portal.maxSocketsPerIp}, ` +
        `portal.loginAttemptsPerIpPerMinute ${serverOverrides.portal.loginAttemptsPerIpPerMinute}; log level ${serverOverrides.log.level}.`,
    );
    if (profile) console.log("--profile: Conclave's runs, and the bare server's where it did their work, ran slower under the CPU profiler");
    await mkdir(resultsDir, { recursive: true });
    const file = `${resultsDir}${stamp}.json`;
    await writeFile(file, `${JSON.stringify({ environment, targets, ratios: ratiosOf(results), results, heldHeap }, null, 2)}\n`);
    console.log(`results: ${file}`);
    if (loadAverageBefore[0]! >= BUSY_LOAD) {
      console.log(`the machine was busy when the run began (load average ${loadAverageBefore[0]!.toFixed(2)}): expect lower figures than on an idle one`);
    }
  } finally {
    await Promise.all([server.stop(), baseline.stop(), ...generators.map((generator) => generator.stop())]);
  }
  if (profile) await printProfiles(profileDir, 'Conclave run');
  if (heldHeap) await printHeapGrowth(heldHeap.before, heldHeap.after, heldHeap.held);
  if (mode === 'full' && !values.signaling) await runMediaBench({ mode, profile, fileLimit, serverOverrides, resultsDir, stamp, log });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

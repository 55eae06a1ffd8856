/**
 * `npm run soak -- [--cycles 20000] [--concurrency 8] [--sample-every 1000] [--warm-up 4000]`
 *
 * Many cycles of what a real client does — connect, log in, send a text, lose the network,
 * re-log in with its ticket, send again, log out — against the embedded server in a child process.
 * Every `--sample-every` cycles the load pauses, the server collects its garbage and reports its
 * heap and RSS. At the end it prints the heap's slope after warm-up (growth per 10,000 cycles) and,
 * once every client has gone, whatever the server still holds: participants, tasks, rooms, and
 * resources keeping its event loop alive compared with before the first cycle. Exits 1 when the
 * heap grows by 1% or more per 10,000 cycles or anything is left behind.
 */
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { messageOf } from '../src/bus/index.js';
import { ClientStates, ConferenceClient, type ClientState } from '../src/client/conference-client.js';
import type { ConfigOverrides } from '../src/config/config.js';
import { createMAuthHeader } from '../src/management/index.js';
import { Child } from './ipc.js';
import type { Holdings, SoakServerArgument, SoakServerInfo, SoakServerMethods } from './soak-server.js';

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '8' },
    'sample-every': { type: 'string', default: '1000' },
    'warm-up': { type: 'string' },
  },
});
const cycles = Number(values.cycles);
const concurrency = Number(values.concurrency);
const sampleEvery = Number(values['sample-every']);
const warmUp = values['warm-up'] === undefined ? Math.min(Math.round(cycles / 5), 5_000) : Number(values['warm-up']);
for (const [name, value] of Object.entries({ cycles, concurrency, sampleEvery, warmUp })) {
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a whole number`);
}

const TARGET_GROWTH_PERCENT = 1;
const STEP_TIMEOUT_MS = 10_000;
const SETTLE_TIMEOUT_MS = 60_000;

/**
 * State the server keeps on purpose for a while is bounded by time, not by count: retired
 * participants for the ticket lifetime, laid-down token reservations for the token lifetime, an
 * empty room for the idle timeout. These are shortened so that the steady state is reached well
 * within the warm-up and the end settles quickly; anything still growing after that is a leak.
 */
const overrides: ConfigOverrides = {
  log: { level: 'warn' },
  portal: {
    port: 0,
    host: '127.0.0.1',
    loginAttemptsPerIpPerMinute: 100_000_000,
    reconnectionTicketLifetime: 5_000,
    reconnectionTimeout: 2_000,
  },
  management: { port: 0, host: '127.0.0.1' },
  tokens: { lifetime: 5_000 },
  cluster: { conferenceReserve: 5_000 },
  conference: { idleRoomTimeout: 2_000 },
};

interface Sample {
  cycles: number;
  heapUsedBytes: number;
  rssBytes: number;
}

const megabytes = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;

function within<T>(promise: Promise<T>, what: string, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function untilState(client: ConferenceClient, wanted: ClientState): Promise<void> {
  return new Promise((resolve, reject) => {
    const onState = (state: ClientState) => {
      if (state !== wanted && state !== ClientStates.dropped) return;
      client.off('state', onState);
      if (state === wanted) resolve();
      else reject(new Error('relogin failed: the client was dropped'));
    };
    client.on('state', onState);
  });
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const covariance = points.reduce((sum, [x, y]) => sum + (x - meanX) * (y - meanY), 0);
  const variance = points.reduce((sum, [x]) => sum + (x - meanX) ** 2, 0);
  return variance === 0 ? 0 : covariance / variance;
}

/** Growth per 10,000 cycles after warm-up, in bytes and as a share of the mean. */
function growthOf(samples: Sample[], field: 'heapUsedBytes' | 'rssBytes'): { bytes: number; percent: number } {
  const steady = samples.filter((sample) => sample.cycles >= warmUp);
  if (steady.length < 2) return { bytes: 0, percent: 0 };
  const bytes = slope(steady.map((sample) => [sample.cycles, sample[field]])) * 10_000;
  const mean = steady.reduce((sum, sample) => sum + sample[field], 0) / steady.length;
  return { bytes, percent: (bytes / mean) * 100 };
}

function leftBehind(holdings: Holdings, baseline: Record<string, number>): string[] {
  const left: string[] = [];
  for (const key of ['portalParticipants', 'portalTasks', 'scheduledTasks', 'agentRooms'] as const) {
    if (holdings[key] !== 0) left.push(`${key} ${holdings[key]}`);
  }
  for (const kind of new Set([...Object.keys(baseline), ...Object.keys(holdings.activeResources)])) {
    const extra = (holdings.activeResources[kind] ?? 0) - (baseline[kind] ?? 0);
    if (extra !== 0) left.push(`${kind} ${extra > 0 ? '+' : ''}${extra}`);
  }
  return left;
}

const server = await Child.start<SoakServerMethods>('soak-server', new URL('./soak-server.ts', import.meta.url).pathname, {
  overrides,
} satisfies SoakServerArgument, { nodeFlags: ['--expose-gc'], fileLimit: 8_192 });

try {
  const info: SoakServerInfo = await server.call('describe');
  /**
   * A signed REST call on a connection of its own (no keep-alive), so that once the load stops no
   * connection of the soak's own stays open and every server socket still open would be a leak.
   */
  const callApi = (method: string, path: string, body?: unknown) =>
    new Promise<string>((resolve, reject) => {
      const headers: Record<string, string> = {
        authorization: createMAuthHeader({ serviceId: info.serviceId, key: info.key }),
      };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const outgoing = request(`${info.managementUrl}${path}`, { method, headers, agent: false }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          if (response.statusCode === 200) resolve(text);
          else reject(new Error(`${method} ${path}: ${response.statusCode} ${text}`));
        });
      });
      outgoing.on('error', reject);
      outgoing.end(body === undefined ? undefined : JSON.stringify(body));
    });
  const roomPath = `/v1/rooms/${info.sampleRoom}`;
  const baseline = (await server.call('holdings')).activeResources;

  async function cycle(index: number): Promise<void> {
    const token = await within(callApi('POST', `${roomPath}/tokens`, { user: `soak-${index}`, role: 'presenter' }), 'token');
    const client = new ConferenceClient(info.portalUrl, {
      socket: { transports: ['websocket'], reconnectionDelay: 1, reconnectionDelayMax: 50 },
    });
    try {
      await within(client.join(token), 'login');
      await within(client.send('all', `cycle ${index}`), 'text');
      const resumed = within(untilState(client, ClientStates.resumed), 'relogin');
      // The network drops; the client reconnects and re-logs in with its ticket on its own.
      client.socket.io.engine.close();
      await resumed;
      await within(client.send('all', `cycle ${index} again`), 'text after relogin');
      await within(client.leave(), 'logout');
    } finally {
      client.close();
    }
  }

  const samples: Sample[] = [];
  const failures = new Map<string, number>();
  let started = 0;
  let finished = 0;
  let inFlight = 0;
  let pause: Promise<void> | undefined;
  let drained: (() => void) | undefined;
  const startedAt = Date.now();

  async function sample(): Promise<void> {
    const usage = await server.call('usage');
    samples.push({ cycles: finished, heapUsedBytes: usage.heapUsedBytes, rssBytes: usage.rssBytes });
    const rate = finished / ((Date.now() - startedAt) / 1_000);
    const failed = [...failures.values()].reduce((sum, count) => sum + count, 0);
    console.log(
      `${String(finished).padStart(7)} cycles  ${rate.toFixed(0).padStart(4)}/s  heap ${megabytes(usage.heapUsedBytes).padStart(8)}` +
        `  rss ${megabytes(usage.rssBytes).padStart(8)}  failed ${failed}`,
    );
  }

  /** Stops new cycles, waits for those in flight, samples, and lets the load go on. */
  async function pauseAndSample(): Promise<void> {
    let resume!: () => void;
    pause = new Promise((resolve) => (resume = resolve));
    if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
    drained = undefined;
    await sample();
    pause = undefined;
    resume();
  }

  async function worker(): Promise<void> {
    for (;;) {
      while (pause) await pause;
      if (started >= cycles) return;
      const index = started++;
      inFlight++;
      try {
        await cycle(index);
      } catch (error) {
        const message = messageOf(error);
        failures.set(message, (failures.get(message) ?? 0) + 1);
      }
      inFlight--;
      finished++;
      if (inFlight === 0) drained?.();
      if (finished % sampleEvery === 0 && !pause) await pauseAndSample();
    }
  }

  console.log(`soak: ${cycles} cycles, ${concurrency} at a time, sampled every ${sampleEvery}, warm-up ${warmUp}`);
  await sample();
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  if (samples.at(-1)?.cycles !== finished) await sample();
  const seconds = (Date.now() - startedAt) / 1_000;

  const settleStart = Date.now();
  let holdings = await server.call('holdings');
  while (leftBehind(holdings, baseline).length > 0 && Date.now() - settleStart < SETTLE_TIMEOUT_MS) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    holdings = await server.call('holdings');
  }
  const nodeParticipants = (JSON.parse(await callApi('GET', `${roomPath}/participants`)) as unknown[]).length;
  const left = leftBehind(holdings, baseline);
  if (nodeParticipants !== 0) left.push(`node participants ${nodeParticipants}`);

  const heap = growthOf(samples, 'heapUsedBytes');
  const rss = growthOf(samples, 'rssBytes');
  const sign = (value: number) => (value >= 0 ? '+' : '');
  console.log('');
  console.log(`cycles        ${finished} in ${seconds.toFixed(0)} s (${(finished / seconds).toFixed(0)}/s), ${[...failures.values()].reduce((a, b) => a + b, 0)} failed`);
  for (const [message, count] of failures) console.log(`  ${count} × ${message}`);
  console.log(`heap slope    ${sign(heap.percent)}${heap.percent.toFixed(2)}% per 10,000 cycles after warm-up (${sign(heap.bytes)}${(heap.bytes / 1_024).toFixed(0)} KB)`);
  console.log(`rss slope     ${sign(rss.percent)}${rss.percent.toFixed(2)}% per 10,000 cycles after warm-up (${sign(rss.bytes)}${(rss.bytes / 1_024).toFixed(0)} KB)`);
  console.log(`heap          ${megabytes(samples[0]!.heapUsedBytes)} at start, ${megabytes(samples.at(-1)!.heapUsedBytes)} at the end`);
  console.log(`left behind   ${left.length === 0 ? 'nothing' : left.join(', ')} (settled in ${((Date.now() - settleStart) / 1_000).toFixed(1)} s)`);
  console.log(`active        ${Object.entries(holdings.activeResources).map(([kind, count]) => `${kind} ${count}`).join(', ')}`);
  const passed = heap.percent < TARGET_GROWTH_PERCENT && left.length === 0 && failures.size === 0;
  console.log(passed ? 'PASS' : 'FAIL');
  process.exitCode = passed ? 0 : 1;
} finally {
  await server.stop();
}

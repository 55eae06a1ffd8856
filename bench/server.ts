/** Bench child: the embedded Conclave server under test, in a process of its own. */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { writeHeapSnapshot } from 'node:v8';
import type { ConfigOverrides } from '../src/config/config.js';
import { childArgument, serveParent } from './ipc.js';
import { cpuProfiler, type ProfilerMethods } from './profiler.js';
import { usageOf, type ProcessUsage } from './usage.js';

export interface ServerArgument {
  /** Everything the bench changes from the production defaults. */
  overrides: ConfigOverrides;
}

export interface ServerInfo {
  portalUrl: string;
  managementUrl: string;
  serviceId: string;
  key: string;
}

export type ServerMethods = ProfilerMethods & {
  describe(): ServerInfo;
  usage(collectGarbage: boolean): ProcessUsage;
  /** Writes a heap snapshot to `file`: what is live, since V8 collects garbage before it takes one. */
  heapSnapshot(file: string): Promise<void>;
};

/**
 * The server runs as `npm start` runs it, compiled into dist/ (`npm run bench` builds it first):
 * under tsx, esbuild's keepNames would also name every function as it is created, 2–4% of a login's CPU.
 */
const compiled = <T>(path: string): Promise<T> => import(new URL(`../dist/${path}`, import.meta.url).href) as Promise<T>;
const [{ loadConfig }, { startEmbedded }, { createLogger }] = await Promise.all([
  compiled<typeof import('../src/config/config.js')>('config/config.js'),
  compiled<typeof import('../src/embedded.js')>('embedded.js'),
  compiled<typeof import('../src/logger.js')>('logger.js'),
]);

const { overrides } = childArgument<ServerArgument>();
const dataDir = await mkdtemp(join(tmpdir(), 'conclave-bench-'));
const config = loadConfig({ overrides: { ...overrides, dataDir } });
// The first start prints the super service's key; the bench reads it from the store instead.
const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
const server = await startEmbedded(config, createLogger(config.log.level), discard);
const { superServiceId } = server.bootstrap;
const service = await server.store.getService(superServiceId);
if (!service) throw new Error('the super service is missing after bootstrap');
const info: ServerInfo = {
  portalUrl: `http://127.0.0.1:${server.portal.port}`,
  managementUrl: `http://127.0.0.1:${server.management.port}`,
  serviceId: superServiceId,
  key: service.key,
};

const profiler = cpuProfiler();

serveParent<ServerMethods>(
  {
    describe: () => info,
    usage: (collectGarbage) => usageOf(collectGarbage),
    ...profiler.methods,
    heapSnapshot: async (file) => {
      await mkdir(dirname(file), { recursive: true });
      writeHeapSnapshot(file);
    },
  },
  async () => {
    profiler.close();
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  },
);

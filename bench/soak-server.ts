/** Soak child: the embedded server, reporting its memory (after a forced GC) and what it still holds. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig, type ConfigOverrides } from '../src/config/config.js';
import { startEmbedded } from '../src/embedded.js';
import { createLogger } from '../src/logger.js';
import { childArgument, serveParent } from './ipc.js';
import { usageOf, type ProcessUsage } from './usage.js';

export interface SoakServerArgument {
  overrides: ConfigOverrides;
}

export interface SoakServerInfo {
  portalUrl: string;
  managementUrl: string;
  serviceId: string;
  key: string;
  sampleRoom: string;
}

/** Everything the server keeps for clients; after the last one has gone, all of it should be back where it started. */
export interface Holdings {
  portalParticipants: number;
  portalTasks: number;
  /** Tasks and reservations the cluster manager holds, over every worker. */
  scheduledTasks: number;
  /** Rooms the conference agent's nodes host. */
  agentRooms: number;
  /** What keeps the event loop alive, by kind (`Timeout`, `TCPSocketWrap`, ...). */
  activeResources: Record<string, number>;
}

export type SoakServerMethods = {
  describe(): SoakServerInfo;
  /** Memory after two forced collections: only what is live. */
  usage(): ProcessUsage;
  holdings(): Holdings;
};

const { overrides } = childArgument<SoakServerArgument>();
const dataDir = await mkdtemp(join(tmpdir(), 'conclave-soak-'));
const config = loadConfig({ overrides: { ...overrides, dataDir } });
const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
const server = await startEmbedded(config, createLogger(config.log.level), discard);
const { superServiceId, sampleRoomId } = server.bootstrap;
const service = await server.store.getService(superServiceId);
if (!service || !sampleRoomId) throw new Error('bootstrap left no super service or sample room');

function countByKind(kinds: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of kinds) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

serveParent<SoakServerMethods>(
  {
    describe: () => ({
      portalUrl: `http://127.0.0.1:${server.portal.port}`,
      managementUrl: `http://127.0.0.1:${server.management.port}`,
      serviceId: superServiceId,
      key: service.key,
      sampleRoom: sampleRoomId,
    }),
    usage: () => usageOf(true),
    holdings: () => ({
      portalParticipants: server.portal.registry.size,
      portalTasks: server.portal.tasks.length,
      scheduledTasks: server.manager.getWorkers().reduce((sum, worker) => sum + worker.tasks.length + worker.reservations.length, 0),
      agentRooms: server.agent.nodes.snapshot().reduce((sum, node) => sum + node.tasks.length, 0),
      activeResources: countByKind(process.getActiveResourcesInfo()),
    }),
  },
  async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  },
);

/**
 * A conference node under test: real in-process bus, real SQLite store in a temp dir, and recording
 * stand-ins for the portals and the agent at their bus addresses.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rpcClient, type RpcClient, type Served } from '../../src/bus/index.js';
import { InProcessBus } from '../../src/bus/in-process.js';
import { loadConfig, type Config, type ConfigOverrides } from '../../src/config/config.js';
import { startConferenceNode, type ConferenceNode, type NodeRpc, type ParticipantInfo } from '../../src/conference/index.js';
import { createLogger } from '../../src/logger.js';
import { defaultRoomOptions } from '../../src/management/index.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Room } from '../../src/store/index.js';
import { waitFor } from './wait.js';

export const NODE_ID = 'conference-node-1';
export const AGENT_ID = 'conference-agent-1';
const SERVICE_ID = 'service-1';

export interface RecordedCall {
  method: string;
  args: unknown[];
}

/** Serves every listed method on the bus and remembers each call, in arrival order. */
export class Recorder {
  readonly calls: RecordedCall[] = [];

  constructor(readonly address: string) {}

  handlers(methods: string[]): Record<string, (...args: unknown[]) => void> {
    return Object.fromEntries(methods.map((method) => [method, (...args: unknown[]) => void this.calls.push({ method, args })]));
  }

  argsOf(method: string): unknown[][] {
    return this.calls.filter((call) => call.method === method).map((call) => call.args);
  }

  async waitForCalls(count: number, method?: string): Promise<RecordedCall[]> {
    const matching = () => this.calls.filter((call) => method === undefined || call.method === method);
    await waitFor(`${count} ${method ?? ''} call(s) at ${this.address}`, () =>
      matching().length >= count || `got ${JSON.stringify(matching())}`,
    );
    return matching();
  }
}

/** Holds room loads until released, to make joins meet at the same initialisation. */
export interface LoadGate {
  release(): void;
  fail(error: Error): void;
}

export interface ConferenceHarness {
  config: Config;
  store: SqliteStore;
  node: ConferenceNode;
  rpc: RpcClient<NodeRpc>;
  agent: Recorder;
  /** How many times the node asked the store for a room. */
  roomLoads(): number;
  holdRoomLoads(): LoadGate;
  /** Serves the portal's address (again, after `killPortal`), recording what reaches it. */
  portal(address: string): Promise<Recorder>;
  /** The portal stops serving, as a crashed one would: deliveries to it become unreachable. */
  killPortal(address: string): Promise<void>;
  bus: InProcessBus;
  createRoom(id: string, overrides?: Partial<Room>): Promise<Room>;
  close(): Promise<void>;
}

/** A stored room with the OWT defaults, as the management API creates it. */
export function roomDocument(id: string, overrides: Partial<Room> = {}): Room {
  return { _id: id, name: `name of ${id}`, ...defaultRoomOptions(), ...overrides };
}

export function participant(id: string, fields: Partial<ParticipantInfo> = {}): ParticipantInfo {
  return { id, user: `user-${id}`, role: 'presenter', portal: 'portal-a', origin: { isp: 'isp', region: 'region' }, ...fields };
}

export async function startConferenceHarness(overrides: ConfigOverrides = {}): Promise<ConferenceHarness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'conclave-conference-'));
  const config = loadConfig({ overrides: { ...overrides, dataDir, log: { level: 'silent' } } });
  const bus = new InProcessBus();
  const store = SqliteStore.open(dataDir);
  await store.createService({ _id: SERVICE_ID, name: 'test service', key: 'test-key' });

  let loads = 0;
  let gate: Promise<void> | undefined;
  const loadRoom = store.getRoom.bind(store);
  store.getRoom = async (roomId) => {
    loads++;
    await gate;
    return loadRoom(roomId);
  };

  const served: Served[] = [];
  const agent = new Recorder(AGENT_ID);
  served.push(await bus.serve(AGENT_ID, agent.handlers(['getNode', 'queryNode', 'recycleNode'])));
  const portals = new Map<string, Recorder>();
  const portalServers = new Map<string, Served>();

  const node = await startConferenceNode({
    id: NODE_ID,
    agentId: AGENT_ID,
    config,
    bus,
    store,
    logger: createLogger('silent'),
  });

  return {
    config,
    store,
    node,
    rpc: rpcClient<NodeRpc>(bus, NODE_ID, 2_000),
    agent,
    roomLoads: () => loads,
    holdRoomLoads: () => {
      let settle!: LoadGate;
      const held = new Promise<void>((resolve, reject) => {
        settle = { release: resolve, fail: reject };
      });
      held.catch(() => undefined);
      gate = held;
      const open = (finish: () => void) => {
        if (gate === held) gate = undefined;
        finish();
      };
      return { release: () => open(settle.release), fail: (error) => open(() => settle.fail(error)) };
    },
    portal: async (address) => {
      let recorder = portals.get(address);
      if (!recorder) {
        recorder = new Recorder(address);
        portals.set(address, recorder);
      }
      if (!portalServers.has(address)) {
        const server = await bus.serve(address, recorder.handlers(['notify', 'broadcast', 'drop', 'release']));
        served.push(server);
        portalServers.set(address, server);
      }
      return recorder;
    },
    killPortal: async (address) => {
      await portalServers.get(address)?.close();
      portalServers.delete(address);
    },
    bus,
    createRoom: async (id, roomOverrides) => {
      const room = roomDocument(id, roomOverrides);
      await store.createRoom(SERVICE_ID, room);
      return room;
    },
    close: async () => {
      await node.close();
      for (const server of served) await server.close();
      await bus.close();
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

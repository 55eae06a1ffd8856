/** The embedded server as `conclave` starts it, with a temp data directory and shrunk timers. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ConferenceClient, type ConferenceClientOptions, type Notification } from '../../src/client/conference-client.js';
import { ManagementClient } from '../../src/client/management-client.js';
import { loadConfig, type ConfigOverrides } from '../../src/config/config.js';
import { startEmbedded, type EmbeddedServer } from '../../src/embedded.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createTenant, type Credentials, type Tenant } from './management-api.js';
import { waitFor } from './wait.js';

export interface TestServer {
  server: EmbeddedServer;
  superService: Credentials;
  /** A client signed as the super service. */
  management: ManagementClient;
  portalUrl: string;
  sampleRoom: string;
  /** A fresh token for the room, created through the REST API. */
  token(room?: string, user?: string, role?: string): Promise<string>;
  /** A new service besides the super service. */
  tenant(name: string): Promise<Tenant>;
  /** A client that is closed when the server stops. */
  client(options?: ConferenceClientOptions): ConferenceClient;
  /** Creates a client and logs it in. */
  join(options?: ConferenceClientOptions & { user?: string; room?: string; role?: string }): Promise<JoinedClient>;
  stop(): Promise<void>;
}

export interface JoinedClient {
  client: ConferenceClient;
  id: string;
  result: Record<string, unknown>;
  notifications: Notification[];
}

export const testTimers = {
  portal: {
    loginTimeout: 2_000,
    reconnectionTimeout: 1_500,
    reconnectionTicketLifetime: 5_000,
    // Far from what a busy machine misses: a drop is made by cutting the transport, never by a missed ping.
    pingInterval: 5_000,
    pingTimeout: 10_000,
    tokenKeyReload: 200,
  },
  tokens: { lifetime: 2_000 },
  cluster: { keepAlivePeriod: 50, checkPeriod: 50, checkAliveCount: 10, joinRetryInterval: 20, rpcTimeout: 1_000 },
  agent: { prerunProcesses: 1 },
  conference: { idleRoomTimeout: 500 },
};

export interface TestServerOptions {
  /** Where the server logs; silent by default. */
  logger?: Logger;
}

export async function startTestServer(overrides: ConfigOverrides = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'conclave-test-'));
  const engine = process.env['CONCLAVE_WEBRTC__ENGINE'];
  const config = loadConfig({
    // A run may pick the media engine as a server's environment would; the media unit tests name theirs.
    env: engine === undefined ? {} : { CONCLAVE_WEBRTC__ENGINE: engine },
    overrides: {
      ...overrides,
      dataDir,
      log: { level: 'silent' },
      portal: { port: 0, host: '127.0.0.1', ...testTimers.portal, ...overrides.portal },
      management: { port: 0, host: '127.0.0.1', ...overrides.management },
      tokens: { ...testTimers.tokens, ...overrides.tokens },
      cluster: { ...testTimers.cluster, ...overrides.cluster },
      agent: { ...testTimers.agent, ...overrides.agent },
      conference: { ...testTimers.conference, ...overrides.conference },
    },
  });
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  const server = await startEmbedded(config, options.logger ?? createLogger('silent'), quiet);
  const { superServiceId } = server.bootstrap;
  const superService = { serviceId: superServiceId, key: (await server.store.getService(superServiceId))!.key };
  const managementUrl = `http://127.0.0.1:${server.management.port}`;
  const management = new ManagementClient({ url: managementUrl, ...superService });
  const portalUrl = `http://127.0.0.1:${server.portal.port}`;
  const clients = new Set<ConferenceClient>();
  const sampleRoom = server.bootstrap.sampleRoomId;

  const token = (room = sampleRoom, user = 'user', role = 'presenter') => management.createToken(room, user, role);
  const client = (options: ConferenceClientOptions = {}) => {
    const created = new ConferenceClient(portalUrl, { ...options, socket: { transports: ['websocket'], ...options.socket } });
    clients.add(created);
    return created;
  };
  return {
    server,
    superService,
    management,
    portalUrl,
    sampleRoom,
    token,
    tenant: (name) => createTenant(management, managementUrl, name),
    client,
    async join(options = {}) {
      const joined = client(options);
      const notifications: Notification[] = [];
      joined.on('notification', (notification: Notification) => notifications.push(notification));
      const result = await joined.join(await token(options.room, options.user ?? 'user', options.role));
      const id = (result['id'] ?? result['clientId']) as string;
      return { client: joined, id: options.protocol === 'legacy' ? (result['clientId'] as string) : id, result, notifications };
    },
    async stop() {
      for (const created of clients) created.close();
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Waits until `notifications` holds at least `count` entries of `event`, then returns those. */
export async function received(notifications: Notification[], event: string, count = 1): Promise<Notification[]> {
  const matching = () => notifications.filter((notification) => notification.event === event);
  await waitFor(`${count} "${event}" notification(s)`, () => matching().length >= count || `got ${matching().length}`);
  return matching();
}

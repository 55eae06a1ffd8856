/**
 * The management API on a real port, with a real SQLite store in a temp data dir and the real cluster
 * manager on an in-process bus; portals are real cluster workers that a test joins as it needs them.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { InProcessBus } from '../../src/bus/in-process.js';
import { ManagementApiError, ManagementClient } from '../../src/client/management-client.js';
import { ClusterWorker, type ClusterManager, type LoadMeter, type WorkerInfo } from '../../src/cluster/index.js';
import { loadConfig, type Config, type ConfigOverrides } from '../../src/config/config.js';
import {
  bootstrap,
  createMAuthHeader,
  startManagementApi,
  type Bootstrap,
  type MAuthCredentials,
  type ManagementApi,
} from '../../src/management/index.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { silentLogger, startManager } from './cluster.js';

export interface Credentials {
  serviceId: string;
  key: string;
}

export interface Tenant {
  credentials: Credentials;
  /** A client signed as the tenant. */
  client: ManagementClient;
}

/** A new service, created by the super service of the API at `url`. */
export async function createTenant(superClient: ManagementClient, url: string, name: string): Promise<Tenant> {
  const created = await superClient.createService(name);
  const credentials = { serviceId: created._id, key: created.key };
  return { credentials, client: new ManagementClient({ url, ...credentials }) };
}

export type PortalInfo = Partial<Omit<WorkerInfo, 'state' | 'maxLoad'>>;

/** Where the portal that `joinPortal` joins by default says clients reach it. */
const examplePortal = { ip: '127.0.0.1', hostname: 'portal.example.test', port: 8080, via_host: '', ssl: false };

export interface ManagementHarness {
  readonly config: Config;
  url: string;
  readonly manager: ClusterManager;
  /** Joins a portal worker to the manager: `examplePortal` with `info` over it; the load it reports comes from `loadMeter`. */
  joinPortal(info?: PortalInfo, loadMeter?: LoadMeter): Promise<ClusterWorker>;
  /** Every portal joined so far quits, and the manager forgets it. */
  quitPortals(): Promise<void>;
  store: SqliteStore;
  api: ManagementApi;
  bootstrap: Bootstrap;
  /** What bootstrap printed, over every start. */
  readonly printed: string;
  superService: Credentials;
  /** A client signed as the super service. */
  superClient: ManagementClient;
  client(credentials: Credentials): ManagementClient;
  tenant(name: string): Promise<Tenant>;
  /** A raw request; `auth` is a header to send as is, credentials to sign with, or none. */
  request(method: string, path: string, options?: RawRequestOptions): Promise<Response>;
  /** Closes the API and the store, then reopens both on the same data dir. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface RawRequestOptions {
  auth?: string | (Partial<MAuthCredentials> & Credentials) | null;
  body?: string;
  headers?: Record<string, string>;
}

export async function startManagementHarness(overrides: ConfigOverrides = {}): Promise<ManagementHarness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'conclave-management-'));
  const config = loadConfig({
    overrides: {
      ...overrides,
      dataDir,
      management: { host: '127.0.0.1', port: 0, authFailureDelay: 5, rpcTimeout: 500, ...overrides.management },
      cluster: { loadReportPeriod: 20, ...overrides.cluster },
    },
  });
  const bus = new InProcessBus();
  const manager = await startManager(bus, config, 0);
  const portals: ClusterWorker[] = [];
  let printed = '';
  // As on an interactive terminal, where the new super service's key is shown.
  const output = Object.assign(
    new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        printed += chunk.toString();
        done();
      },
    }),
    { isTTY: true },
  );

  const open = async () => {
    const store = SqliteStore.open(dataDir);
    const credentials = await bootstrap({ config, store, logger: silentLogger, output });
    const api = await startManagementApi({ config, store, bus, logger: silentLogger });
    return { store, api, credentials };
  };

  const first = await open();
  const superKey = (await first.store.getService(first.credentials.superServiceId))!.key;
  const url = `http://127.0.0.1:${first.api.port}`;
  const harness: ManagementHarness = {
    config,
    url,
    manager,
    joinPortal: async (info = {}, loadMeter) => {
      const portal = new ClusterWorker({ config, bus, logger: silentLogger, purpose: 'portal', info: { ...examplePortal, ...info }, loadMeter });
      portals.push(portal);
      // A portal serves its worker id; the manager names only portals it can reach.
      await bus.serve(portal.id, {});
      await portal.start();
      return portal;
    },
    quitPortals: async () => {
      for (const portal of portals.splice(0)) await portal.quit();
    },
    store: first.store,
    api: first.api,
    bootstrap: first.credentials,
    get printed() {
      return printed;
    },
    superService: { serviceId: first.credentials.superServiceId, key: superKey },
    superClient: new ManagementClient({ url, serviceId: first.credentials.superServiceId, key: superKey }),
    client: (credentials) => new ManagementClient({ url: harness.url, ...credentials }),
    tenant: (name) => createTenant(harness.superClient, harness.url, name),
    request: (method, path, options = {}) => {
      const headers: Record<string, string> = { ...options.headers };
      const auth = options.auth === undefined ? harness.superService : options.auth;
      if (typeof auth === 'string') headers['authorization'] = auth;
      else if (auth) headers['authorization'] = createMAuthHeader(auth);
      if (options.body !== undefined) headers['content-type'] ??= 'application/json';
      return fetch(`${harness.url}${path}`, { method, headers, body: options.body ?? null });
    },
    restart: async () => {
      await harness.api.close();
      await harness.store.close();
      const reopened = await open();
      harness.store = reopened.store;
      harness.api = reopened.api;
      harness.bootstrap = reopened.credentials;
      harness.url = `http://127.0.0.1:${reopened.api.port}`;
      harness.superClient = harness.client(harness.superService);
    },
    close: async () => {
      await harness.quitPortals();
      await manager.close();
      await harness.api.close();
      await harness.store.close();
      await bus.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** The API's error body, read from a refused response. */
export async function errorOf(response: Response): Promise<{ status: number; code: number; message: string }> {
  const body = (await response.json()) as { error: { code: number; message: string } };
  return { status: response.status, code: body.error.code, message: body.error.message };
}

/** How the typed client's request, which must be refused, was refused. */
export async function refusal(request: Promise<unknown>): Promise<{ status: number; code: number; message: string }> {
  const error = await request.then(
    () => assert.fail('the request should have been refused'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof ManagementApiError);
  return { status: error.status, code: error.code, message: error.message };
}

/**
 * A cluster of real `conclave` processes on the machine's RabbitMQ and PostgreSQL, as an operator
 * runs it: each test gets its own exchange, schema and data directory, shrunk timers, and a bus
 * connection of its own to ask the cluster manager and agents what they hold. Every process it
 * spawned (and every conference node those forked) is killed when the test ends, pass or fail.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it, type TestContext } from 'node:test';
import amqp from 'amqplib';
import pg from 'pg';
import { AmqpBus } from '../../src/bus/amqp.js';
import { rpcClient, type RpcClient } from '../../src/bus/index.js';
import { ConferenceClient, type Notification } from '../../src/client/conference-client.js';
import { ManagementClient } from '../../src/client/management-client.js';
import { MANAGER_ADDRESS, type ManagerRpc, type Purpose, type WorkerSnapshot } from '../../src/cluster/api.js';
import type { ComponentName } from '../../src/components.js';
import { NODE_COMMANDS, type AgentPurpose, type AgentRpc } from '../../src/agent/index.js';
import { childrenOf, processesWith, type ProcessEntry } from './processes.js';
import { waitFor, type WaitOptions } from './wait.js';

export const amqpUrl = process.env['CONCLAVE_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const postgresUrl = process.env['CONCLAVE_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const repository = fileURLToPath(new URL('../..', import.meta.url));
const conclave = join(repository, 'src/bin/conclave.ts');

/** Process start-up (tsx compiling on a shared 2-core machine) is the slow part. */
export const slow: WaitOptions = { timeoutMs: 30_000, intervalMs: 50 };

export type ClusterSettings = Partial<Record<keyof typeof clusterTimers, string>>;

/**
 * Timers of every component, shrunk so failures are noticed within a few seconds, yet far from what
 * a process starved for a second on a busy 2-core machine (a dozen processes of the cluster, and
 * whatever else runs) fails to meet.
 */
export const clusterTimers = {
  PORTAL__RECONNECTION_TIMEOUT: '2500',
  PORTAL__RECONNECTION_TICKET_LIFETIME: '60000',
  PORTAL__PING_INTERVAL: '1000',
  PORTAL__PING_TIMEOUT: '2000',
  PORTAL__TOKEN_KEY_RELOAD: '500',
  PORTAL__JOIN_TIMEOUT: '8000',
  TOKENS__LIFETIME: '20000',
  CLUSTER__KEEP_ALIVE_PERIOD: '100',
  CLUSTER__CHECK_PERIOD: '100',
  CLUSTER__CHECK_ALIVE_COUNT: '30',
  // Workers re-join a new manager within an RPC timeout, 4 keep-alives and a retry: 1.5 s.
  CLUSTER__INITIAL_TIME: '2500',
  CLUSTER__JOIN_RETRIES: '300',
  CLUSTER__JOIN_RETRY_INTERVAL: '100',
  CLUSTER__RPC_TIMEOUT: '1000',
  CLUSTER__LOAD_METER: 'none',
  CLUSTER__CONFERENCE_RESERVE: '5000',
  CLUSTER__LEADERSHIP_RETRY_INTERVAL: '200',
  CLUSTER__STRATEGIES__PORTAL: 'round-robin',
  AGENT__PRERUN_PROCESSES: '1',
  // A node forked on demand may take seconds to start here, and getNode waits for it: under tsx,
  // with a dozen processes and media flowing on 2 cores, starts of 5-8 s were measured.
  AGENT__NODE_READY_TIMEOUT: '12000',
  AGENT__NODE_CHECK_PERIOD: '200',
  AGENT__NODE_CHECK_ALIVE_COUNT: '15',
  CONFERENCE__IDLE_ROOM_TIMEOUT: '2000',
  BUS__RECONNECT_DELAY: '50',
  BUS__MAX_RECONNECT_DELAY: '500',
};

/** Processes still running, killed if this test process exits without cleaning up, or is stopped (a runner's timeout). */
const everySpawned = new Set<ChildProcessWithoutNullStreams>();
const killEverySpawned = () => {
  for (const child of everySpawned) child.kill('SIGKILL');
};
process.once('exit', killEverySpawned);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    killEverySpawned();
    process.exit(1);
  });
}

/** One `conclave <component>` process and everything it printed. */
export class ComponentProcess {
  readonly exited: Promise<number | null>;
  private text = '';

  constructor(
    readonly name: string,
    readonly component: ComponentName,
    readonly child: ChildProcessWithoutNullStreams,
  ) {
    everySpawned.add(child);
    child.stdout.on('data', (chunk: Buffer) => (this.text += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (this.text += chunk.toString()));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        everySpawned.delete(child);
        resolve(code);
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  get output(): string {
    return this.text;
  }

  /** Waits until the output matches `pattern` (at or after `from`) and returns the match. */
  async printed(pattern: RegExp, from = 0, options: WaitOptions = slow): Promise<RegExpExecArray> {
    let match: RegExpExecArray | null = null;
    await waitFor(`${this.name} to print ${pattern}`, () => {
      if (this.child.exitCode !== null) throw new Error(`${this.name} exited with ${this.child.exitCode}:\n${this.text}`);
      match = pattern.exec(this.text.slice(from));
      return match !== null;
    }, options);
    return match!;
  }

  /** kill -9, also of the conference nodes it forked; resolves once it is gone. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const children = await childrenOf(this.pid);
    this.child.kill('SIGKILL');
    for (const { pid } of children) killQuietly(pid);
    await this.exited;
  }

  /** SIGTERM: a graceful stop; resolves with the exit code. */
  stop(): Promise<number | null> {
    this.child.kill('SIGTERM');
    return this.exited;
  }
}

export interface PortalProcess extends ComponentProcess {
  id: string;
  url: string;
}

export interface AgentProcess extends ComponentProcess {
  id: string;
  purpose: AgentPurpose;
}

export interface Participant {
  user: string;
  client: ConferenceClient;
  id: string;
  /** The login answer. */
  result: Record<string, unknown>;
  notifications: Notification[];
  /** The portal the token sent the client to. */
  portalUrl: string;
}

/** Waits for a notification of `event` to `participant` whose data passes `matches`, and returns it. */
export async function notified(
  participant: Participant,
  event: string,
  matches: (data: unknown) => boolean = () => true,
): Promise<Notification> {
  let found: Notification | undefined;
  await waitFor(`${participant.user} to be notified of ${event}`, () => {
    found = participant.notifications.find((notification) => notification.event === event && matches(notification.data));
    return found !== undefined || `got ${JSON.stringify(participant.notifications)}`;
  }, slow);
  return found!;
}

/** The portal a token names: `http://` + its host. */
export function portalUrlOf(token: string): string {
  const { host, secure } = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { host: string; secure: boolean };
  return `${secure ? 'https' : 'http'}://${host}`;
}

export class ProcessCluster {
  readonly processes: ComponentProcess[] = [];
  readonly exchange = `conclave-test-${randomUUID()}`;
  readonly schema = `conclave_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  readonly portals: PortalProcess[] = [];
  readonly agents: AgentProcess[] = [];
  readonly webrtcAgents: AgentProcess[] = [];
  private managementClient: ManagementClient | undefined;
  private testBus: AmqpBus | undefined;
  private readonly clients = new Set<ConferenceClient>();
  private readonly closers: Array<() => void> = [];

  private constructor(
    readonly dataDir: string,
    private readonly settings: ClusterSettings,
  ) {}

  /** `settings` (environment names without `CONCLAVE_`) override `clusterTimers` for every process. */
  static async create(settings: ClusterSettings = {}): Promise<ProcessCluster> {
    return new ProcessCluster(await mkdtemp(join(tmpdir(), 'conclave-cluster-')), settings);
  }

  get management(): ManagementClient {
    if (!this.managementClient) throw new Error('no management API started');
    return this.managementClient;
  }

  spawn(component: ComponentName, name: string = component): ComponentProcess {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const key of Object.keys(env)) if (key.startsWith('CONCLAVE_')) delete env[key];
    const settings: Record<string, string> = {
      ...clusterTimers,
      ...this.settings,
      DATA_DIR: this.dataDir,
      LOG__LEVEL: 'info',
      BUS__TYPE: 'amqp',
      BUS__AMQP_URL: amqpUrl,
      BUS__EXCHANGE: this.exchange,
      STORE__TYPE: 'postgres',
      STORE__POSTGRES_URL: postgresUrl,
      STORE__POSTGRES_SCHEMA: this.schema,
      PORTAL__PORT: '0',
      PORTAL__HOST: '127.0.0.1',
      PORTAL__HOSTNAME: '127.0.0.1',
      MANAGEMENT__PORT: '0',
      MANAGEMENT__HOST: '127.0.0.1',
    };
    for (const [key, value] of Object.entries(settings)) env[`CONCLAVE_${key}`] = value;
    const child = spawn(process.execPath, ['--import', 'tsx', conclave, component], { cwd: repository, env });
    const started = new ComponentProcess(name, component, child);
    this.processes.push(started);
    return started;
  }

  /** How many processes of `component` were spawned so far, to name the next one. */
  private count(component: ComponentName): number {
    return this.processes.filter(({ component: each }) => each === component).length + 1;
  }

  /** A manager process, once it stands by (it becomes active when it holds the lock). */
  async startManager(name = 'cluster-manager'): Promise<ComponentProcess> {
    const manager = this.spawn('cluster-manager', name);
    await manager.printed(/cluster manager: standing by/);
    return manager;
  }

  async startPortal(): Promise<PortalProcess> {
    const portal = this.spawn('portal', `portal-${this.count('portal')}`);
    const [, port, id] = await portal.printed(/portal \(Socket\.IO\):\s+(\d+)\n\s+worker:\s+(\S+)/);
    const started = Object.assign(portal, { id: id!, url: `http://127.0.0.1:${port}` });
    this.portals.push(started);
    return started;
  }

  /** An agent, once the idle nodes it keeps ready have started (a login would otherwise wait for them). */
  async startAgent(purpose: AgentPurpose = 'conference'): Promise<AgentProcess> {
    const component = `${purpose}-agent` as const;
    const agent = this.spawn(component, `${purpose === 'conference' ? 'agent' : component}-${this.count(component)}`);
    const [, id] = await agent.printed(new RegExp(`${purpose} agent:\\s+(\\S+)`));
    const prerun = Number(this.settings.AGENT__PRERUN_PROCESSES ?? clusterTimers.AGENT__PRERUN_PROCESSES);
    await waitFor(`${agent.name} to have ${prerun} node(s) ready`, () => {
      const ready = agent.output.split('"msg":"node started"').length - 1;
      return ready >= prerun || `${ready} ready`;
    }, slow);
    const started = Object.assign(agent, { id: id!, purpose });
    (purpose === 'conference' ? this.agents : this.webrtcAgents).push(started);
    return started;
  }

  async startManagementApi(): Promise<ComponentProcess> {
    const api = this.spawn('management-api');
    const [, port] = await api.printed(/management API:\s+(\d+)/);
    const { id, key } = JSON.parse(await readFile(join(this.dataDir, 'super-service.json'), 'utf8')) as { id: string; key: string };
    this.managementClient = new ManagementClient({ url: `http://127.0.0.1:${port}`, serviceId: id, key });
    return api;
  }

  /**
   * Managers (the first becomes active, the others stand by), a management API, portals and agents;
   * resolves when every worker has joined and tokens can be issued.
   */
  async start({ managers = 1, portals = 1, agents = 1, webrtcAgents = 0 } = {}): Promise<void> {
    const first = await this.startManager('manager-1');
    await first.printed(/cluster manager: active/);
    await Promise.all([
      ...Array.from({ length: managers - 1 }, (_, index) => this.startManager(`manager-${index + 2}`)),
      this.startManagementApi(),
      ...Array.from({ length: portals }, () => this.startPortal()),
      ...Array.from({ length: agents }, () => this.startAgent()),
      ...Array.from({ length: webrtcAgents }, () => this.startAgent('webrtc')),
    ]);
    await this.untilWorkersJoined();
    await this.untilTokensIssued();
  }

  /** The manager knows exactly the portals and agents that run (those killed are left out by the test). */
  untilWorkersJoined(workers: Array<PortalProcess | AgentProcess> = [...this.portals, ...this.agents, ...this.webrtcAgents]): Promise<void> {
    const expected = workers.map(({ id }) => id).sort();
    return waitFor('the cluster manager to know every worker', async () => {
      const known = (await this.workers().catch(() => [])).map(({ id }) => id).sort();
      return JSON.stringify(known) === JSON.stringify(expected) || `it knows [${known.join(', ')}]`;
    }, slow);
  }

  /** Until the manager is in service, token issuance fails with 'cluster manager is not ready.'. */
  untilTokensIssued(room?: string): Promise<void> {
    return waitFor('a token to be issued', async () => {
      try {
        await this.management.createToken(room ?? (await this.sampleRoom()), 'probe', 'presenter');
        return true;
      } catch (error) {
        return (error as Error).message;
      }
    }, slow);
  }

  async sampleRoom(): Promise<string> {
    const [room] = await this.management.getRooms();
    if (!room) throw new Error('no sample room');
    return room._id;
  }

  async bus(): Promise<AmqpBus> {
    this.testBus ??= await AmqpBus.connect(amqpUrl, this.exchange, { reconnectDelay: 50, maxReconnectDelay: 500 });
    return this.testBus;
  }

  async manager(): Promise<RpcClient<ManagerRpc>> {
    return rpcClient<ManagerRpc>(await this.bus(), MANAGER_ADDRESS, 2_000);
  }

  async workers(purpose?: Purpose): Promise<WorkerSnapshot[]> {
    return (await this.manager()).call('getWorkers', purpose === undefined ? [] : [purpose]);
  }

  /** The agent and node (of `purpose`) hosting `room`, and the node's process. */
  async nodeOf(room: string, purpose: AgentPurpose = 'conference'): Promise<{ agent: AgentProcess; node: string; process: ProcessEntry }> {
    const agentId = await (await this.manager()).call('getScheduled', [purpose, room]);
    const agent = [...this.agents, ...this.webrtcAgents].find(({ id }) => id === agentId);
    if (!agent) throw new Error(`room ${room} is scheduled on ${agentId}, not on an agent of this test`);
    const node = await rpcClient<AgentRpc>(await this.bus(), agent.id, 2_000).call('queryNode', [room]);
    if (!node) throw new Error(`${agent.id} hosts no node for room ${room}`);
    const nodeProcess = (await childrenOf(agent.pid)).find(({ args }) => args.includes(NODE_COMMANDS[purpose]) && args.includes(node));
    if (!nodeProcess) throw new Error(`no process of ${node} under ${agent.name}`);
    return { agent, node, process: nodeProcess };
  }

  /** Creates a token, logs a client in on the portal the token names, and records its notifications. */
  async join(user: string, room?: string): Promise<Participant> {
    const token = await this.management.createToken(room ?? (await this.sampleRoom()), user, 'presenter');
    const portalUrl = portalUrlOf(token);
    const client = new ConferenceClient(portalUrl, { socket: { transports: ['websocket'] } });
    this.clients.add(client);
    const notifications: Notification[] = [];
    client.on('notification', (notification: Notification) => notifications.push(notification));
    const result = await client.join(token);
    return { user, client, id: result['id'] as string, result, notifications, portalUrl };
  }

  /** Runs `close` when the cluster closes, before its processes are killed. */
  onClose(close: () => void): void {
    this.closers.push(close);
  }

  /** What every process printed, to explain a failure. */
  report(): string {
    return this.processes.map((each) => `----- ${each.name} (pid ${each.pid})\n${each.output.slice(-6_000)}`).join('\n');
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.close();
    for (const close of this.closers) close();
    await Promise.all(this.processes.map((each) => each.kill()));
    // Nodes of an agent killed by the test itself outlive it if they fail to notice.
    for (const agent of [...this.agents, ...this.webrtcAgents]) {
      for (const { pid } of await processesWith(NODE_COMMANDS[agent.purpose], '--agent', agent.id)) killQuietly(pid);
    }
    await this.testBus?.close();
    const admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(this.schema)} CASCADE`).finally(() => admin.end());
    const connection = await amqp.connect(amqpUrl);
    await (await connection.createChannel()).deleteExchange(this.exchange);
    await connection.close();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** A test with a fresh cluster, closed whatever happens; on failure the processes' output is attached. */
export function clusterTest(
  name: string,
  body: (cluster: ProcessCluster, t: TestContext) => Promise<void>,
  settings: ClusterSettings = {},
): void {
  it(name, async (t) => {
    const cluster = await ProcessCluster.create(settings);
    try {
      await body(cluster, t);
    } catch (error) {
      for (const line of cluster.report().split('\n')) t.diagnostic(line);
      throw error;
    } finally {
      await cluster.close();
    }
  });
}

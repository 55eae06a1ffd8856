import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { Server } from 'socket.io';
import { messageOf, rpcClient, serveRpc, type Bus, type Served, type Subscription } from '../bus/index.js';
import { CLUSTER_EVENTS, MANAGER_ADDRESS, type ClusterEvent, type ManagerRpc } from '../cluster/api.js';
import { ClusterWorker } from '../cluster/index.js';
import { ConferenceErrors, type AgentRpc, type JoinResult, type NodeRpc, type ParticipantInfo } from '../conference/api.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import { tokenKeyOf } from '../management/token.js';
import type { ConsumeResult, SessionRecord, Store, TokenRecord } from '../store/index.js';
import type { PortalRpc } from './api.js';
import { Connection, type PortalContext } from './connection.js';
import { PortalError, PortalErrors } from './errors.js';
import { localDirectory, storeDirectory, type SessionDirectory } from './directory.js';
import { flavourFor, type Protocol } from './flavours.js';
import { RateWindow } from './rate.js';
import { SessionRegistry } from './registry.js';
import { reconnectionKeyOf } from './tickets.js';
import { Session, type Controller } from './session.js';

export interface PortalDeps {
  config: Config;
  bus: Bus;
  store: Store;
  logger: Logger;
}

/** What the portal needs of an engine.io connection to count it against its address. */
interface EngineConnection {
  readonly remoteAddress: string;
  close(): void;
  once(event: 'close', listener: () => void): void;
}

const ConnectionRefusals = {
  origin: 'Origin not allowed',
  tooManyConnections: 'Too many connections',
} as const;

function tlsOptions(config: Config['portal']['tls']): { cert: Buffer; key: Buffer } | undefined {
  if (!config.cert || !config.key) return undefined;
  return { cert: readFileSync(config.cert), key: readFileSync(config.key) };
}

/**
 * The Socket.IO portal (SPEC §4–§7): client connections, their sessions, and the bus endpoint
 * through which conference nodes reach those clients.
 */
export class Portal implements PortalContext {
  readonly registry: SessionRegistry;
  readonly logger: Logger;
  readonly config: Config;
  directory: SessionDirectory = localDirectory;
  tokenKey = '';
  reconnectionKey = '';
  private readonly connectionsPerIp = new Map<string, number>();
  private readonly loginRate = new RateWindow(60_000);
  private readonly httpServer: HttpServer;
  private readonly io: Server;
  private worker!: ClusterWorker;
  private readonly manager: ReturnType<typeof rpcClient<ManagerRpc>>;
  private served: Served | undefined;
  private clusterEvents: Subscription | undefined;
  private keyReload: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly tls: { cert: Buffer; key: Buffer } | undefined;

  private constructor(private readonly deps: PortalDeps) {
    this.config = deps.config;
    this.logger = deps.logger.child({ component: 'portal' });
    const portal = this.config.portal;
    this.tls = tlsOptions(portal.tls);
    this.httpServer = this.tls ? createHttpsServer(this.tls) : createHttpServer();
    this.io = new Server(this.httpServer, {
      allowEIO3: true,
      cors: { origin: portal.cors.includes('*') ? '*' : [...portal.cors] },
      allowRequest: (request, answer) => {
        const refusal = this.refusalOf(request.headers.origin, request.socket.remoteAddress ?? '');
        answer(refusal ?? null, refusal === undefined);
      },
      pingInterval: portal.pingInterval,
      pingTimeout: portal.pingTimeout,
      maxHttpBufferSize: portal.maxHttpBufferSize,
      serveClient: false,
    });
    this.registry = new SessionRegistry({
      addTask: (task) => this.worker.addTask(task),
      removeTask: (task) => this.worker.removeTask(task),
    });
    this.manager = rpcClient<ManagerRpc>(deps.bus, MANAGER_ADDRESS, this.config.cluster.rpcTimeout);
  }

  static async start(deps: PortalDeps): Promise<Portal> {
    const portal = new Portal(deps);
    try {
      await portal.listen();
    } catch (error) {
      // Whatever was opened before the failure (the listening server, its RPC, the key reload) is closed.
      await portal.close();
      throw error;
    }
    return portal;
  }

  get id(): string {
    return this.worker.id;
  }

  get port(): number {
    return (this.httpServer.address() as AddressInfo).port;
  }

  /** The token codes this portal's cluster worker holds. */
  get tasks(): readonly string[] {
    return [...this.worker.tasks];
  }

  private async listen(): Promise<void> {
    await this.loadKeys();
    this.keyReload = setInterval(() => {
      this.loadKeys().catch((error: unknown) => this.logger.warn({ err: error }, 'token key reload failed'));
    }, this.config.portal.tokenKeyReload);
    this.keyReload.unref();

    await new Promise<void>((resolve, reject) => {
      this.httpServer.once('error', reject);
      this.httpServer.listen(this.config.portal.port, this.config.portal.host, () => {
        this.httpServer.off('error', reject);
        resolve();
      });
    });
    const portal = this.config.portal;
    this.worker = new ClusterWorker({
      bus: this.deps.bus,
      config: this.config,
      logger: this.logger,
      purpose: 'portal',
      info: {
        ip: portal.ip,
        hostname: portal.hostname || hostname(),
        port: this.port,
        via_host: portal.viaHost,
        ssl: this.tls !== undefined,
        capacity: { isps: [...portal.isps], regions: [...portal.regions] },
      },
      onLoss: () => this.dropAll('cluster worker lost'),
    });
    // Sessions outlive this portal only when there are other portals to resume them: cluster mode.
    if (this.config.bus.type !== 'in-process') {
      this.directory = storeDirectory(this.deps.store, this.worker.id, this.config, this.logger);
    }
    this.served = await serveRpc<PortalRpc>(this.deps.bus, this.worker.id, {
      notify: (participantId, event, data) => this.registry.get(participantId)?.notify(event, data),
      broadcast: (room, excludeList, event, data) => {
        const excluded = new Set(excludeList);
        for (const session of this.registry.inRoom(room)) {
          if (!excluded.has(session.participantId)) session.notify(event, data);
        }
      },
      drop: (participantId) => {
        const session = this.registry.get(participantId);
        if (session) this.drop(session, false);
      },
      release: (participantId) => {
        const session = this.registry.get(participantId);
        if (!session) return;
        this.logger.info({ participant: participantId, room: session.roomId }, 'participant moved to another portal');
        this.registry.remove(session);
        if (session.carrier instanceof Connection) session.carrier.detach();
      },
    });
    this.clusterEvents = await this.deps.bus.subscribe(CLUSTER_EVENTS, (message) => this.onClusterEvent(message as ClusterEvent));
    await this.worker.start();
    this.io.engine.on('connection', (connection: EngineConnection) => this.countConnection(connection));
    // A connection lives on through its socket's listeners.
    this.io.on('connection', (socket) => new Connection(socket, this));
  }

  /**
   * Why a handshake is refused, if it is. CORS binds only a browser reading answers, so a browser's
   * WebSocket from another origin is refused here; native SDKs send no Origin.
   */
  private refusalOf(origin: string | undefined, ip: string): string | undefined {
    const { cors, maxConnectionsPerIp } = this.config.portal;
    if (origin !== undefined && !cors.includes('*') && !cors.includes(origin)) return ConnectionRefusals.origin;
    if (this.connectionsFrom(ip) >= maxConnectionsPerIp) return ConnectionRefusals.tooManyConnections;
    return undefined;
  }

  private connectionsFrom(ip: string): number {
    return this.connectionsPerIp.get(ip) ?? 0;
  }

  /** Counted per transport connection, so one that never joins a namespace counts too. */
  private countConnection(connection: EngineConnection): void {
    const ip = connection.remoteAddress;
    const count = this.connectionsFrom(ip) + 1;
    this.connectionsPerIp.set(ip, count);
    connection.once('close', () => {
      const remaining = this.connectionsFrom(ip) - 1;
      if (remaining <= 0) this.connectionsPerIp.delete(ip);
      else this.connectionsPerIp.set(ip, remaining);
    });
    // Handshakes racing past allowRequest.
    if (count > this.config.portal.maxConnectionsPerIp) connection.close();
  }

  private async loadKeys(): Promise<void> {
    const { store } = this.deps;
    this.tokenKey = await tokenKeyOf(store);
    this.reconnectionKey = await reconnectionKeyOf(store);
  }

  admitLogin(ip: string): boolean {
    return this.loginRate.hit(ip, this.config.portal.loginAttemptsPerIpPerMinute);
  }

  consumeToken(tokenId: string): Promise<ConsumeResult> {
    return this.deps.store.consumeToken(tokenId, this.config.tokens.lifetime, Date.now());
  }

  async getController(room: string, origin: TokenRecord['origin']): Promise<Controller> {
    const agent = await this.manager.call('schedule', ['conference', room, origin, this.config.cluster.conferenceReserve]);
    const node = await rpcClient<AgentRpc>(this.deps.bus, agent.id, this.config.cluster.rpcTimeout).call('getNode', [
      { room, task: room },
    ]);
    return { agent: agent.id, node };
  }

  join(controller: Controller, room: string, participant: ParticipantInfo): Promise<JoinResult> {
    return this.node(controller).call('join', [room, participant], this.config.portal.joinTimeout);
  }

  async text(controller: Controller, from: string, to: string, message: string): Promise<void> {
    await this.node(controller).call('text', [from, to, message], this.config.portal.textTimeout);
  }

  async leave(controller: Controller, participantId: string): Promise<void> {
    await this.node(controller).call('leave', [participantId, this.id]);
  }

  async resume(record: SessionRecord, connection: Connection): Promise<Session> {
    const held = await this.node(record.controller)
      .call('resume', [record.participantId, this.id])
      .catch((error: unknown) => {
        // The node already gave the participant up (not resumed in time, or it missed too much).
        if (messageOf(error) === ConferenceErrors.notJoined) throw new PortalError(PortalErrors.clientMissing);
        throw error;
      });
    const session = new Session(
      record.participantId, record.user, record.role, record.roomId, record.tokenCode, record.origin,
      record.controller, flavourFor(record.protocol as Protocol, record.sdkType), record.sdkType, true,
      connection, connection.bufferLimits(),
    );
    for (const notification of held) session.notify(notification.event, notification.data);
    this.registry.add(session);
    return session;
  }

  retire(session: Session): void {
    session.reconnection = false;
    this.registry.retire(session.participantId, Date.now() + this.config.portal.reconnectionTicketLifetime);
    this.directory.retire(session.participantId);
  }

  async endSession(session: Session, leave: boolean): Promise<void> {
    if (!this.registry.remove(session)) return;
    this.directory.remove(session.participantId);
    this.logger.info({ participant: session.participantId, room: session.roomId }, 'participant left');
    if (leave) {
      await this.leave(session.controller, session.participantId).catch((error: unknown) => {
        this.logger.warn({ err: error, participant: session.participantId }, 'leave failed');
      });
    }
  }

  private node(controller: Controller) {
    return rpcClient<NodeRpc>(this.deps.bus, controller.node, this.config.portal.rpcTimeout);
  }

  /** Drop (SPEC §7): `drop` to the client, out of the room, socket closed, no reconnection. */
  private drop(session: Session, leave: boolean): void {
    this.retire(session);
    const carrier = session.carrier;
    if (carrier instanceof Connection) carrier.drop();
    this.endSession(session, leave).catch(() => undefined);
  }

  private dropAll(reason: string): void {
    this.logger.warn({ reason, participants: this.registry.size }, 'dropping every participant');
    for (const session of this.registry.all()) this.drop(session, true);
  }

  private onClusterEvent(event: ClusterEvent): void {
    const lost = (session: Session) =>
      (event.type === 'node-lost' && session.controller.node === event.node) ||
      (event.type === 'worker-quit' && event.purpose === 'conference' && session.controller.agent === event.id);
    for (const session of this.registry.all()) {
      if (lost(session)) this.drop(session, false);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keyReload);
    for (const session of this.registry.all()) {
      session.reconnection = false;
      if (session.carrier instanceof Connection) session.carrier.detach();
      await this.endSession(session, true);
    }
    this.io.disconnectSockets(true);
    await this.clusterEvents?.close();
    await this.served?.close();
    // Undefined when the start failed before the worker was made.
    await this.worker?.quit();
    await new Promise<void>((resolve) => this.io.close(() => resolve()));
  }
}

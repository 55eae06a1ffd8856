import { createServer as createHttpServer, ServerResponse, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import { Server } from 'socket.io';
import { rpcClient, serveRpc, type Bus, type Served, type Subscription } from '../bus/index.js';
import { CLUSTER_EVENTS, type ClusterEvent } from '../cluster/api.js';
import { ClusterWorker } from '../cluster/index.js';
import type { NodeRpc } from '../conference/api.js';
import { requireSeq } from '../bus/arguments.js';
import { isClusterMode, type Config } from '../config/config.js';
import { type Logger, componentLogger } from '../logger.js';
import { openFileLimit } from '../net/open-files.js';
import { listenFailure, readSettingFile } from '../net/startup-errors.js';
import { guardSockets, OPEN_FILE_SHARES, resolveSocketLimits, type SocketLimits } from '../net/socket-guard.js';
import type { ClientToServerEvents, ServerToClientEvents, Unchecked } from '../protocol/socket.js';
import type { Store } from '../store/index.js';
import type { PortalRpc } from './api.js';
import { Confirmations } from './confirmations.js';
import { Connection } from './connection.js';
import { controllersOnBus } from './controllers.js';
import { localDirectory, storeDirectory, type SessionDirectory } from './directory.js';
import { PortalKeys } from './keys.js';
import { SessionRegistry } from './registry.js';
import type { Session } from './session.js';
import { metrics } from '../metrics.js';

/** Where a closing page says its participant leaves (the body: its reconnection ticket). */
export const LEAVE_PATH = '/leave';
/** A ticket is at most 1 KB encoded; the rest is slack. */
const MAX_LEAVE_BODY = 2_048;
import { SessionService } from './sessions.js';
import { RoomNotification } from './wire.js';

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

/** engine.io's code for a handshake its `allowRequest` refused, which long-polling clients get in a 403 body. */
const FORBIDDEN = 4;

function refuseUpgrade(socket: Duplex, message: string): void {
  const body = JSON.stringify({ code: FORBIDDEN, message });
  socket.end(
    `HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function tlsOptions(config: Config['portal']['tls']): { cert: Buffer; key: Buffer } | undefined {
  if (!config.cert || !config.key) return undefined;
  return { cert: readSettingFile('portal.tls.cert', config.cert), key: readSettingFile('portal.tls.key', config.key) };
}

/**
 * The Socket.IO portal (SPEC §4–§7): client connections, their sessions, and the bus endpoint
 * through which conference nodes reach those clients.
 */
export class Portal {
  readonly registry: SessionRegistry;
  private readonly logger: Logger;
  private readonly config: Config;
  private readonly keys: PortalKeys;
  private sessions!: SessionService;
  private readonly connectionsPerIp = new Map<string, number>();
  private unregisterGauges: (() => void) | undefined;
  private readonly httpServer: HttpServer;
  private readonly io: Server<Unchecked<ClientToServerEvents>, ServerToClientEvents>;
  private worker!: ClusterWorker;
  private served: Served | undefined;
  /** Cluster mode: nodes keep what they sent until told it reached its participants here. */
  private confirmations: Confirmations | undefined;
  private clusterEvents: Subscription | undefined;
  private keyReload: NodeJS.Timeout | undefined;
  private outboxSweep: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly tls: { cert: Buffer; key: Buffer } | undefined;
  private readonly socketLimits: SocketLimits;

  private constructor(private readonly deps: PortalDeps) {
    this.config = deps.config;
    this.logger = componentLogger(deps.logger, 'portal');
    const portal = this.config.portal;
    this.tls = tlsOptions(portal.tls);
    // Socket.IO takes its own path; anything else is answered at once rather than left hanging on an open socket.
    const answer = (request: IncomingMessage, response: ServerResponse) => {
      if (request.method === 'POST' && request.url === LEAVE_PATH) {
        this.leaveByTicket(request, response).catch(() => response.destroy());
        return;
      }
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
    };
    this.httpServer = this.tls ? createHttpsServer(this.tls, answer) : createHttpServer(answer);
    this.io = new Server<Unchecked<ClientToServerEvents>, ServerToClientEvents>(this.httpServer, {
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
    // engine.io answers every refused WebSocket handshake 400; it is refused here first, with a 403 as over long-polling.
    this.io.engine.use((request: IncomingMessage, response: ServerResponse, next: (error?: Error) => void) => {
      if (response instanceof ServerResponse || new URL(request.url ?? '/', 'http://portal').searchParams.has('sid')) return next();
      const refusal = this.refusalOf(request.headers.origin, request.socket.remoteAddress ?? '');
      if (refusal === undefined) return next();
      refuseUpgrade(request.socket, refusal);
      next(new Error(refusal));
    });
    this.socketLimits = resolveSocketLimits(portal, OPEN_FILE_SHARES.portal, openFileLimit());
    guardSockets(this.httpServer, this.socketLimits, this.logger, true);
    this.registry = new SessionRegistry(
      {
        addTask: (task) => this.worker.addTask(task),
        removeTask: (task) => this.worker.removeTask(task),
      },
      (session) => this.confirmations?.left(session),
    );
    this.keys = new PortalKeys(deps.store, portal.reconnectionTicketLifetime);
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

  /** Where this portal publishes its sessions for others to resume (cluster mode). */
  get directory(): SessionDirectory {
    return this.sessions.directory;
  }

  set directory(directory: SessionDirectory) {
    this.sessions.directory = directory;
  }

  get port(): number {
    return (this.httpServer.address() as AddressInfo).port;
  }

  /** The token codes this portal's cluster worker holds. */
  get tasks(): readonly string[] {
    return [...this.worker.tasks];
  }

  private async listen(): Promise<void> {
    await this.keys.load();
    this.keyReload = setInterval(() => {
      this.keys.load().catch((error: unknown) => this.logger.warn({ err: error }, 'token key reload failed'));
    }, this.config.portal.tokenKeyReload);
    this.keyReload.unref();

    const { port, host } = this.config.portal;
    await new Promise<void>((resolve, reject) => {
      const refuse = (error: Error) => reject(listenFailure('portal', host, port, error));
      this.httpServer.once('error', refuse);
      this.httpServer.listen(port, host, () => {
        this.httpServer.off('error', refuse);
        resolve();
      });
    });
    const portal = this.config.portal;
    this.logger.info({ ...this.socketLimits, openFiles: openFileLimit() }, 'portal connection limits');
    if (this.socketLimits.maxSockets > 0 && this.socketLimits.maxSockets < portal.maxParticipants) {
      this.logger.warn(
        { maxSockets: this.socketLimits.maxSockets, maxParticipants: portal.maxParticipants },
        'the open-file limit leaves the portal fewer sockets than portal.maxParticipants: raise it (ulimit -n, LimitNOFILE)',
      );
    }
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
    const controllers = controllersOnBus(this.deps.bus, this.config, this.worker.id);
    // Sessions outlive this portal only when there are other portals to resume them: cluster mode.
    const clusterMode = isClusterMode(this.config);
    if (clusterMode) {
      this.confirmations = new Confirmations(
        (node, room) => [...this.registry.inRoom(room)].filter((session) => session.controller.node === node),
        (node, room, upTo, away) =>
          rpcClient<NodeRpc>(this.deps.bus, node, this.config.cluster.rpcTimeout).cast('confirm', [room, this.worker.id, upTo, away]),
      );
    }
    this.sessions = new SessionService({
      config: this.config,
      logger: this.logger,
      store: this.deps.store,
      registry: this.registry,
      directory: clusterMode ? storeDirectory(this.deps.store, this.worker.id, this.config, this.logger) : localDirectory,
      controllers,
      keys: this.keys,
      confirmations: this.confirmations,
    });
    this.served = await serveRpc<PortalRpc>(this.deps.bus, this.worker.id, {
      notify: (participantId, event, data, seq) => {
        const session = this.registry.get(participantId);
        if (!session) return;
        session.notify(event, data, requireSeq(seq, 'seq'));
        this.confirmations?.took(session, seq);
      },
      broadcast: (room, excludeList, event, data, seq) => {
        requireSeq(seq, 'seq');
        const excluded = new Set(excludeList);
        const notification = new RoomNotification(event, data, seq);
        let taker: Session | undefined;
        for (const session of this.registry.inRoom(room)) {
          taker ??= session;
          if (!excluded.has(session.participantId)) session.notify(event, data, seq, notification);
        }
        if (taker) this.confirmations?.took(taker, seq);
      },
      drop: (participantId) => {
        const session = this.registry.get(participantId);
        if (session) this.drop(session, false);
      },
      awayOf: (participantIds) =>
        participantIds.filter((participantId) => this.registry.get(participantId)?.carrier.isConnected === false),
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
    const connectionDeps = {
      portalId: this.worker.id,
      limits: this.config.portal,
      logger: this.logger,
      sessions: this.sessions,
      controllers,
      keys: this.keys,
    };
    this.io.on('connection', (socket) => new Connection(socket, connectionDeps));
    this.unregisterGauges = this.registerGauges();
    // An idle 1.2 client's buffer would keep its last window's notifications until the next one came.
    this.outboxSweep = setInterval(() => {
      const now = Date.now();
      for (const session of this.registry.all()) session.outbox.forgetAged(now);
    }, this.sessions.outboxLimits.windowMs);
    this.outboxSweep.unref();
  }

  /**
   * `POST /leave` with a reconnection ticket as the body: the participant leaves now. A page that
   * is closing sends it (`navigator.sendBeacon` outlives the page), where its socket's close would
   * look like a network drop and keep it in the room until the reconnection timeout. The ticket is
   * the credential, as for a relogin.
   */
  private async leaveByTicket(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const reply = (status: number, text: string): void => {
      response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(status === 204 ? undefined : `${text}\n`);
    };
    let body = '';
    for await (const chunk of request as AsyncIterable<Buffer>) {
      body += chunk.toString('utf8');
      if (body.length > MAX_LEAVE_BODY) return reply(413, 'Too large');
    }
    const checked = this.keys.verifyTicket(body.trim());
    if (!checked.ok) return reply(400, 'Invalid reconnection ticket');
    const session = this.registry.get(checked.ticket.participantId);
    if (!session || !session.validTickets.has(checked.ticket.ticketId)) return reply(404, 'Client does NOT exist');
    this.sessions.retire(session);
    if (session.carrier instanceof Connection) session.carrier.detach();
    await this.sessions.end(session, true);
    reply(204, '');
  }

  /** Participants (connected, or awaited), rooms and connections, read when `/metrics` is asked. */
  private registerGauges(): () => void {
    const portal = this.worker.id;
    const component = 'portal';
    const removals = [
      metrics.gauge('conclave_portal_participants', 'Participants on this portal: connected, or away while it waits for them to reconnect.', () => {
        const sessions = this.registry.all();
        const connected = sessions.filter((session) => session.carrier.isConnected).length;
        return [
          [{ component, portal, state: 'connected' }, connected],
          [{ component, portal, state: 'away' }, sessions.length - connected],
        ];
      }),
      metrics.gauge('conclave_portal_outbox_notifications', 'Notifications held for participants: pending for one away, or kept for a 1.2 client to replay.', () => [
        [{ component, portal }, this.registry.all().reduce((sum, session) => sum + session.outbox.size, 0)],
      ]),
      metrics.gauge('conclave_portal_rooms', 'Rooms with participants on this portal.', () => [
        [{ component, portal }, new Set(this.registry.all().map((session) => session.roomId)).size],
      ]),
      metrics.gauge('conclave_portal_connections', 'Open Socket.IO (Engine.IO) connections to this portal, logged in or not.', () => [
        [{ component, portal }, [...this.connectionsPerIp.values()].reduce((sum, count) => sum + count, 0)],
      ]),
    ];
    return () => removals.forEach((remove) => remove());
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

  /** Drop (SPEC §7): `drop` to the client, out of the room, socket closed, no reconnection. */
  private drop(session: Session, leave: boolean): void {
    this.sessions.retire(session);
    const carrier = session.carrier;
    if (carrier instanceof Connection) carrier.drop();
    this.sessions.end(session, leave).catch(() => undefined);
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
    this.unregisterGauges?.();
    clearInterval(this.keyReload);
    clearInterval(this.outboxSweep);
    for (const session of this.registry.all()) {
      session.reconnection = false;
      if (session.carrier instanceof Connection) session.carrier.detach();
      await this.sessions.end(session, true);
    }
    this.io.disconnectSockets(true);
    await this.clusterEvents?.close();
    await this.served?.close();
    // Undefined when the start failed before the worker was made.
    await this.worker?.quit();
    await new Promise<void>((resolve) => this.io.close(() => resolve()));
  }
}

import { randomBytes } from 'node:crypto';
import type { JoinResult, NodeRpc, ParticipantInfo } from '../conference/api.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import { ackMessageOf, messageOf } from '../protocol/errors.js';
import { mediaClientEvents, versionedProtocols, type AckStatus, type ClientToServerEvents, type Protocol } from '../protocol/socket.js';
import type { ReconnectionTicket } from '../protocol/ticket.js';
import { decodeToken } from '../protocol/token.js';
import type { ControllerGateway, MediaMethod } from './controllers.js';
import { portalError, PortalErrors } from './errors.js';
import { flavourFor, reconnectingSdks } from './flavours.js';
import type { KeyVerifier } from './keys.js';
import {
  isPublishRequest,
  isSessionRequest,
  isSoacRequest,
  isStreamControlRequest,
  isSubscribeRequest,
  isSubscriptionControlRequest,
} from '../conference/media-requests.js';
import { mediaError } from '../conference/errors.js';
import { EventRate, RateVerdicts } from './rate.js';
import { isCustomMessageRequest, isLoginObject, isTextRequest, isToken, isUserAgent } from './requests.js';
import { Session, type Carrier, type Controller, type PortalSocket } from './session.js';
import { metrics } from '../metrics.js';
import type { SessionService } from './sessions.js';

export const ConnectionState = {
  initialized: 'initialized',
  connecting: 'connecting',
  connected: 'connected',
  waitingForReconnecting: 'waiting_for_reconnecting',
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/** A login or relogin, by its result: `ok` or the refusal's message. */
function countAttempt(request: 'login' | 'relogin', result: string): void {
  metrics.count(`conclave_portal_${request}s_total`, `${request === 'login' ? 'Logins' : 'Relogins'} by result: ok, or why refused.`, { component: 'portal', result });
}

/** An ack as the portal calls it: whatever the client sent, calling it is safe. */
export type Ack = (status: AckStatus, data?: unknown) => void;

/** What a client event runs on the connection it came on. */
type EventHandler = (connection: Connection, payload: unknown, ack: Ack) => void | Promise<void>;

/** A connection's collaborators, injected by its portal. */
export interface ConnectionDeps {
  /** The portal's worker id: where the controller sends this participant's notifications. */
  portalId: string;
  limits: Config['portal'];
  logger: Logger;
  sessions: SessionService;
  controllers: ControllerGateway;
  keys: KeyVerifier;
}

type MediaEvent = (typeof mediaClientEvents)[number];
type MediaCall = { [K in MediaMethod]: { method: K; args: Parameters<NodeRpc[K]> } }[MediaMethod];

/** A new publication's or subscription's id. */
const newSessionId = (): string => randomBytes(12).toString('hex');

/** Each media event of protocol 1.x: how its payload is checked, and the controller call it becomes. */
const mediaCalls: Record<MediaEvent, (payload: unknown, participantId: string) => MediaCall | undefined> = {
  publish: (payload, participantId) =>
    isPublishRequest(payload) ? { method: 'publish', args: [participantId, newSessionId(), payload] } : undefined,
  unpublish: (payload, participantId) => (isSessionRequest(payload) ? { method: 'unpublish', args: [participantId, payload.id] } : undefined),
  subscribe: (payload, participantId) =>
    isSubscribeRequest(payload) ? { method: 'subscribe', args: [participantId, newSessionId(), payload] } : undefined,
  unsubscribe: (payload, participantId) => (isSessionRequest(payload) ? { method: 'unsubscribe', args: [participantId, payload.id] } : undefined),
  soac: (payload, participantId) => (isSoacRequest(payload) ? { method: 'soac', args: [participantId, payload] } : undefined),
  'stream-control': (payload, participantId) =>
    isStreamControlRequest(payload) ? { method: 'streamControl', args: [participantId, payload] } : undefined,
  'subscription-control': (payload, participantId) =>
    isSubscriptionControlRequest(payload) ? { method: 'subscriptionControl', args: [participantId, payload] } : undefined,
};

/** The client's ack is the last argument when it is a function; whatever else came is left in `args`. */
function takeAck(args: unknown[]): Ack {
  return toAck(args.length > 0 && typeof args[args.length - 1] === 'function' ? args.pop() : undefined);
}

function toAck(candidate: unknown): Ack {
  if (typeof candidate !== 'function') return () => undefined;
  return (status, data) => {
    try {
      if (data === undefined) candidate(status);
      else candidate(status, data);
    } catch {
      // A client's ack callback cannot hurt the portal.
    }
  };
}

/**
 * One client socket and its state machine (SPEC §5). After login it carries a Session; a relogin
 * on another socket takes that session over.
 */
export class Connection implements Carrier {
  private state: ConnectionState = ConnectionState.initialized;
  private session: Session | undefined;
  private loginTimer: NodeJS.Timeout | undefined;
  private waitTimer: NodeJS.Timeout | undefined;
  private readonly rate: EventRate;

  constructor(
    readonly socket: PortalSocket,
    private readonly deps: ConnectionDeps,
  ) {
    const { limits } = deps;
    this.rate = new EventRate(limits.eventsPerSecond, limits.disconnectAfterExcessSeconds);
    this.armLoginDeadline();
    socket.onAny((event: string, ...args: unknown[]) => this.dispatch(event, args));
    socket.on('disconnect', () => this.onDisconnect());
  }

  get isConnected(): boolean {
    return this.state === ConnectionState.connected;
  }

  get participantId(): string | undefined {
    return this.session?.participantId;
  }

  /**
   * What each client event runs, shared by every connection: one listener per socket instead of
   * one per event and socket, which an idle participant would carry for nothing.
   */
  private static readonly handlers: ReadonlyMap<string, EventHandler> = new Map<keyof ClientToServerEvents, EventHandler>([
    ['login', (connection, payload, ack) => connection.login(payload, ack)],
    ['relogin', (connection, payload, ack) => connection.relogin(payload, ack)],
    ['refreshReconnectionTicket', (connection, _payload, ack) => connection.refreshTicket(ack)],
    ['logout', (connection, _payload, ack) => connection.logout(ack)],
    ['text', (connection, payload, ack) => connection.text(payload, ack)],
    ['customMessage', (connection, payload, ack) => connection.customMessage(payload, ack)],
    ...mediaClientEvents.map((event): [typeof event, EventHandler] => [event, (connection, payload, ack) => connection.media(event, payload, ack)]),
  ]);

  /** Runs an event's handler with the payload and a safe ack whatever the client sent; any other event is answered too. */
  private dispatch(event: string, args: unknown[]): void {
    const ack = takeAck(args);
    if (!this.admit(ack)) return;
    const handler = Connection.handlers.get(event);
    if (!handler) {
      ack('error', PortalErrors.illegalRequest);
      return;
    }
    // Events read in the same chunk as the client's disconnect come after it: they are ignored, as
    // Socket.IO does for listeners of their own event.
    Promise.resolve()
      .then(() => (this.socket.connected ? handler(this, args[0], ack) : undefined))
      .catch((error: unknown) => {
        this.deps.logger.error({ err: error, event, socket: this.socket.id }, 'event handler failed');
        ack('error', ackMessageOf(error));
      });
  }

  /** Counts an event against this connection's rate; past it the event is refused, and a client that keeps on is cut off. */
  private admit(ack: Ack): boolean {
    const verdict = this.rate.hit();
    if (verdict === RateVerdicts.admit) return true;
    ack('error', PortalErrors.rateLimited);
    if (verdict === RateVerdicts.abuse) {
      this.deps.logger.warn({ socket: this.socket.id, participant: this.participantId }, 'client disconnected for a sustained event flood');
      this.socket.disconnect(true);
    }
    return false;
  }

  private armLoginDeadline(): void {
    clearTimeout(this.loginTimer);
    this.loginTimer = setTimeout(() => {
      if (this.state !== ConnectionState.connected) this.socket.disconnect(true);
    }, this.deps.limits.loginTimeout);
  }

  private async login(payload: unknown, ack: Ack): Promise<void> {
    if (this.state !== ConnectionState.initialized) {
      ack('error', PortalErrors.inService);
      return;
    }
    this.state = ConnectionState.connecting;
    const participantId = this.socket.id;
    try {
      if (!this.deps.sessions.admitLogin(this.socket.handshake.address)) throw portalError('rateLimited');
      if (!isLoginObject(payload)) throw portalError('invalidLogin');
      const { protocol: requested, userAgent, token: encodedToken } = payload;
      if (requested !== undefined && !versionedProtocols.includes(requested as string)) {
        throw portalError('unknownProtocol');
      }
      const protocol = (requested ?? 'legacy') as Protocol;
      if ((userAgent as { sdk?: { version?: unknown } } | undefined)?.sdk?.version === '3.5') {
        throw portalError('deprecatedVersion');
      }
      if (!isUserAgent(userAgent)) throw portalError('userAgent');
      if (!isToken(encodedToken)) throw portalError('invalidToken');
      if (this.deps.sessions.full) throw portalError('portalFull');
      const token = decodeToken(encodedToken);
      if (!token) throw portalError('invalidToken');
      if (!this.deps.keys.verifyToken(token)) throw portalError('invalidTokenSignature');
      const consumed = await this.deps.sessions.consumeToken(token.tokenId);
      if (consumed.status === 'missing') throw portalError('tokenMissing');
      if (consumed.status === 'expired') throw portalError('tokenExpired');
      const record = consumed.token;

      const controller = await this.deps.controllers.locate(record.room, record.origin);
      const joined = await this.joinOrLeave(controller, record.room, {
        id: participantId,
        user: record.user,
        role: record.role,
        portal: this.deps.portalId,
        origin: record.origin,
      });
      // Gone meanwhile: a logout, or a socket that closed, maybe even before this handler ran (so that
      // its disconnect found nothing to end). It never had a ticket and cannot come back: it leaves now.
      if ((this.state as ConnectionState) !== ConnectionState.connecting || !this.socket.connected) {
        await this.deps.controllers.leave(controller, participantId);
        this.deps.logger.info({ participant: participantId, room: record.room }, 'participant left while logging in');
        throw portalError('earlyLeft');
      }
      const flavour = flavourFor(protocol, userAgent.sdk.type);
      const reconnection = reconnectingSdks.includes(userAgent.sdk.type);
      const session = new Session({
        participantId,
        user: record.user,
        role: record.role,
        roomId: record.room,
        tokenCode: record.code,
        origin: record.origin,
        controller,
        flavour,
        sdkType: userAgent.sdk.type,
        reconnection,
        carrier: this,
        outbox: this.deps.sessions.outboxLimits,
      });
      this.adopt(session);
      this.deps.sessions.start(session);
      const ticket = reconnection ? this.deps.sessions.issueTicket(session) : undefined;
      this.deps.logger.info({ participant: participantId, room: record.room, protocol }, 'participant logged in');
      countAttempt('login', 'ok');
      ack(flavour.okWord, flavour.loginResult({ id: participantId, user: record.user, role: record.role }, joined, ticket));
    } catch (error) {
      this.refused('login', error);
      countAttempt('login', ackMessageOf(error));
      ack('error', ackMessageOf(error));
      if (this.state === ConnectionState.connecting) this.state = ConnectionState.initialized;
      this.socket.disconnect(true);
    }
  }

  /** A join given up on (timed out, answer lost) may still land at the node: a leave after it keeps nobody there. */
  private async joinOrLeave(controller: Controller, room: string, participant: ParticipantInfo): Promise<JoinResult> {
    try {
      return await this.deps.controllers.join(controller, room, participant);
    } catch (error) {
      this.deps.controllers.leave(controller, participant.id).catch(() => undefined);
      throw error;
    }
  }

  private refused(request: 'login' | 'relogin', error: unknown): void {
    this.deps.logger.debug({ socket: this.socket.id, address: this.socket.handshake.address, reason: messageOf(error) }, `${request} refused`);
  }

  private adopt(session: Session): void {
    this.session = session;
    session.carrier = this;
    this.state = ConnectionState.connected;
    clearTimeout(this.loginTimer);
    // A cleared timer still holds its callback and what that closes over for as long as it is referenced.
    this.loginTimer = undefined;
  }

  private async relogin(encodedTicket: unknown, ack: Ack): Promise<void> {
    if (this.state !== ConnectionState.initialized) {
      ack('error', PortalErrors.inService);
      return;
    }
    this.state = ConnectionState.connecting;
    let used: ReconnectionTicket;
    let session: Session;
    try {
      const checked = this.deps.keys.verifyTicket(encodedTicket);
      if (!checked.ok) throw portalError(checked.fault);
      used = checked.ticket;
      session = await this.deps.sessions.toResume(used, this);
    } catch (error) {
      this.refused('relogin', error);
      countAttempt('relogin', ackMessageOf(error));
      ack('error', ackMessageOf(error));
      if (this.state === ConnectionState.connecting) this.state = ConnectionState.initialized;
      this.socket.disconnect(true);
      return;
    }
    const previous = session.carrier;
    if (previous instanceof Connection && previous !== this) previous.detach();
    if (this.state !== ConnectionState.connecting || !this.socket.connected) {
      await this.reloginInterrupted(session, used.ticketId, ack);
      return;
    }
    this.deps.sessions.forgetTickets(session);
    this.adopt(session);
    const ticket = this.deps.sessions.issueTicket(session);
    this.deps.logger.info({ participant: session.participantId, room: session.roomId }, 'participant resumed');
    countAttempt('relogin', 'ok');
    if (session.flavour.reloginWithBuffer) {
      session.outbox.drainPending();
      ack('ok', { ticket, messages: session.outbox.recent() });
    } else {
      ack('ok', ticket);
      for (const message of session.outbox.drainPending()) session.emit(message.event, message.data, message.seq);
    }
    this.deps.sessions.delivered(session);
  }

  /**
   * The connection changed while the session was being claimed. A logout came: the participant leaves,
   * as after a login cut short (SPEC §4.8). The socket closed: the client never saw an answer, so its
   * ticket stays good and the session waits here for the next relogin.
   */
  private async reloginInterrupted(session: Session, usedTicketId: string, ack: Ack): Promise<void> {
    if (this.socket.connected) {
      this.deps.sessions.retire(session);
      await this.deps.sessions.end(session, true);
      ack('error', PortalErrors.earlyLeft);
      this.socket.disconnect(true);
      return;
    }
    this.deps.sessions.keepTicket(session, usedTicketId);
    this.adopt(session);
    this.onDisconnect();
  }

  /** Lets go of the session without leaving its room (it moved to another socket or portal, or the portal closes). */
  detach(): void {
    clearTimeout(this.waitTimer);
    this.session = undefined;
    this.state = ConnectionState.initialized;
    this.socket.disconnect(true);
  }

  private refreshTicket(ack: Ack): void {
    const session = this.session;
    if (this.state !== ConnectionState.connected || !session) {
      ack('error', PortalErrors.illegalRequest);
      return;
    }
    if (!session.reconnection) {
      ack('error', PortalErrors.reconnectionDisabled);
      return;
    }
    // A copied older ticket would otherwise resume the session until it expires.
    this.deps.sessions.forgetTickets(session);
    ack('ok', this.deps.sessions.issueTicket(session));
  }

  private async logout(ack: Ack): Promise<void> {
    const session = this.state === ConnectionState.connected ? this.session : undefined;
    this.state = ConnectionState.initialized;
    this.session = undefined;
    if (!session) {
      ack('error', PortalErrors.illegalRequest);
      return;
    }
    this.deps.sessions.retire(session);
    await this.deps.sessions.end(session, true);
    if (this.socket.connected) this.armLoginDeadline();
    ack('ok');
  }

  private async text(payload: unknown, ack: Ack): Promise<void> {
    if (!isTextRequest(payload)) {
      ack('error', this.isConnected ? PortalErrors.invalidText : PortalErrors.illegalRequest);
      return;
    }
    await this.sendText(payload.to, payload.message, ack);
  }

  private async customMessage(payload: unknown, ack: Ack): Promise<void> {
    if (!isCustomMessageRequest(payload)) {
      ack('error', this.isConnected ? PortalErrors.invalidText : PortalErrors.illegalRequest);
      return;
    }
    await this.sendText(payload.receiver, payload.data, ack);
  }

  private async sendText(to: string, message: string, ack: Ack): Promise<void> {
    const session = this.session;
    if (this.state !== ConnectionState.connected || !session) {
      ack('error', PortalErrors.illegalRequest);
      return;
    }
    try {
      await this.deps.controllers.text(session.controller, session.participantId, to, message);
      ack(session.flavour.okWord);
    } catch (error) {
      ack('error', ackMessageOf(error));
    }
  }

  /** Before login `Illegal request`; a malformed payload `Invalid <event> request`; else the controller's answer. */
  private async media(event: MediaEvent, payload: unknown, ack: Ack): Promise<void> {
    const session = this.session;
    if (this.state !== ConnectionState.connected || !session) {
      ack('error', PortalErrors.illegalRequest);
      return;
    }
    // Legacy clients spoke another media protocol, which Conclave does not carry.
    if (session.flavour.protocol === 'legacy') {
      ack('error', PortalErrors.mediaUnavailable);
      return;
    }
    const call = mediaCalls[event](payload, session.participantId);
    if (!call) {
      ack('error', ackMessageOf(mediaError('invalidRequest', event)));
      return;
    }
    try {
      const result = await this.deps.controllers.media(session.controller, call.method, call.args as never);
      ack(session.flavour.okWord, result ?? undefined);
    } catch (error) {
      ack('error', ackMessageOf(error));
    }
  }

  /** Ends this connection's session for good: `drop` to the client, no reconnection. */
  drop(): void {
    const session = this.session;
    if (session && this.state === ConnectionState.connected) session.notify('drop', undefined);
    clearTimeout(this.waitTimer);
    this.session = undefined;
    this.state = ConnectionState.initialized;
    this.socket.disconnect(true);
  }

  /**
   * A logged-in client is waited for whatever closed its socket (SPEC §5): clients simulate and
   * recover from drops by closing their socket, and come back with their ticket.
   */
  private onDisconnect(): void {
    clearTimeout(this.loginTimer);
    switch (this.state) {
      case ConnectionState.connected:
        if (this.session?.reconnection) {
          this.state = ConnectionState.waitingForReconnecting;
          this.waitTimer = setTimeout(() => this.forceLeave(), this.deps.limits.reconnectionTimeout);
        } else {
          this.forceLeave();
        }
        return;
      case ConnectionState.connecting:
        this.state = ConnectionState.initialized;
        return;
      default:
        return;
    }
  }

  private forceLeave(): void {
    const session = this.session;
    clearTimeout(this.waitTimer);
    this.session = undefined;
    this.state = ConnectionState.initialized;
    if (session && session.carrier === this) {
      this.deps.sessions.end(session, true).catch((error: unknown) => {
        this.deps.logger.warn({ err: error, participant: session.participantId }, 'force-leave failed');
      });
    }
  }
}

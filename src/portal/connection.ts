import type { Socket } from 'socket.io';
import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import type { JoinResult, ParticipantInfo } from '../conference/api.js';
import { messageOf } from '../bus/index.js';
import type { ConsumeResult, SessionRecord, TokenRecord } from '../store/index.js';
import type { SessionDirectory } from './directory.js';
import { decodeToken, verifyTokenSignature } from '../management/token.js';
import { PortalError, PortalErrors } from './errors.js';
import { flavourFor, reconnectingSdks, versionedProtocols, type Protocol } from './flavours.js';
import {
  isCustomMessageRequest,
  isLoginObject,
  isTextRequest,
  isToken,
  isUserAgent,
} from './requests.js';
import { EventRate, RateVerdicts } from './rate.js';
import type { SessionRegistry } from './registry.js';
import { Session, type Carrier, type Controller } from './session.js';
import { encodeTicket, issueTicket, verifyTicket, type ReconnectionTicket } from './tickets.js';

export const ConnectionState = {
  initialized: 'initialized',
  connecting: 'connecting',
  connected: 'connected',
  waitingForReconnecting: 'waiting_for_reconnecting',
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

export type Ack = (status: string, data?: unknown) => void;

/** What a connection needs from its portal. */
export interface PortalContext {
  readonly id: string;
  readonly config: Config;
  readonly logger: Logger;
  readonly registry: SessionRegistry;
  readonly tokenKey: string;
  readonly reconnectionKey: string;
  consumeToken(tokenId: string): Promise<ConsumeResult>;
  getController(room: string, origin: TokenRecord['origin']): Promise<Controller>;
  join(controller: Controller, room: string, participant: ParticipantInfo): Promise<JoinResult>;
  text(controller: Controller, from: string, to: string, message: string): Promise<void>;
  leave(controller: Controller, participantId: string): Promise<void>;
  /** Moves a session held by another (maybe dead) portal here, with what its node kept for it. */
  resume(record: SessionRecord, connection: Connection): Promise<Session>;
  readonly directory: SessionDirectory;
  /** The participant may not resume any more (logged out, dropped). */
  retire(session: Session): void;
  /** Unregisters the session and, when `leave`, removes it from its room. */
  endSession(session: Session, leave: boolean): Promise<void>;
  /** Counts a login attempt from an address; false past the per-minute limit. */
  admitLogin(address: string): boolean;
}

const mediaEvents = [
  'publish',
  'unpublish',
  'subscribe',
  'unsubscribe',
  'soac',
  'stream-control',
  'subscription-control',
] as const;

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
    readonly socket: Socket,
    private readonly portal: PortalContext,
  ) {
    const limits = portal.config.portal;
    this.rate = new EventRate(limits.eventsPerSecond, limits.disconnectAfterExcessSeconds);
    this.armLoginDeadline();
    this.handle('login', (payload, ack) => this.login(payload, ack));
    this.handle('relogin', (payload, ack) => this.relogin(payload, ack));
    this.handle('refreshReconnectionTicket', (_payload, ack) => this.refreshTicket(ack));
    this.handle('logout', (_payload, ack) => this.logout(ack));
    this.handle('text', (payload, ack) => this.text(payload, ack));
    this.handle('customMessage', (payload, ack) => this.customMessage(payload, ack));
    for (const event of mediaEvents) {
      this.handle(event, (_payload, ack) =>
        ack('error', this.state === ConnectionState.connected ? PortalErrors.mediaUnavailable : PortalErrors.illegalRequest),
      );
    }
    // Any other event is answered too.
    socket.onAny((event: string, ...args: unknown[]) => {
      if (socket.listenerCount(event) > 0) return;
      const ack = takeAck(args);
      if (this.admit(ack)) ack('error', PortalErrors.illegalRequest);
    });
    socket.on('disconnect', () => this.onDisconnect());
  }

  get isConnected(): boolean {
    return this.state === ConnectionState.connected;
  }

  get participantId(): string | undefined {
    return this.session?.participantId;
  }

  /** Registers a handler that gets the payload and a safe ack whatever the client sent. */
  private handle(event: string, handler: (payload: unknown, ack: Ack) => void | Promise<void>): void {
    this.socket.on(event, (...args: unknown[]) => {
      const ack = takeAck(args);
      if (!this.admit(ack)) return;
      Promise.resolve()
        .then(() => handler(args[0], ack))
        .catch((error: unknown) => {
          this.portal.logger.error({ err: error, event, socket: this.socket.id }, 'event handler failed');
          ack('error', messageOf(error));
        });
    });
  }

  /** Counts an event against this connection's rate; past it the event is refused, and a client that keeps on is cut off. */
  private admit(ack: Ack): boolean {
    const verdict = this.rate.hit();
    if (verdict === RateVerdicts.admit) return true;
    ack('error', PortalErrors.rateLimited);
    if (verdict === RateVerdicts.abuse) {
      this.portal.logger.warn({ socket: this.socket.id, participant: this.participantId }, 'client disconnected for a sustained event flood');
      this.socket.disconnect(true);
    }
    return false;
  }

  private armLoginDeadline(): void {
    clearTimeout(this.loginTimer);
    this.loginTimer = setTimeout(() => {
      if (this.state !== ConnectionState.connected) this.socket.disconnect(true);
    }, this.portal.config.portal.loginTimeout);
  }

  private async login(payload: unknown, ack: Ack): Promise<void> {
    if (this.state !== ConnectionState.initialized) {
      ack('error', PortalErrors.inService);
      return;
    }
    this.state = ConnectionState.connecting;
    const participantId = this.socket.id;
    try {
      if (!this.portal.admitLogin(this.socket.handshake.address)) throw new PortalError(PortalErrors.rateLimited);
      if (!isLoginObject(payload)) throw new PortalError(PortalErrors.invalidLogin);
      const { protocol: requested, userAgent, token: encodedToken } = payload;
      if (requested !== undefined && !versionedProtocols.includes(requested as string)) {
        throw new PortalError(PortalErrors.unknownProtocol);
      }
      const protocol = (requested ?? 'legacy') as Protocol;
      if ((userAgent as { sdk?: { version?: unknown } } | undefined)?.sdk?.version === '3.5') {
        throw new PortalError(PortalErrors.deprecatedVersion);
      }
      if (!isUserAgent(userAgent)) throw new PortalError(PortalErrors.userAgent);
      if (!isToken(encodedToken)) throw new PortalError(PortalErrors.invalidToken);
      if (this.portal.registry.size >= this.portal.config.portal.maxParticipants) {
        throw new PortalError(PortalErrors.portalFull);
      }
      const token = decodeToken(encodedToken);
      if (!token) throw new PortalError(PortalErrors.invalidToken);
      if (!verifyTokenSignature(this.portal.tokenKey, token)) throw new PortalError(PortalErrors.invalidTokenSignature);
      const consumed = await this.portal.consumeToken(token.tokenId);
      if (consumed.status === 'missing') throw new PortalError(PortalErrors.tokenMissing);
      if (consumed.status === 'expired') throw new PortalError(PortalErrors.tokenExpired);
      const record = consumed.token;

      const controller = await this.portal.getController(record.room, record.origin);
      const joined = await this.joinOrLeave(controller, record.room, {
        id: participantId,
        user: record.user,
        role: record.role,
        portal: this.portal.id,
        origin: record.origin,
      });
      if ((this.state as ConnectionState) !== ConnectionState.connecting) {
        await this.portal.leave(controller, participantId);
        throw new PortalError(PortalErrors.earlyLeft);
      }
      const flavour = flavourFor(protocol, userAgent.sdk.type);
      const reconnection = reconnectingSdks.includes(userAgent.sdk.type);
      const { windowMs, capacity } = this.bufferLimits();
      const session = new Session(
        participantId, record.user, record.role, record.room, record.code, record.origin,
        controller, flavour, userAgent.sdk.type, reconnection, this, { windowMs, capacity },
      );
      this.adopt(session);
      this.portal.registry.add(session);
      const ticket = reconnection ? this.newTicket(session) : undefined;
      this.portal.logger.info({ participant: participantId, room: record.room, protocol }, 'participant logged in');
      ack(flavour.okWord, flavour.loginResult({ id: participantId, user: record.user, role: record.role }, joined, ticket));
    } catch (error) {
      this.refused('login', error);
      ack('error', messageOf(error));
      if (this.state === ConnectionState.connecting) this.state = ConnectionState.initialized;
      this.socket.disconnect(true);
    }
  }

  /** A join given up on (timed out, answer lost) may still land at the node: a leave after it keeps nobody there. */
  private async joinOrLeave(controller: Controller, room: string, participant: ParticipantInfo): Promise<JoinResult> {
    try {
      return await this.portal.join(controller, room, participant);
    } catch (error) {
      this.portal.leave(controller, participant.id).catch(() => undefined);
      throw error;
    }
  }

  private refused(request: 'login' | 'relogin', error: unknown): void {
    this.portal.logger.debug({ socket: this.socket.id, address: this.socket.handshake.address, reason: messageOf(error) }, `${request} refused`);
  }

  bufferLimits(): { windowMs: number; capacity: number } {
    const { pingInterval, pingTimeout, messageBufferSize } = this.portal.config.portal;
    return { windowMs: pingInterval + pingTimeout + 1_000, capacity: messageBufferSize };
  }

  private adopt(session: Session): void {
    this.session = session;
    session.carrier = this;
    this.state = ConnectionState.connected;
    clearTimeout(this.loginTimer);
  }

  private newTicket(session: Session): string {
    const ticket = issueTicket(
      this.portal.reconnectionKey,
      session.participantId,
      this.portal.config.portal.reconnectionTicketLifetime,
    );
    this.portal.registry.recordTicket(session, ticket.ticketId);
    this.portal.directory.save(session);
    return encodeTicket(ticket);
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
      used = verifyTicket(this.portal.reconnectionKey, encodedTicket);
      session = await this.sessionToResume(used);
    } catch (error) {
      this.refused('relogin', error);
      ack('error', messageOf(error));
      if (this.state === ConnectionState.connecting) this.state = ConnectionState.initialized;
      this.socket.disconnect(true);
      return;
    }
    const previous = session.carrier;
    if (previous instanceof Connection && previous !== this) previous.detach();
    if (this.state !== ConnectionState.connecting) {
      await this.reloginInterrupted(session, used.ticketId, ack);
      return;
    }
    this.portal.registry.forgetTickets(session);
    this.adopt(session);
    const ticket = this.newTicket(session);
    this.portal.logger.info({ participant: session.participantId, room: session.roomId }, 'participant resumed');
    if (session.flavour.reloginWithBuffer) {
      session.outbox.drainPending();
      ack('ok', { ticket, messages: session.outbox.recent() });
      return;
    }
    ack('ok', ticket);
    for (const message of session.outbox.drainPending()) session.emit(message.event, message.data, message.seq);
  }

  /**
   * The connection changed while the session was being claimed. A logout came: the participant leaves,
   * as after a login cut short (SPEC §4.8). The socket closed: the client never saw an answer, so its
   * ticket stays good and the session waits here for the next relogin.
   */
  private async reloginInterrupted(session: Session, usedTicketId: string, ack: Ack): Promise<void> {
    if (this.socket.connected) {
      this.portal.retire(session);
      await this.portal.endSession(session, true);
      ack('error', PortalErrors.earlyLeft);
      this.socket.disconnect(true);
      return;
    }
    this.portal.registry.recordTicket(session, usedTicketId);
    this.portal.directory.save(session);
    this.adopt(session);
    this.onDisconnect();
  }

  /** Finds the session of a checked ticket: on this portal, or (cluster mode) claimed from another. */
  private async sessionToResume(ticket: ReconnectionTicket): Promise<Session> {
    const { registry, directory } = this.portal;
    const local = registry.get(ticket.participantId);
    if (local) {
      if (!local.reconnection || local.outbox.lost) throw new PortalError(PortalErrors.reconnectionNotAllowed);
      if (!local.validTickets.has(ticket.ticketId)) {
        const owner = registry.ticketOwner(ticket.ticketId);
        throw new PortalError(
          owner !== undefined && owner !== ticket.participantId ? PortalErrors.participantMismatch : PortalErrors.ticketExpired,
        );
      }
    }
    if (!directory.shared) {
      if (local) return local;
      throw new PortalError(registry.isRetired(ticket.participantId) ? PortalErrors.reconnectionNotAllowed : PortalErrors.clientMissing);
    }
    const claimed = await directory.claim(ticket.participantId, ticket.ticketId);
    switch (claimed.status) {
      case 'missing':
        throw new PortalError(PortalErrors.clientMissing);
      case 'retired':
        throw new PortalError(PortalErrors.reconnectionNotAllowed);
      case 'ticket-used':
        throw new PortalError(PortalErrors.ticketExpired);
      case 'ok':
        return registry.get(ticket.participantId) ?? this.portal.resume(claimed.session, this);
    }
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
    ack('ok', this.newTicket(session));
  }

  private async logout(ack: Ack): Promise<void> {
    const session = this.state === ConnectionState.connected ? this.session : undefined;
    this.state = ConnectionState.initialized;
    this.session = undefined;
    if (!session) {
      ack('error', PortalErrors.illegalRequest);
      return;
    }
    this.portal.retire(session);
    await this.portal.endSession(session, true);
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
      await this.portal.text(session.controller, session.participantId, to, message);
      ack(session.flavour.okWord);
    } catch (error) {
      ack('error', messageOf(error));
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

  private onDisconnect(): void {
    clearTimeout(this.loginTimer);
    switch (this.state) {
      case ConnectionState.connected:
        if (this.session?.reconnection) {
          this.state = ConnectionState.waitingForReconnecting;
          this.waitTimer = setTimeout(() => this.forceLeave(), this.portal.config.portal.reconnectionTimeout);
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
      this.portal.endSession(session, true).catch((error: unknown) => {
        this.portal.logger.warn({ err: error, participant: session.participantId }, 'force-leave failed');
      });
    }
  }
}

import type { HandedOver } from '../conference/api.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import { codeOf } from '../protocol/errors.js';
import type { ReconnectionTicket } from '../protocol/ticket.js';
import { RateWindow } from '../rate-window.js';
import type { ConsumeResult, SessionRecord, Store } from '../store/index.js';
import type { Confirmations } from './confirmations.js';
import type { ControllerGateway } from './controllers.js';
import type { SessionDirectory } from './directory.js';
import { portalError } from './errors.js';
import { flavourFor, type Protocol } from './flavours.js';
import type { PortalKeys } from './keys.js';
import type { SessionRegistry } from './registry.js';
import { Session, type Carrier } from './session.js';

export interface SessionServiceDeps {
  config: Config;
  logger: Logger;
  store: Store;
  registry: SessionRegistry;
  directory: SessionDirectory;
  controllers: ControllerGateway;
  keys: PortalKeys;
  /** Cluster mode: what reached the sessions here is confirmed to their nodes. */
  confirmations?: Confirmations | undefined;
}

/**
 * The portal's sessions through their life: admission, tickets, resumption (here or, in cluster
 * mode, claimed from another portal), retirement and the end. Connections drive it.
 */
export class SessionService {
  private readonly loginRate = new RateWindow(60_000);
  directory: SessionDirectory;

  constructor(private readonly deps: SessionServiceDeps) {
    this.directory = deps.directory;
  }

  /** Counts a login attempt from an address; false past the per-minute limit. */
  admitLogin(address: string): boolean {
    return this.loginRate.hit(address, this.deps.config.portal.loginAttemptsPerIpPerMinute);
  }

  get full(): boolean {
    return this.deps.registry.size >= this.deps.config.portal.maxParticipants;
  }

  consumeToken(tokenId: string): Promise<ConsumeResult> {
    return this.deps.store.consumeToken(tokenId, this.deps.config.tokens.lifetime, Date.now());
  }

  /** How long and how much a session's outbox keeps (SPEC §6). */
  get outboxLimits(): { windowMs: number; capacity: number } {
    const { pingInterval, pingTimeout, messageBufferSize } = this.deps.config.portal;
    return { windowMs: pingInterval + pingTimeout + 1_000, capacity: messageBufferSize };
  }

  start(session: Session): void {
    this.deps.registry.add(session);
  }

  /** A new ticket for the session, published so any portal can take it (cluster mode). */
  issueTicket(session: Session): string {
    const { ticket, encoded } = this.deps.keys.issueTicket(session.participantId);
    this.keepTicket(session, ticket.ticketId);
    return encoded;
  }

  /** The ticket stays good for the session's next relogin. */
  keepTicket(session: Session, ticketId: string): void {
    this.deps.registry.recordTicket(session, ticketId);
    this.directory.save(session);
  }

  /** A relogin used them, or a refresh replaced them: none may be used again. */
  forgetTickets(session: Session): void {
    this.deps.registry.forgetTickets(session);
  }

  /** Finds the session of a checked ticket: on this portal, or (cluster mode) claimed from another. */
  async toResume(ticket: ReconnectionTicket, carrier: Carrier): Promise<Session> {
    const { registry } = this.deps;
    const directory = this.directory;
    const local = registry.get(ticket.participantId);
    if (local) {
      if (!local.reconnection || local.outbox.lost) throw portalError('reconnectionNotAllowed');
      if (!local.validTickets.has(ticket.ticketId)) {
        const owner = registry.ticketOwner(ticket.ticketId);
        throw portalError(owner !== undefined && owner !== ticket.participantId ? 'participantMismatch' : 'ticketExpired');
      }
    }
    if (!directory.shared) {
      if (local) return local;
      throw portalError(registry.isRetired(ticket.participantId) ? 'reconnectionNotAllowed' : 'clientMissing');
    }
    const claimed = await directory.claim(ticket.participantId, ticket.ticketId);
    switch (claimed.status) {
      case 'missing':
        throw portalError('clientMissing');
      case 'retired':
        throw portalError('reconnectionNotAllowed');
      case 'ticket-used':
        throw portalError('ticketExpired');
      case 'ok':
        return registry.get(ticket.participantId) ?? this.adopt(claimed.session, carrier);
    }
  }

  /** What was pending for the session reached it: its node may forget it. */
  delivered(session: Session): void {
    this.deps.confirmations?.confirmSoon(session);
  }

  /**
   * Moves a session held by another (maybe dead) portal here, with what its node kept for it. The
   * session is registered before the node moves the participant here, so that nothing the node
   * sends from then on finds it missing; that waits behind what the node hands over.
   */
  private async adopt(record: SessionRecord, carrier: Carrier): Promise<Session> {
    const session = new Session({
      participantId: record.participantId,
      user: record.user,
      role: record.role,
      roomId: record.roomId,
      tokenCode: record.tokenCode,
      origin: record.origin,
      controller: record.controller,
      flavour: flavourFor(record.protocol as Protocol, record.sdkType),
      sdkType: record.sdkType,
      reconnection: true,
      carrier,
      outbox: this.outboxLimits,
    });
    session.awaitHandOver();
    this.deps.registry.add(session);
    let handed: HandedOver[];
    try {
      handed = await this.deps.controllers.resume(record.controller, record.participantId);
    } catch (error) {
      this.deps.registry.remove(session);
      switch (codeOf(error)) {
        // The node already gave the participant up (not resumed in time).
        case 'conference.notJoined':
          throw portalError('clientMissing');
        case 'conference.resumeIncomplete':
          throw portalError('reconnectionNotAllowed');
        default:
          throw error;
      }
    }
    session.handOver(handed);
    return session;
  }

  /** The participant may not resume any more (logged out, dropped). */
  retire(session: Session): void {
    session.reconnection = false;
    this.deps.registry.retire(session.participantId, Date.now() + this.deps.config.portal.reconnectionTicketLifetime);
    this.directory.retire(session.participantId);
  }

  /** Unregisters the session and, when `leave`, removes it from its room. */
  async end(session: Session, leave: boolean): Promise<void> {
    const { registry, logger, controllers } = this.deps;
    if (!registry.remove(session)) return;
    this.directory.remove(session.participantId);
    logger.info({ participant: session.participantId, room: session.roomId }, 'participant left');
    if (leave) {
      await controllers.leave(session.controller, session.participantId).catch((error: unknown) => {
        logger.warn({ err: error, participant: session.participantId }, 'leave failed');
      });
    }
  }
}

import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import type { ClaimResult, Store } from '../store/index.js';
import type { Session } from './session.js';

/**
 * Where a portal publishes the sessions it holds so that any portal can resume them (SPEC §6,
 * cluster-wide resume). Embedded there is one portal, and the directory keeps nothing.
 */
export interface SessionDirectory {
  readonly shared: boolean;
  save(session: Session): void;
  claim(participantId: string, ticketId: string): Promise<ClaimResult>;
  retire(participantId: string): void;
  remove(participantId: string): void;
}

export const localDirectory: SessionDirectory = {
  shared: false,
  save: () => undefined,
  claim: async () => ({ status: 'missing' }),
  retire: () => undefined,
  remove: () => undefined,
};

/** Writes of one participant are chained, so a later ticket list never loses to an earlier one. */
export function storeDirectory(store: Store, portalId: string, config: Config, logger: Logger): SessionDirectory {
  const chains = new Map<string, Promise<void>>();
  const lifetime = config.portal.reconnectionTicketLifetime;
  const write = (participantId: string, operation: () => Promise<void>) => {
    const next = (chains.get(participantId) ?? Promise.resolve())
      .then(operation)
      .catch((error: unknown) => logger.warn({ err: error, participant: participantId }, 'session directory write failed'))
      .finally(() => {
        if (chains.get(participantId) === next) chains.delete(participantId);
      });
    chains.set(participantId, next);
  };
  return {
    shared: true,
    save(session) {
      const now = Date.now();
      const record = {
        participantId: session.participantId,
        user: session.user,
        role: session.role,
        roomId: session.roomId,
        tokenCode: session.tokenCode,
        origin: session.origin,
        controller: session.controller,
        protocol: session.flavour.protocol,
        sdkType: session.sdkType,
      };
      const tickets = [...session.validTickets];
      write(session.participantId, () => store.saveSession(record, portalId, tickets, now + lifetime, now));
    },
    async claim(participantId, ticketId) {
      await chains.get(participantId);
      return store.claimSession(participantId, ticketId, portalId, Date.now());
    },
    retire(participantId) {
      write(participantId, () => store.retireSession(participantId, Date.now() + lifetime));
    },
    remove(participantId) {
      write(participantId, () => store.deleteSession(participantId, portalId));
    },
  };
}

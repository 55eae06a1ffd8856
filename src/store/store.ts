import type { Room, Service } from '../protocol/rest.js';

export type { MediaRole, Room, Service } from '../protocol/rest.js';

export interface TokenRecord {
  _id: string;
  user: string;
  role: string;
  room: string;
  service: string;
  creationDate: number;
  origin: { isp?: string | undefined; region?: string | undefined };
  code: string;
  secure: boolean;
  host: string;
  domain?: string | undefined;
}

export type ConsumeResult = { status: 'ok'; token: TokenRecord } | { status: 'expired' } | { status: 'missing' };

/** What another portal needs to resume a participant whose portal died (SPEC §6, cluster-wide resume). */
export interface SessionRecord {
  participantId: string;
  user: string;
  role: string;
  roomId: string;
  tokenCode: string;
  origin: { isp?: string | undefined; region?: string | undefined };
  controller: { agent: string; node: string };
  protocol: string;
  sdkType: string;
}

export type ClaimResult =
  | { status: 'ok'; session: SessionRecord }
  | { status: 'missing' }
  | { status: 'retired' }
  | { status: 'ticket-used' };

export interface Page {
  offset: number;
  limit: number;
}

/** Held while this process is the active cluster manager (SPEC §9.6). */
export interface Leadership {
  release(): Promise<void>;
}

/** Everything that outlives a process. Implementations: SQLite (embedded), PostgreSQL (cluster). */
export interface Store {
  createService(service: Omit<Service, 'rooms'>): Promise<void>;
  getService(id: string): Promise<Service | undefined>;
  listServices(): Promise<Service[]>;
  /** Deletes the service, every room it owns and its unused tokens. */
  deleteService(id: string): Promise<boolean>;

  createRoom(serviceId: string, room: Room): Promise<void>;
  getRoom(roomId: string): Promise<{ room: Room; serviceId: string } | undefined>;
  listRooms(serviceId: string, page: Page): Promise<Room[]>;
  updateRoom(room: Room): Promise<boolean>;
  deleteRoom(roomId: string): Promise<boolean>;

  createToken(token: TokenRecord): Promise<void>;
  /**
   * Deletes the token atomically. Records older than `lifetimeMs` are swept on the way: on a
   * store's first consumption, and then on any consumption a second or more after its last sweep
   * (an expired record is refused either way).
   */
  consumeToken(tokenId: string, lifetimeMs: number, now: number): Promise<ConsumeResult>;

  /** Returns the named secret, creating it with `create()` on first use; all callers see one value. */
  getOrCreateKey(name: string, create: () => string): Promise<string>;

  /** Records a nonce; false when it was already recorded and has not expired yet (a replay). */
  rememberNonce(nonce: string, expiresAt: number, now: number): Promise<boolean>;

  /**
   * Records the session as held by `portal` with the tickets that may resume it. Only the portal
   * holding a session can overwrite it, so a portal that lost it to a resume cannot revive old tickets;
   * saving a retired one starts it anew (the same socket logged in again after a logout).
   */
  saveSession(session: SessionRecord, portal: string, tickets: string[], expiresAt: number, now: number): Promise<void>;
  /** Atomically hands the session to `portal` if `ticketId` may resume it; every ticket is then spent. */
  claimSession(participantId: string, ticketId: string, portal: string, now: number): Promise<ClaimResult>;
  /** The participant may no longer resume (logged out or dropped); kept until `expiresAt` to say so. */
  retireSession(participantId: string, expiresAt: number): Promise<void>;
  deleteSession(participantId: string, portal: string): Promise<void>;

  /**
   * Resolves once this process holds the named lock, waiting as long as another holds it.
   * `onLost` is called if the lock is lost without `release()` (e.g. the connection holding it died).
   */
  acquireLeadership(name: string, onLost?: () => void): Promise<Leadership>;

  close(): Promise<void>;
}

export class StoreError extends Error {
  override name = 'StoreError';
}

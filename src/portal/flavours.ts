import type { JoinResult } from '../conference/api.js';
import {
  isServerEvent,
  type LegacyLoginResult,
  type LegacyNotices,
  type LoginResult,
  type Protocol,
  type ServerEventName,
  type VersionedNotices,
} from '../protocol/socket.js';

export { versionedProtocols, type Protocol } from '../protocol/socket.js';

/** SDKs whose clients re-log in on their own, so the portal keeps their session when they drop. */
export const reconnectingSdks: readonly string[] = ['JavaScript', 'C++', 'Objective-C', 'Android'];

export interface OutgoingEvent {
  event: ServerEventName;
  data: unknown;
}

/** How one client flavour names things on the wire (SPEC §7). */
export interface Flavour {
  readonly protocol: Protocol;
  readonly okWord: 'ok' | 'success';
  loginResult(participant: { id: string; user: string; role: string }, joined: JoinResult, ticket?: string): LoginResult | LegacyLoginResult;
  /** Translates a conference node notification into this flavour's event; undefined for one the protocol lacks. */
  outgoing(event: string, data: unknown): OutgoingEvent | undefined;
  /** 1.2 answers relogin with the buffer, except for the OWT JavaScript SDK (SPEC §6). */
  readonly reloginWithBuffer: boolean;
}

function plain(event: string, data: unknown): OutgoingEvent | undefined {
  return isServerEvent(event) ? { event, data } : undefined;
}

const legacy: Flavour = {
  protocol: 'legacy',
  okWord: 'success',
  reloginWithBuffer: false,
  loginResult(participant, joined, ticket) {
    const result: LegacyLoginResult = {
      clientId: participant.id,
      id: joined.room.id,
      streams: joined.room.streams,
      users: joined.room.participants.map((p) => ({ id: p.id, name: p.user, role: p.role })),
    };
    if (ticket !== undefined) result.reconnectionTicket = ticket;
    return result;
  },
  outgoing(event, data) {
    if (event === 'participant') {
      const notice = data as VersionedNotices['participant'];
      if (notice.action === 'join') {
        const user: LegacyNotices['user_join'] = { user: { id: notice.data.id, name: notice.data.user, role: notice.data.role } };
        return { event: 'user_join', data: user };
      }
      if (notice.action === 'leave') return { event: 'user_leave', data: { user: { id: notice.data } } satisfies LegacyNotices['user_leave'] };
    }
    if (event === 'text') {
      const text = data as VersionedNotices['text'];
      return { event: 'custom_message', data: { from: text.from, to: text.to, data: text.message } satisfies LegacyNotices['custom_message'] };
    }
    return plain(event, data);
  },
};

function versioned(protocol: Exclude<Protocol, 'legacy'>, reloginWithBuffer: boolean): Flavour {
  return {
    protocol,
    okWord: 'ok',
    reloginWithBuffer,
    loginResult(participant, joined, ticket) {
      const result: LoginResult = {
        id: participant.id,
        user: participant.user,
        role: participant.role,
        permission: joined.permission,
        room: joined.room,
      };
      if (ticket !== undefined) result.reconnectionTicket = ticket;
      return result;
    },
    outgoing: plain,
  };
}

/** One object per flavour, shared by its sessions: a room notification is encoded once per flavour. */
const versionedFlavours = new Map<string, Flavour>();

export function flavourFor(protocol: Protocol, sdkType: string): Flavour {
  if (protocol === 'legacy') return legacy;
  const reloginWithBuffer = protocol === '1.2' && sdkType !== 'JavaScript';
  const key = `${protocol} ${reloginWithBuffer}`;
  let flavour = versionedFlavours.get(key);
  if (!flavour) {
    flavour = versioned(protocol, reloginWithBuffer);
    versionedFlavours.set(key, flavour);
  }
  return flavour;
}

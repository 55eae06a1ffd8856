import type { JoinResult } from '../conference/api.js';

export type Protocol = 'legacy' | '1.0' | '1.1' | '1.2';

export const versionedProtocols: readonly string[] = ['1.0', '1.1', '1.2'];

/** SDKs whose clients re-log in on their own, so the portal keeps their session when they drop. */
export const reconnectingSdks: readonly string[] = ['JavaScript', 'C++', 'Objective-C', 'Android'];

export interface OutgoingEvent {
  event: string;
  data: unknown;
}

/** How one client flavour names things on the wire (SPEC §7). */
export interface Flavour {
  readonly protocol: Protocol;
  readonly okWord: 'ok' | 'success';
  loginResult(participant: { id: string; user: string; role: string }, joined: JoinResult, ticket?: string): unknown;
  /** Translates a conference node notification into this flavour's event. */
  outgoing(event: string, data: unknown): OutgoingEvent;
  /** 1.2 answers relogin with the buffer, except for the OWT JavaScript SDK (SPEC §6). */
  readonly reloginWithBuffer: boolean;
}

interface ParticipantNotice {
  action: 'join' | 'leave';
  data: { id: string; user: string; role: string } | string;
}

interface TextNotice {
  from: string;
  to: string;
  message: string;
}

const legacy: Flavour = {
  protocol: 'legacy',
  okWord: 'success',
  reloginWithBuffer: false,
  loginResult(participant, joined, ticket) {
    const result: Record<string, unknown> = {
      clientId: participant.id,
      id: joined.room.id,
      streams: joined.room.streams,
      users: joined.room.participants.map((p) => ({ id: p.id, name: p.user, role: p.role })),
    };
    if (ticket !== undefined) result['reconnectionTicket'] = ticket;
    return result;
  },
  outgoing(event, data) {
    if (event === 'participant') {
      const notice = data as ParticipantNotice;
      if (notice.action === 'join' && typeof notice.data === 'object') {
        return { event: 'user_join', data: { user: { id: notice.data.id, name: notice.data.user, role: notice.data.role } } };
      }
      if (notice.action === 'leave') return { event: 'user_leave', data: { user: { id: notice.data } } };
    }
    if (event === 'text') {
      const text = data as TextNotice;
      return { event: 'custom_message', data: { from: text.from, to: text.to, data: text.message } };
    }
    return { event, data };
  },
};

function versioned(protocol: Exclude<Protocol, 'legacy'>, sdkType: string): Flavour {
  return {
    protocol,
    okWord: 'ok',
    reloginWithBuffer: protocol === '1.2' && sdkType !== 'JavaScript',
    loginResult(participant, joined, ticket) {
      const result: Record<string, unknown> = {
        id: participant.id,
        user: participant.user,
        role: participant.role,
        permission: joined.permission,
        room: joined.room,
      };
      if (ticket !== undefined) result['reconnectionTicket'] = ticket;
      return result;
    },
    outgoing: (event, data) => ({ event, data }),
  };
}

export function flavourFor(protocol: Protocol, sdkType: string): Flavour {
  return protocol === 'legacy' ? legacy : versioned(protocol, sdkType);
}

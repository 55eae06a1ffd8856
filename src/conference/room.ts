/** One live room on a node: its stored configuration, its participants, their notifications (SPEC §4.6, §8). */
import type { Room } from '../store/index.js';
import {
  ConferenceErrors,
  type JoinResult,
  type ParticipantDetail,
  type ParticipantInfo,
  type ParticipantSummary,
  type Permission,
} from './api.js';
import { applyPermissionUpdates, permissionOfRole } from './permission.js';
import type { Portals } from './portals.js';

interface Participant extends ParticipantInfo {
  permission: Permission;
}

export interface LiveRoomOptions {
  maxTextLength: number;
}

function summaryOf({ id, user, role }: Participant): ParticipantSummary {
  return { id, user, role };
}

function detailOf({ id, user, role, permission, portal, origin }: Participant): ParticipantDetail {
  return { id, user, role, permission: structuredClone(permission), portal, origin: { ...origin } };
}

export class LiveRoom {
  private readonly participants = new Map<string, Participant>();

  constructor(
    private readonly config: Room,
    private readonly portals: Portals,
    private readonly options: LiveRoomOptions,
  ) {}

  get id(): string {
    return this.config._id;
  }

  get isEmpty(): boolean {
    return this.participants.size === 0;
  }

  has(participantId: string): boolean {
    return this.participants.has(participantId);
  }

  join(info: ParticipantInfo): JoinResult {
    if (this.participants.has(info.id)) throw new Error(ConferenceErrors.alreadyJoined);
    const { participantLimit, roles, views, notifying } = this.config;
    if (participantLimit > 0 && this.participants.size >= participantLimit) throw new Error(ConferenceErrors.roomFull);
    const role = roles.find((candidate) => candidate.role === info.role);
    if (!role) throw new Error(ConferenceErrors.invalidRole);
    const participant: Participant = { ...info, permission: permissionOfRole(role) };
    this.participants.set(info.id, participant);
    if (notifying.participantActivities) {
      this.broadcast([info.id], 'participant', { action: 'join', data: summaryOf(participant) });
    }
    return {
      permission: structuredClone(participant.permission),
      room: {
        id: this.id,
        views: views.map((view) => view.label),
        participants: [...this.participants.values()].map(summaryOf),
        streams: [],
      },
    };
  }

  leave(participantId: string): void {
    if (!this.participants.delete(participantId)) throw new Error(ConferenceErrors.notJoined);
    if (this.config.notifying.participantActivities) {
      this.broadcast([participantId], 'participant', { action: 'leave', data: participantId });
    }
  }

  /** As in OWT, a text to 'all' reaches the sender too; a text to one id reaches only that participant. */
  text(from: string, to: string, message: string): void {
    if (!this.participants.has(from)) throw new Error(ConferenceErrors.notJoined);
    const target = to === 'all' ? undefined : this.participants.get(to);
    if (to !== 'all' && !target) throw new Error(ConferenceErrors.targetNotFound(to));
    if (message.length > this.options.maxTextLength) throw new Error(ConferenceErrors.textTooLong);
    if (target) this.portals.notify(target.portal, target.id, 'text', { from, to: 'me', message });
    else this.broadcast([], 'text', { from, to: 'all', message });
  }

  list(): ParticipantDetail[] {
    return [...this.participants.values()].map(detailOf);
  }

  detail(participantId: string): ParticipantDetail {
    return detailOf(this.existing(participantId));
  }

  /** OWT tells nobody about a permission change, so neither do we. */
  control(participantId: string, updates: unknown[]): ParticipantDetail {
    const participant = this.existing(participantId);
    participant.permission = applyPermissionUpdates(participant.permission, updates);
    return detailOf(participant);
  }

  drop(participantId: string): ParticipantDetail {
    const participant = this.existing(participantId);
    this.portals.drop(participant.portal, participantId);
    this.leave(participantId);
    return detailOf(participant);
  }

  private existing(participantId: string): Participant {
    const participant = this.participants.get(participantId);
    if (!participant) throw new Error(ConferenceErrors.participantNotFound);
    return participant;
  }

  /** One message per portal that holds at least one receiver; the portal fans it out. */
  private broadcast(excludeList: string[], event: string, data: unknown): void {
    const receivingPortals = new Set<string>();
    for (const participant of this.participants.values()) {
      if (!excludeList.includes(participant.id)) receivingPortals.add(participant.portal);
    }
    for (const portal of receivingPortals) this.portals.broadcast(portal, this.id, excludeList, event, data);
  }
}

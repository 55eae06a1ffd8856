/** One live room on a node: its stored configuration, its participants, their notifications (SPEC §4.6, §8). */
import type { Room } from '../store/index.js';
import {
  ConferenceErrors,
  type HeldNotification,
  type JoinResult,
  type ParticipantDetail,
  type ParticipantInfo,
  type ParticipantSummary,
  type Permission,
} from './api.js';
import { applyPermissionUpdates, permissionOfRole } from './permission.js';
import type { Portals, Undelivered } from './portals.js';

interface Participant extends ParticipantInfo {
  permission: Permission;
  /** Set while the participant's portal is gone: what it missed, and when it is given up. */
  held?: { notifications: HeldNotification[]; timer: NodeJS.Timeout; abandoned?: boolean };
}

export interface LiveRoomOptions {
  maxTextLength: number;
  /** How long a participant whose portal is gone is kept for a resume on another portal. */
  reconnectionTimeout: number;
  /** At most this many notifications are held for it; one more and it is given up. */
  heldLimit: number;
  /** The participant was given up (not resumed in time, or missed too much): make it leave. */
  onAbandoned(participantId: string): void;
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

  /** A leave from a portal that no longer holds the participant is stale: it resumed elsewhere. */
  leave(participantId: string, portal?: string): void {
    const participant = this.participants.get(participantId);
    if (!participant) throw new Error(ConferenceErrors.notJoined);
    if (portal !== undefined && participant.portal !== portal) return;
    clearTimeout(participant.held?.timer);
    this.participants.delete(participantId);
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
    if (target) this.notify(target, 'text', { from, to: 'me', message });
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

  /** Drops everyone at once; nobody is left to be told who left. */
  dropAll(): void {
    for (const participant of this.participants.values()) {
      clearTimeout(participant.held?.timer);
      if (!participant.held) this.portals.drop(participant.portal, participant.id);
    }
    this.participants.clear();
  }

  /** The portal is gone: hold its participants' notifications until they resume or time out. */
  orphanPortal(portal: string): void {
    for (const participant of this.participants.values()) {
      if (participant.portal !== portal || participant.held) continue;
      participant.held = {
        notifications: [],
        timer: setTimeout(() => this.abandon(participant), this.options.reconnectionTimeout),
      };
    }
  }

  /** A delivery found the portal gone: hold the portal's participants, starting with what was lost. */
  undelivered(portal: string, lost: Undelivered | undefined): void {
    this.orphanPortal(portal);
    if (!lost) return;
    for (const participant of this.participants.values()) {
      if (participant.portal !== portal) continue;
      const addressed = 'participantId' in lost ? lost.participantId === participant.id : !lost.excludeList.includes(participant.id);
      if (addressed) this.hold(participant, lost.event, lost.data);
    }
  }

  /** Moves the participant to `portal` and hands over what was held for it. */
  resume(participantId: string, portal: string): HeldNotification[] {
    const participant = this.participants.get(participantId);
    if (!participant) throw new Error(ConferenceErrors.notJoined);
    const { held, portal: previous } = participant;
    clearTimeout(held?.timer);
    delete participant.held;
    participant.portal = portal;
    if (!held && previous !== portal) this.portals.release(previous, participantId);
    return held?.notifications ?? [];
  }

  close(): void {
    for (const participant of this.participants.values()) clearTimeout(participant.held?.timer);
  }

  private notify(target: Participant, event: string, data: unknown): void {
    if (target.held) this.hold(target, event, data);
    else this.portals.notify(target.portal, target.id, event, data);
  }

  /**
   * Gives the participant up. Its portal may only have looked dead (a broker blip): a `drop` tells
   * a client still connected there that its session is over, rather than leaving it in a ghost room.
   */
  private abandon(participant: Participant): void {
    this.portals.drop(participant.portal, participant.id);
    this.options.onAbandoned(participant.id);
  }

  private hold(participant: Participant, event: string, data: unknown): void {
    const held = participant.held;
    if (!held || held.abandoned) return;
    if (held.notifications.length >= this.options.heldLimit) {
      clearTimeout(held.timer);
      held.abandoned = true;
      queueMicrotask(() => this.abandon(participant));
      return;
    }
    held.notifications.push({ event, data });
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
      if (excludeList.includes(participant.id)) continue;
      if (participant.held) this.hold(participant, event, data);
      else receivingPortals.add(participant.portal);
    }
    for (const portal of receivingPortals) this.portals.broadcast(portal, this.id, excludeList, event, data);
  }
}

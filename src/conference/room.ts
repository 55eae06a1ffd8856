/** One live room on a node: its stored configuration, its participants, their notifications (SPEC §4.6, §8). */
import type { Room } from '../store/index.js';
import type { HandedOver, JoinResult, ParticipantDetail, ParticipantInfo, ParticipantSummary, Permission } from './api.js';
import { conferenceError } from './errors.js';
import { RoomMedia, type RoomMediaDeps } from './media.js';
import { isAddressedTo, NotificationLog, type LoggedNotification, type Reader } from './notification-log.js';
import { applyPermissionUpdates, copyOfPermission, permissionOfRole } from './permission.js';
import type { PortalWatch, Portals } from './portals.js';

interface Participant extends ParticipantInfo, Reader {
  permission: Permission;
  /** Set while its portal is gone: it is given up when this fires, unless it resumes elsewhere. */
  orphaned?: NodeJS.Timeout;
  /** A notification its portal had not confirmed left the log: it can no longer move to another portal. */
  incomplete?: boolean;
  /**
   * Its portal, behind, can no longer get a notification in order (it left the log, or the portal
   * took a newer one first): it is given up once the portal is back.
   */
  missed?: boolean;
}

/** Who a notification is for, without its content. */
type Addressing = Pick<LoggedNotification, 'seq' | 'to' | 'exclude'>;

/** A portal that did not take a notification: it gets nothing newer until it has caught up from `from`, in order. */
interface BehindPortal {
  from: number;
  /** Every notification it did not take, in case it took a newer one first (its failure came late). */
  untaken: Addressing[];
  watch: PortalWatch;
}

export interface LiveRoomOptions {
  maxTextLength: number;
  /**
   * Cluster mode: participants may move to another portal, so notifications are numbered, kept until
   * their portal confirms them, and a participant whose portal is gone waits for a resume.
   */
  resumable: boolean;
  /** How long a participant whose portal is gone is kept for a resume on another portal. */
  reconnectionTimeout: number;
  /** Confirmed notifications are kept this long for a 1.2 client's replay, and at most `logCapacity` in all. */
  logWindowMs: number;
  logCapacity: number;
  /** The participant was given up (not resumed in time, or missed too much): make it leave. */
  onAbandoned(participantId: string): void;
  /** For the operator: a portal did not take a notification, and later caught up with `count` of them. */
  onPortalBehind(portal: string, from: number): void;
  onPortalCaughtUp(portal: string, count: number): void;
  /** What the room's media controller needs besides the room. */
  media: Omit<RoomMediaDeps, 'room' | 'permissionOf' | 'originOf' | 'notify' | 'broadcast'>;
}

function summaryOf({ id, user, role }: Participant): ParticipantSummary {
  return { id, user, role };
}

function detailOf({ id, user, role, permission, portal, origin }: Participant): ParticipantDetail {
  return { id, user, role, permission: copyOfPermission(permission), portal, origin: { ...origin } };
}

export class LiveRoom {
  private readonly participants = new Map<string, Participant>();
  /**
   * How many participants each portal holds that are not orphaned, kept as they come and go: a
   * broadcast visits the portals, not every participant (in a room of 1,000, under load, walking
   * them took 0.6–2.4 ms).
   */
  private readonly livePerPortal = new Map<string, number>();
  /** Publications, subscriptions and transports of the room's participants (SPEC-MEDIA M4). */
  readonly media: RoomMedia;
  private readonly log: NotificationLog;
  /** The number of the room's last notification. */
  private seq = 0;
  private readonly behind = new Map<string, BehindPortal>();
  /** Per portal, the newest notification it took: one it missed below that can no longer reach it in order. */
  private readonly takenUpTo = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly config: Room,
    private readonly portals: Portals,
    private readonly options: LiveRoomOptions,
  ) {
    this.log = new NotificationLog(options.logWindowMs, options.logCapacity);
    this.media = new RoomMedia({
      ...options.media,
      room: config,
      permissionOf: (participantId) => this.participants.get(participantId)?.permission,
      originOf: (participantId) => this.participants.get(participantId)?.origin,
      notify: (participantId, event, data) => {
        const participant = this.participants.get(participantId);
        if (participant) this.notify(participant, event, data);
      },
      broadcast: (excludeList, event, data) => this.broadcast(excludeList, event, data),
    });
  }

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
    if (this.participants.has(info.id)) throw conferenceError('alreadyJoined');
    const { participantLimit, roles, notifying } = this.config;
    if (participantLimit > 0 && this.participants.size >= participantLimit) throw conferenceError('roomFull');
    const role = roles.find((candidate) => candidate.role === info.role);
    if (!role) throw conferenceError('invalidRole');
    const participant: Participant = { ...info, permission: permissionOfRole(role), joinedAt: this.seq, confirmed: this.seq };
    this.participants.set(info.id, participant);
    this.countLive(participant.portal, 1);
    if (notifying.participantActivities) {
      this.broadcast([info.id], 'participant', { action: 'join', data: summaryOf(participant) });
    }
    participant.joinedAt = participant.confirmed = this.seq;
    return {
      permission: copyOfPermission(participant.permission),
      room: {
        id: this.id,
        // No mixed streams (SPEC-MEDIA M1).
        views: [],
        participants: [...this.participants.values()].map(summaryOf),
        streams: this.media.streams(),
      },
    };
  }

  /** A leave from a portal that no longer holds the participant is stale: it resumed elsewhere. */
  leave(participantId: string, portal?: string): void {
    const participant = this.participants.get(participantId);
    if (!participant) throw conferenceError('notJoined');
    if (portal !== undefined && participant.portal !== portal) return;
    clearTimeout(participant.orphaned);
    if (!participant.orphaned) this.countLive(participant.portal, -1);
    this.participants.delete(participantId);
    this.stopCatchingUpIfDeserted(participant.portal);
    this.media.removeParticipant(participantId);
    if (this.config.notifying.participantActivities) {
      this.broadcast([participantId], 'participant', { action: 'leave', data: participantId });
    }
  }

  /** As in OWT, a text to 'all' reaches the sender too; a text to one id reaches only that participant. */
  text(from: string, to: string, message: string): void {
    if (!this.participants.has(from)) throw conferenceError('notJoined');
    const target = to === 'all' ? undefined : this.participants.get(to);
    if (to !== 'all' && !target) throw conferenceError('targetNotFound', to);
    if (message.length > this.options.maxTextLength) throw conferenceError('textTooLong');
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
      clearTimeout(participant.orphaned);
      if (!participant.orphaned) this.portals.drop(participant.portal, participant.id);
    }
    this.participants.clear();
    this.livePerPortal.clear();
    this.close();
  }

  /** The portal is gone: its participants wait for a resume elsewhere, or time out. */
  orphanPortal(portal: string): void {
    if (!this.options.resumable) return;
    this.stopCatchingUp(portal);
    for (const participant of this.participants.values()) {
      if (participant.portal !== portal || participant.orphaned) continue;
      participant.orphaned = setTimeout(() => this.abandon(participant), this.options.reconnectionTimeout);
      this.countLive(portal, -1);
    }
  }

  /** What `portal` confirmed it emitted (cluster mode); a portal taken for gone confirms nothing. */
  confirm(portal: string, upTo: number, away: ReadonlyMap<string, number>): void {
    if (!this.options.resumable) return;
    for (const participant of this.participants.values()) {
      if (participant.portal !== portal || participant.orphaned) continue;
      const confirmed = Math.min(away.get(participant.id) ?? upTo, this.seq);
      participant.confirmed = Math.max(participant.confirmed, confirmed);
    }
    this.trim(Date.now());
  }

  /** Moves the participant to `portal` and hands over what its previous portal may not have delivered. */
  resume(participantId: string, portal: string): HandedOver[] {
    const participant = this.participants.get(participantId);
    if (!participant) throw conferenceError('notJoined');
    if (participant.incomplete) throw conferenceError('resumeIncomplete');
    const { orphaned, portal: previous } = participant;
    clearTimeout(orphaned);
    delete participant.orphaned;
    if (!orphaned) this.countLive(previous, -1);
    participant.portal = portal;
    this.countLive(portal, 1);
    if (!orphaned && previous !== portal) this.portals.release(previous, participantId);
    this.stopCatchingUpIfDeserted(previous);
    return this.options.resumable ? this.log.handOver(participant, Date.now()) : [];
  }

  close(): void {
    this.closed = true;
    for (const participant of this.participants.values()) clearTimeout(participant.orphaned);
    for (const portal of [...this.behind.keys()]) this.stopCatchingUp(portal);
    this.media.close();
  }

  private notify(target: Participant, event: string, data: unknown): void {
    const seq = this.record({ event, data, to: target.id });
    if (!target.orphaned && !this.behind.has(target.portal)) this.deliver(target.portal, { seq, event, data, to: target.id });
  }

  /** One message per portal that holds at least one live receiver; the portal fans it out. */
  private broadcast(excludeList: string[], event: string, data: unknown): void {
    const notification = { seq: this.record({ event, data, exclude: excludeList }), event, data, exclude: excludeList };
    const excludedLiveOn = new Map<string, number>();
    for (const id of new Set(excludeList)) {
      const excluded = this.participants.get(id);
      if (excluded && !excluded.orphaned) excludedLiveOn.set(excluded.portal, (excludedLiveOn.get(excluded.portal) ?? 0) + 1);
    }
    for (const [portal, live] of this.livePerPortal) {
      if (live > (excludedLiveOn.get(portal) ?? 0) && !this.behind.has(portal)) this.deliver(portal, notification);
    }
  }

  private countLive(portal: string, change: 1 | -1): void {
    const count = (this.livePerPortal.get(portal) ?? 0) + change;
    if (count > 0) this.livePerPortal.set(portal, count);
    else this.livePerPortal.delete(portal);
  }

  private deliver(portal: string, notification: Omit<LoggedNotification, 'at'>): void {
    const { seq, event, data, to, exclude = [] } = notification;
    const delivery =
      to === undefined
        ? this.portals.broadcast(portal, this.id, [...exclude], event, data, seq)
        : this.portals.notify(portal, to, event, data, seq);
    if (!this.options.resumable) return;
    void delivery.then((taken) => {
      if (this.closed) return;
      if (taken) this.takenUpTo.set(portal, Math.max(this.takenUpTo.get(portal) ?? 0, seq));
      else this.fallBehind(portal, { seq, to, exclude });
    });
  }

  /**
   * The portal may be gone, or only reconnecting to the broker: whether it is gone is for the cluster
   * manager to say. Until it serves again it gets nothing, and then all it missed, in order.
   */
  private fallBehind(portal: string, untaken: Addressing): void {
    const behind = this.behind.get(portal);
    if (behind) {
      behind.from = Math.min(behind.from, untaken.seq);
      behind.untaken.push(untaken);
      return;
    }
    if (this.livePerPortal.has(portal)) {
      this.behind.set(portal, { from: untaken.seq, untaken: [untaken], watch: this.portals.whenBack(portal, () => this.catchUp(portal)) });
      this.options.onPortalBehind(portal, untaken.seq);
    }
  }

  /**
   * Everything the portal missed, in order, before anything newer; then those who missed what can no
   * longer reach them in order (it left the log, or the portal took something newer first) go.
   */
  private catchUp(portal: string): void {
    const behind = this.behind.get(portal);
    if (!behind || this.closed) return;
    this.behind.delete(portal);
    const onPortal = [...this.liveParticipantsOn(portal)];
    const takenUpTo = this.takenUpTo.get(portal) ?? 0;
    for (const hole of behind.untaken) {
      if (hole.seq >= takenUpTo) continue;
      for (const participant of onPortal) if (awaits(participant, hole)) participant.missed = true;
    }
    let count = 0;
    for (const entry of this.log.since(behind.from)) {
      if (!onPortal.some((participant) => !participant.missed && awaits(participant, entry))) continue;
      count++;
      if (entry.to !== undefined) {
        this.deliver(portal, entry);
        continue;
      }
      // The portal fans a broadcast out to the whole room it holds: not to those who have it or never were to.
      const nonTakers = onPortal.filter((participant) => participant.missed || !awaits(participant, entry)).map(({ id }) => id);
      this.deliver(portal, { ...entry, exclude: [...new Set([...(entry.exclude ?? []), ...nonTakers])] });
    }
    this.options.onPortalCaughtUp(portal, count);
    for (const participant of onPortal) {
      if (participant.missed) this.abandon(participant);
    }
  }

  private stopCatchingUp(portal: string): void {
    this.behind.get(portal)?.watch.cancel();
    this.behind.delete(portal);
    this.takenUpTo.delete(portal);
  }

  private stopCatchingUpIfDeserted(portal: string): void {
    if (this.behind.has(portal) && !this.livePerPortal.has(portal)) this.stopCatchingUp(portal);
  }

  private *liveParticipantsOn(portal: string): Generator<Participant> {
    for (const participant of this.participants.values()) if (participant.portal === portal && !participant.orphaned) yield participant;
  }

  /** Numbers the notification and, in cluster mode, keeps it until it is confirmed. */
  private record(notification: Omit<LoggedNotification, 'seq' | 'at'>): number {
    const seq = ++this.seq;
    if (this.options.resumable) {
      const now = Date.now();
      this.log.append({ ...notification, seq, at: now });
      this.trim(now);
    }
    return seq;
  }

  /** A participant that loses a notification it never confirmed cannot resume elsewhere; if its portal is gone, it is given up. */
  private trim(now: number): void {
    const lostNotifications = this.log.trim(this.readers(), now);
    if (lostNotifications.length === 0) return;
    const readers = [...this.readers()];
    for (const lost of lostNotifications) {
      for (const participant of readers) {
        if (!awaits(participant, lost)) continue;
        const behind = this.behind.get(participant.portal);
        if (behind && behind.from <= lost.seq) participant.missed = true;
        if (participant.incomplete) continue;
        participant.incomplete = true;
        if (participant.orphaned) {
          clearTimeout(participant.orphaned);
          queueMicrotask(() => this.abandon(participant));
        }
      }
    }
  }

  /**
   * The participants whose record of notifications is still complete, and those whose portal is
   * behind (what it missed is kept for its return); walked, not copied, on every notification.
   */
  private *readers(): Generator<Participant> {
    for (const participant of this.participants.values()) if (!participant.incomplete || this.behind.has(participant.portal)) yield participant;
  }

  /**
   * Gives the participant up. Its portal may only have looked dead (a broker blip): a `drop` tells
   * a client still connected there that its session is over, rather than leaving it in a ghost room.
   */
  private abandon(participant: Participant): void {
    if (this.participants.get(participant.id) !== participant) return;
    this.portals.drop(participant.portal, participant.id);
    this.options.onAbandoned(participant.id);
  }

  private existing(participantId: string): Participant {
    const participant = this.participants.get(participantId);
    if (!participant) throw conferenceError('participantNotFound');
    return participant;
  }
}

/** Whether the notification is for the participant and its portal has not confirmed it yet. */
function awaits(participant: Participant, notification: Addressing): boolean {
  return participant.joinedAt < notification.seq && participant.confirmed < notification.seq && isAddressedTo(notification, participant.id);
}

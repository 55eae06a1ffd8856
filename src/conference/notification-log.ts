/**
 * What a room sent, kept until the portals confirm it reached its participants (cluster mode,
 * SPEC §6): a participant whose portal dies resumes on another one with whatever its dead portal
 * never confirmed, under the same sequence numbers.
 */
import type { HandedOver } from './api.js';

/** One notification of the room: to one participant, or to everyone but `exclude`. */
export interface LoggedNotification {
  seq: number;
  event: string;
  data: unknown;
  at: number;
  to?: string;
  exclude?: readonly string[];
}

/** Where a participant stands in the room's numbering. */
export interface Reader {
  id: string;
  /** Notifications numbered up to here were sent before it joined. */
  joinedAt: number;
  /** Its portal confirmed every notification of it up to here. */
  confirmed: number;
}

export function isAddressedTo(notification: Pick<LoggedNotification, 'to' | 'exclude'>, participantId: string): boolean {
  return notification.to === undefined ? !notification.exclude?.includes(participantId) : notification.to === participantId;
}

/**
 * Confirmed notifications stay `windowMs` (a 1.2 client replays what its dead transport swallowed);
 * past `capacity` the oldest go whatever their state, and `trim` returns those still unconfirmed.
 */
export class NotificationLog {
  private entries: LoggedNotification[] = [];
  /** Entries before this index are gone; the array is compacted now and then, not per notification. */
  private head = 0;

  constructor(
    private readonly windowMs: number,
    private readonly capacity: number,
  ) {}

  append(notification: LoggedNotification): void {
    this.entries.push(notification);
  }

  /** Drops what every reader confirmed and is out of the window, and whatever exceeds the capacity. */
  trim(readers: Iterable<Reader>, now: number): LoggedNotification[] {
    let everyoneConfirmed = Infinity;
    for (const reader of readers) everyoneConfirmed = Math.min(everyoneConfirmed, reader.confirmed);
    const forced: LoggedNotification[] = [];
    const { entries } = this;
    while (this.head < entries.length) {
      const entry = entries[this.head]!;
      const confirmed = entry.seq <= everyoneConfirmed;
      if (entries.length - this.head > this.capacity) {
        if (!confirmed) forced.push(entry);
      } else if (!confirmed || now - entry.at <= this.windowMs) {
        break;
      }
      this.head++;
    }
    if (this.head > 0 && this.head * 2 >= entries.length) {
      this.entries = entries.slice(this.head);
      this.head = 0;
    }
    return forced;
  }

  /** What is kept from number `from` on, in order. */
  *since(from: number): Generator<LoggedNotification> {
    for (let index = this.head; index < this.entries.length; index++) {
      const entry = this.entries[index]!;
      if (entry.seq >= from) yield entry;
    }
  }

  /** What a reader resuming elsewhere gets: its notifications not yet confirmed, and the confirmed ones of the window. */
  handOver(reader: Reader, now: number): HandedOver[] {
    const handed: HandedOver[] = [];
    for (let index = this.head; index < this.entries.length; index++) {
      const entry = this.entries[index]!;
      if (entry.seq <= reader.joinedAt || !isAddressedTo(entry, reader.id)) continue;
      const confirmed = entry.seq <= reader.confirmed;
      if (confirmed && now - entry.at > this.windowMs) continue;
      handed.push({ event: entry.event, data: entry.data, seq: entry.seq, confirmed });
    }
    return handed;
  }
}

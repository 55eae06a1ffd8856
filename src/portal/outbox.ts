import type { BufferedMessage } from '../protocol/socket.js';

export type { BufferedMessage } from '../protocol/socket.js';

interface Entry<Event extends string> extends BufferedMessage<Event> {
  at: number;
  delivered: boolean;
}

/**
 * Every notification of one participant, in the order of the numbers its room gave them (a number
 * not above the last one is a copy and is refused). Undelivered entries are the pending queue;
 * delivered ones stay for `windowMs` so a 1.2 client can replay what its dead transport swallowed.
 * Both are bounded by `capacity`: when an undelivered entry has to go, the participant has lost a
 * message and `lost` is set, so its relogin is refused rather than silently incomplete.
 */
export class Outbox<Event extends string = string> {
  private entries: Entry<Event>[] = [];
  /** Entries before this index are evicted; the array is compacted only now and then, not per message. */
  private head = 0;
  private last = 0;
  private lastDeliveredSeq = 0;
  private lostMessage = false;

  constructor(
    private readonly windowMs: number,
    private readonly capacity: number,
  ) {}

  get lost(): boolean {
    return this.lostMessage;
  }

  /** Notifications held: pending ones, and delivered ones still inside the replay window. */
  get size(): number {
    return this.entries.length - this.head;
  }

  /** Lets go of delivered entries past the window, which otherwise wait for the next notification. */
  forgetAged(now = Date.now()): void {
    this.evict(now);
  }

  /** The number of the last notification taken. */
  get lastSeq(): number {
    return this.last;
  }

  /** The number of the last notification that went out to the client. */
  get lastDelivered(): number {
    return this.lastDeliveredSeq;
  }

  /** Takes the notification numbered `seq`, unless it had it already; answers what was taken. */
  append(event: Event, data: unknown, delivered: boolean, seq: number, now = Date.now()): BufferedMessage<Event> | undefined {
    if (seq <= this.last) return undefined;
    this.last = seq;
    if (delivered) this.lastDeliveredSeq = seq;
    const entry: Entry<Event> = { event, data, seq, at: now, delivered };
    // With no window nothing is replayed, so a delivered entry would only hold memory.
    if (!delivered || this.windowMs > 0) this.entries.push(entry);
    this.evict(now);
    return entry;
  }

  /** Marks every pending entry delivered and returns them in order. */
  drainPending(): BufferedMessage<Event>[] {
    const pending = this.live().filter((entry) => !entry.delivered);
    for (const entry of pending) entry.delivered = true;
    if (pending.length > 0) this.lastDeliveredSeq = pending[pending.length - 1]!.seq;
    return pending.map(({ event, data, seq }) => ({ event, data, seq }));
  }

  /** What the buffer holds now: the 1.2 relogin answer's `messages`. */
  recent(now = Date.now()): BufferedMessage<Event>[] {
    this.evict(now);
    return this.live().map(({ event, data, seq }) => ({ event, data, seq }));
  }

  private live(): Entry<Event>[] {
    return this.entries.slice(this.head);
  }

  private evict(now: number): void {
    const { entries } = this;
    while (this.head < entries.length) {
      const entry = entries[this.head]!;
      const overCapacity = entries.length - this.head > this.capacity;
      const aged = entry.delivered && now - entry.at > this.windowMs;
      if (!overCapacity && !aged) break;
      if (!entry.delivered) this.lostMessage = true;
      this.head++;
    }
    if (this.head > 0 && this.head * 2 >= entries.length) {
      this.entries = entries.slice(this.head);
      this.head = 0;
    }
  }
}

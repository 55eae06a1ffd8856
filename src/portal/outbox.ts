/** A notification as the 1.2 relogin answer lists it (SPEC §6). */
export interface BufferedMessage {
  event: string;
  data: unknown;
  seq: number;
}

interface Entry extends BufferedMessage {
  at: number;
  delivered: boolean;
}

/**
 * Every notification of one participant, numbered in order. Undelivered entries are the pending
 * queue; delivered ones stay for `windowMs` so a 1.2 client can replay what its dead transport
 * swallowed. Both are bounded by `capacity`: when an undelivered entry has to go, the participant
 * has lost a message and `lost` is set, so its relogin is refused rather than silently incomplete.
 */
export class Outbox {
  private entries: Entry[] = [];
  /** Entries before this index are evicted; the array is compacted only now and then, not per message. */
  private head = 0;
  private nextSeq = 0;
  private lostMessage = false;

  constructor(
    private readonly windowMs: number,
    private readonly capacity: number,
  ) {}

  get lost(): boolean {
    return this.lostMessage;
  }

  append(event: string, data: unknown, delivered: boolean, now = Date.now()): BufferedMessage {
    const entry: Entry = { event, data, seq: ++this.nextSeq, at: now, delivered };
    // With no window nothing is replayed, so a delivered entry would only hold memory.
    if (!delivered || this.windowMs > 0) this.entries.push(entry);
    this.evict(now);
    return entry;
  }

  /** Marks every pending entry delivered and returns them in order. */
  drainPending(): BufferedMessage[] {
    const pending = this.live().filter((entry) => !entry.delivered);
    for (const entry of pending) entry.delivered = true;
    return pending.map(({ event, data, seq }) => ({ event, data, seq }));
  }

  /** What the buffer holds now: the 1.2 relogin answer's `messages`. */
  recent(now = Date.now()): BufferedMessage[] {
    this.evict(now);
    return this.live().map(({ event, data, seq }) => ({ event, data, seq }));
  }

  private live(): Entry[] {
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

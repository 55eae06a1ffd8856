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
    const pending = this.entries.filter((entry) => !entry.delivered);
    for (const entry of pending) entry.delivered = true;
    return pending.map(({ event, data, seq }) => ({ event, data, seq }));
  }

  /** What the buffer holds now: the 1.2 relogin answer's `messages`. */
  recent(now = Date.now()): BufferedMessage[] {
    this.evict(now);
    return this.entries.map(({ event, data, seq }) => ({ event, data, seq }));
  }

  get pendingCount(): number {
    return this.entries.reduce((count, entry) => count + (entry.delivered ? 0 : 1), 0);
  }

  private evict(now: number): void {
    let drop = 0;
    while (drop < this.entries.length) {
      const entry = this.entries[drop]!;
      const overCapacity = this.entries.length - drop > this.capacity;
      const aged = entry.delivered && now - entry.at > this.windowMs;
      if (!overCapacity && !aged) break;
      if (!entry.delivered) this.lostMessage = true;
      drop++;
    }
    if (drop > 0) this.entries = this.entries.slice(drop);
  }
}

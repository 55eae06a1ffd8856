export const RateVerdicts = {
  admit: 'admit',
  /** Over the limit: the event is refused. */
  refuse: 'refuse',
  /** Over the limit for `sustainedWindows` windows in a row: the client is to be disconnected. */
  abuse: 'abuse',
} as const;
export type RateVerdict = (typeof RateVerdicts)[keyof typeof RateVerdicts];

const WINDOW_MS = 1_000;

/** The events of one connection in one-second windows. */
export class EventRate {
  private windowStart = -Infinity;
  private count = 0;
  /** Windows over the limit in a row, not counting the current one. */
  private excessStreak = 0;

  constructor(
    private readonly perSecond: number,
    private readonly sustainedWindows: number,
  ) {}

  hit(now = Date.now()): RateVerdict {
    const elapsed = now - this.windowStart;
    if (elapsed >= WINDOW_MS) {
      // A window without any event in between breaks the streak.
      const adjacent = elapsed < 2 * WINDOW_MS;
      this.excessStreak = adjacent && this.count > this.perSecond ? this.excessStreak + 1 : 0;
      this.windowStart = now;
      this.count = 0;
    }
    this.count++;
    if (this.count <= this.perSecond) return RateVerdicts.admit;
    return this.excessStreak + 1 >= this.sustainedWindows ? RateVerdicts.abuse : RateVerdicts.refuse;
  }
}

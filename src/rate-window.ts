/** Counts per key over tumbling windows, e.g. login attempts per address per minute. */
export class RateWindow {
  private readonly counts = new Map<string, number>();
  private windowStart = Date.now();

  constructor(private readonly windowMs: number) {}

  hit(key: string, limit: number, now = Date.now()): boolean {
    if (now - this.windowStart >= this.windowMs) {
      this.counts.clear();
      this.windowStart = now;
    }
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    return count <= limit;
  }
}

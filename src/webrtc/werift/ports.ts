/**
 * UDP ports of this process for werift transports. werift binds a port it probed free a moment
 * before, so two transports probing the same range at once may pick the same port and one of them
 * never binds. Each transport is therefore given its own window of two ports (werift wants a range,
 * and the second port covers one taken meanwhile by another process).
 */
const WINDOW = 2;

export class PortPool {
  private readonly taken = new Set<number>();
  private readonly windows: number;
  private cursor: number;

  constructor(private readonly min: number, max: number) {
    this.windows = Math.floor((max - min + 1) / WINDOW);
    // Processes sharing a range start at different places.
    this.cursor = Math.floor(Math.random() * Math.max(this.windows, 1));
  }

  /** The window's first and last port, or undefined when every window is taken. */
  take(): [number, number] | undefined {
    for (let step = 0; step < this.windows; step++) {
      const index = (this.cursor + step) % this.windows;
      const first = this.min + index * WINDOW;
      if (this.taken.has(first)) continue;
      this.taken.add(first);
      this.cursor = (index + 1) % this.windows;
      return [first, first + WINDOW - 1];
    }
    return undefined;
  }

  release(first: number): void {
    this.taken.delete(first);
  }
}

const pools = new Map<string, PortPool>();

/** Every engine of this process using the same range shares one pool. */
export function portPool(range: readonly [number, number]): PortPool {
  const key = `${range[0]}-${range[1]}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = new PortPool(range[0], range[1]);
    pools.set(key, pool);
  }
  return pool;
}

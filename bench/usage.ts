/** What a bench child reports about itself: CPU time spent so far and memory now. */
export interface ProcessUsage {
  cpuMs: number;
  rssBytes: number;
  heapUsedBytes: number;
}

/** With `collectGarbage` (and node started with `--expose-gc`) the heap holds only what is live. */
export function usageOf(collectGarbage: boolean): ProcessUsage {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (collectGarbage && gc) {
    // A second pass frees what the first one's finalizers released.
    gc();
    gc();
  }
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return { cpuMs: (cpu.user + cpu.system) / 1_000, rssBytes: memory.rss, heapUsedBytes: memory.heapUsed };
}

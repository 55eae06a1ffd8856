import { cpus } from 'node:os';

/** Measures a load between 0 and 1 over the time since the previous sample. */
export interface LoadMeter {
  sample(): number;
}

/** The host's CPU usage across all cores, the figure OWT's workers report too. */
export function cpuLoadMeter(): LoadMeter {
  let previous = cpuTimes();
  return {
    sample() {
      const current = cpuTimes();
      const total = current.total - previous.total;
      const busy = current.busy - previous.busy;
      previous = current;
      return total > 0 ? Math.min(1, Math.max(0, busy / total)) : 0;
    },
  };
}

/** Reports no load, so scheduling ignores the host's CPU (config `cluster.loadMeter: none`). */
export const idleLoadMeter: LoadMeter = { sample: () => 0 };

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

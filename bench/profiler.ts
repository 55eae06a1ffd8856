/** V8's CPU profiler in a bench child, for the runs the bench profiles (`--profile`). */
import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { dirname } from 'node:path';

export type ProfilerMethods = {
  /** Starts V8's CPU profiler in this process. */
  startProfile(): Promise<void>;
  /** Stops it and writes the `.cpuprofile` (readable by Chrome DevTools) to `file`. */
  stopProfile(file: string): Promise<void>;
};

/** The methods a child serves, and `close` for its shutdown. */
export function cpuProfiler(): { methods: ProfilerMethods; close: () => void } {
  const inspector = new Session();
  inspector.connect();
  return {
    methods: {
      startProfile: async () => {
        await inspector.post('Profiler.enable');
        // Ten samples a millisecond: a run of a few seconds gives enough to rank functions by.
        await inspector.post('Profiler.setSamplingInterval', { interval: 100 });
        await inspector.post('Profiler.start');
      },
      stopProfile: async (file) => {
        const { profile } = await inspector.post('Profiler.stop');
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, JSON.stringify(profile));
      },
    },
    close: () => inspector.disconnect(),
  };
}

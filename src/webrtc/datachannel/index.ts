/** The media engine on node-datachannel, bindings of libdatachannel (C++) (SPEC-MEDIA M8). */
import nodeDatachannel from 'node-datachannel';
import type { MediaEngine, MediaEngineOptions } from '../media.js';
import { engineOf } from '../transports.js';
import { DatachannelTransport } from './transport.js';

/** Engines of this process not closed yet: libdatachannel's threads are process-wide. */
let engines = 0;

export function createDatachannelEngine(options: MediaEngineOptions): MediaEngine {
  engines++;
  return engineOf(
    (counters, onClosed) => new DatachannelTransport(options, counters, onClosed),
    () => {
      // The last engine stops libdatachannel's threads and callbacks, which would keep the process alive.
      if (--engines > 0) return;
      nodeDatachannel.cleanup();
    },
  );
}

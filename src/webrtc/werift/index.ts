/** The media engine on werift, a WebRTC stack in TypeScript (SPEC-MEDIA M8). */
import type { MediaEngine, MediaEngineOptions } from '../media.js';
import { engineOf } from '../transports.js';
import { portPool } from './ports.js';
import { WeriftTransport } from './transport.js';

export function createWeriftEngine(options: MediaEngineOptions): MediaEngine {
  const ports = options.portRange ? portPool(options.portRange) : undefined;
  return engineOf((counters, onClosed) => new WeriftTransport(options, ports, counters, onClosed));
}

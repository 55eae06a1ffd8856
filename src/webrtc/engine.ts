/** The one place that picks the media library (SPEC-MEDIA M8): `webrtc.engine`, werift or node-datachannel. */
import { portRangeOf, type Config } from '../config/config.js';
import type { MediaEngine, MediaEngineOptions } from './media.js';

/** Loaded when a node first needs it, so that a server carrying no media never loads the library. */
export async function createMediaEngine(config: Config['webrtc']): Promise<MediaEngine> {
  const options: MediaEngineOptions = {
    listenIp: config.listenIp,
    announcedIp: config.announcedIp || config.listenIp,
    portRange: portRangeOf(config.portRange),
    iceServers: config.iceServers,
    iceUsername: config.iceUsername,
    iceCredential: config.iceCredential,
    maxBitrate: config.maxBitrate,
    maxPacketRate: config.maxPacketRate,
  };
  if (config.engine === 'datachannel') {
    const { createDatachannelEngine } = await import('./datachannel/index.js');
    return createDatachannelEngine(options);
  }
  const { createWeriftEngine } = await import('./werift/index.js');
  return createWeriftEngine(options);
}

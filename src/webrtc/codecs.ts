/** Which codecs the SFU forwards, how they are named in StreamInfo, and when two are the same (SPEC-MEDIA M1, M5). */
import type { MediaFormat } from '../protocol/socket.js';
import type { Codec, MediaKind } from './media.js';

export type { MediaFormat } from '../protocol/socket.js';

/** Forwarded as they come: Opus, VP8, VP9, H.264 and AV1. */
const forwarded: Record<MediaKind, readonly string[]> = {
  audio: ['opus'],
  video: ['vp8', 'vp9', 'h264', 'av1'],
};

export function codecName(codec: Codec): string {
  return codec.mimeType.slice(codec.mimeType.indexOf('/') + 1).toLowerCase();
}

export function isForwarded(kind: MediaKind, codec: Codec): boolean {
  return codec.mimeType.toLowerCase().startsWith(`${kind}/`) && forwarded[kind].includes(codecName(codec));
}

function fmtp(codec: Codec): Map<string, string> {
  const parameters = new Map<string, string>();
  for (const pair of (codec.parameters ?? '').split(';')) {
    const equals = pair.indexOf('=');
    if (equals > 0) parameters.set(pair.slice(0, equals).trim().toLowerCase(), pair.slice(equals + 1).trim());
  }
  return parameters;
}

/** OWT's H.264 profile names from `profile-level-id` (RFC 6184 §8.1): profile_idc and its constraint flags. */
function h264Profile(codec: Codec): string | undefined {
  const id = fmtp(codec).get('profile-level-id');
  if (!id || !/^[0-9a-f]{6}$/i.test(id)) return undefined;
  const profileIdc = Number.parseInt(id.slice(0, 2), 16);
  const constraints = Number.parseInt(id.slice(2, 4), 16);
  switch (profileIdc) {
    case 0x42:
      return constraints & 0x40 ? 'CB' : 'B';
    case 0x4d:
      return 'M';
    case 0x58:
      return 'E';
    case 0x64:
      return 'H';
    default:
      return undefined;
  }
}

export function formatOf(codec: Codec): MediaFormat {
  const name = codecName(codec);
  if (name === 'opus') return { codec: name, sampleRate: codec.clockRate, channelNum: codec.channels ?? 2 };
  const profile = name === 'h264' ? h264Profile(codec) : undefined;
  return profile ? { codec: name, profile } : { codec: name };
}

/** Whether a room format (`{codec, profile?}`) admits the codec; a format without a profile admits them all. */
export function admittedBy(formats: readonly MediaFormat[], codec: Codec): boolean {
  const format = formatOf(codec);
  return formats.some(
    (allowed) => allowed.codec.toLowerCase() === format.codec && (allowed.profile === undefined || allowed.profile === format.profile),
  );
}

/** Whether a subscriber's offered codec decodes what the source sends, payload type aside. */
export function sameCodec(source: Codec, offered: Codec): boolean {
  if (source.mimeType.toLowerCase() !== offered.mimeType.toLowerCase() || source.clockRate !== offered.clockRate) return false;
  const a = fmtp(source);
  const b = fmtp(offered);
  switch (codecName(source)) {
    case 'h264':
      return (a.get('packetization-mode') ?? '0') === (b.get('packetization-mode') ?? '0') && h264Profile(source) === h264Profile(offered);
    case 'vp9':
      return (a.get('profile-id') ?? '0') === (b.get('profile-id') ?? '0');
    case 'av1':
      return (a.get('profile') ?? '0') === (b.get('profile') ?? '0');
    default:
      return true;
  }
}

export function isRtx(codec: Codec): boolean {
  return codec.mimeType.toLowerCase().endsWith('/rtx');
}

/** The retransmission codec (RFC 4588) offered for `primary`. */
export function rtxOf<T extends Codec & { payloadType: number }>(codecs: readonly T[], primary: T): T | undefined {
  return codecs.find((codec) => isRtx(codec) && (codec.parameters ?? '').split(';').some((pair) => pair.trim() === `apt=${primary.payloadType}`));
}

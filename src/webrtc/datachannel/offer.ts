/**
 * What an offer says of each m-line, read from its SDP: libdatachannel answers with whatever media
 * description the server gives each track, so the server reads the offer itself to choose codecs,
 * feedback and header extensions as the werift engine does. Whatever it keeps goes into native
 * calls, where a value libdatachannel cannot parse aborts the process (a C++ exception JavaScript
 * cannot catch): a value that is not well formed is left out here, as if the line were absent.
 */
import type { Codec } from '../media.js';

export type OfferDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface OfferedCodec extends Codec {
  payloadType: number;
  /** `nack`, `nack pli`, `goog-remb`, … */
  feedback: string[];
}

export interface OfferedSection {
  mid: string;
  /** `audio`, `video` or `application`. */
  kind: string;
  port: number;
  direction: OfferDirection;
  codecs: OfferedCodec[];
  /** Header extension URIs by id. */
  extensions: Map<number, string>;
}

const directions = new Set<string>(['sendrecv', 'sendonly', 'recvonly', 'inactive']);
/** A token of SDP (RFC 8866 §9): an encoding name, a URI. */
const token = /^[\x21-\x7e]+$/;
/** Format parameters: printable ASCII. */
const printable = /^[\x21-\x7e][\x20-\x7e]*$/;

/** `text` as an integer from `min` to `max`, or undefined. */
function integerIn(text: string, min: number, max: number): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const value = Number(text);
  return value >= min && value <= max ? value : undefined;
}

export function parseOffer(sdp: string): OfferedSection[] {
  return sdp
    .split(/\r?\n(?=m=)/)
    .slice(1)
    .map(parseSection);
}

function parseSection(text: string): OfferedSection {
  const lines = text.split(/\r?\n/);
  const [kind = '', port = '0', , ...formats] = (lines[0] ?? '').slice(2).split(' ');
  const codecs = new Map<number, OfferedCodec>();
  for (const format of formats) {
    const payloadType = integerIn(format, 0, 127);
    if (payloadType !== undefined) codecs.set(payloadType, { payloadType, mimeType: '', clockRate: 0, feedback: [] });
  }
  const section: OfferedSection = { mid: '', kind, port: Number(port), direction: 'sendrecv', codecs: [], extensions: new Map() };
  for (const line of lines.slice(1)) {
    // Only the line's end is trimmed: libdatachannel ignores a line that does not begin with its type.
    const attribute = /^a=([^:]+)(?::(.*))?$/.exec(line.trimEnd());
    if (!attribute) continue;
    const [, name = '', value = ''] = attribute;
    if (directions.has(name)) section.direction = name as OfferDirection;
    else if (name === 'mid') section.mid = value;
    else if (name === 'extmap') {
      const [id = '', uri = ''] = value.split(' ');
      const extensionId = integerIn(id.split('/')[0] ?? '', 1, 255);
      if (extensionId !== undefined && token.test(uri)) section.extensions.set(extensionId, uri);
    } else if (name === 'rtpmap' || name === 'fmtp' || name === 'rtcp-fb') {
      const space = value.indexOf(' ');
      const payloadType = integerIn(value.slice(0, space), 0, 127);
      const codec = payloadType === undefined ? undefined : codecs.get(payloadType);
      const rest = value.slice(space + 1).trim();
      if (!codec || !printable.test(rest)) continue;
      if (name === 'rtpmap') {
        const [encoding = '', clockText = '', channelText] = rest.split('/');
        const clockRate = integerIn(clockText, 1, 10_000_000);
        const channels = channelText === undefined ? undefined : integerIn(channelText, 1, 255);
        if (!token.test(encoding) || clockRate === undefined || (channelText !== undefined && channels === undefined)) continue;
        codec.mimeType = `${kind}/${encoding}`;
        codec.clockRate = clockRate;
        if (channels !== undefined) codec.channels = channels;
      } else if (name === 'fmtp') codec.parameters = rest;
      else codec.feedback.push(rest);
    }
  }
  section.codecs = [...codecs.values()].filter((codec) => codec.mimeType !== '');
  return section;
}

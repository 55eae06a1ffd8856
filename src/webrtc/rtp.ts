/** RTP sequence arithmetic the forwarding does the same way whatever library carries the packets. */
import type { MediaCounters } from './media.js';

/** Newer in 16-bit sequence space. */
export function isNewer(sequenceNumber: number, than: number): boolean {
  const distance = (sequenceNumber - than) & 0xffff;
  return distance !== 0 && distance < 0x8000;
}

/** Counts a publisher's packets as they arrive, and those its sequence numbers skip (lost). */
export class ArrivalCount {
  private latestSsrc: number | undefined;
  private latestSequenceNumber: number | undefined;

  constructor(private readonly counters: MediaCounters) {}

  /** The SSRC of the newest packet, for keyframe requests and REMB. */
  get ssrc(): number | undefined {
    return this.latestSsrc;
  }

  /** Returns how many sequence numbers the packet skipped (0: none, or it came late). */
  arrived(ssrc: number, sequenceNumber: number, bytes: number): number {
    this.counters.rtpPacketsIn++;
    this.counters.rtpBytesIn += bytes;
    const previous = ssrc === this.latestSsrc ? this.latestSequenceNumber : undefined;
    let skipped = 0;
    if (previous === undefined || isNewer(sequenceNumber, previous)) {
      if (previous !== undefined) skipped = ((sequenceNumber - previous) & 0xffff) - 1;
      this.counters.packetsLost += skipped;
      this.latestSequenceNumber = sequenceNumber;
    }
    this.latestSsrc = ssrc;
    return skipped;
  }
}

/**
 * Shifts sequence numbers and timestamps so that a change of source, or a pause, looks to the
 * subscriber like one continuous stream.
 */
export class Continuity {
  private rebase = true;
  private sequenceOffset = 0;
  private timestampOffset = 0;
  /** The newest packet sent so far (sequence number -1: none yet). */
  private lastSequenceNumber = -1;
  private lastTimestamp = 0;
  private lastAt = 0;
  /** The outgoing values of the latest `map`. */
  sequenceNumber = 0;
  timestamp = 0;

  constructor(private readonly clockRate: number) {}

  /** The next packet starts a new run (another source, or forwarding resumed). */
  restart(): void {
    this.rebase = true;
  }

  /** Sets `sequenceNumber` and `timestamp` to what the subscriber gets for a source packet. */
  map(sequenceNumber: number, timestamp: number): void {
    if (this.rebase) this.startRun(sequenceNumber, timestamp);
    this.sequenceNumber = (sequenceNumber + this.sequenceOffset) & 0xffff;
    this.timestamp = (timestamp + this.timestampOffset) >>> 0;
    if (this.lastSequenceNumber < 0 || isNewer(this.sequenceNumber, this.lastSequenceNumber)) {
      this.lastSequenceNumber = this.sequenceNumber;
      this.lastTimestamp = this.timestamp;
      this.lastAt = Date.now();
    }
  }

  /** The first packet after a (re)start continues where the subscriber's stream stopped. */
  private startRun(sequenceNumber: number, timestamp: number): void {
    this.rebase = false;
    if (this.lastSequenceNumber < 0) return;
    const elapsed = Math.max(1, Math.round(((Date.now() - this.lastAt) * this.clockRate) / 1000));
    this.sequenceOffset = (this.lastSequenceNumber + 1 - sequenceNumber) & 0xffff;
    this.timestampOffset = (this.lastTimestamp + elapsed - timestamp) >>> 0;
  }
}

export const MID_EXTENSION = 'urn:ietf:params:rtp-hdrext:sdes:mid';

/**
 * Header extensions whose publisher values mean nothing to a subscriber (the sender writes its own
 * mid, and the send-time and stream-id ones are per connection).
 */
const notPassed = new Set<string>([
  MID_EXTENSION,
  'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
  'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
]);

/** Header extension ids (one or two bytes) as a table index. */
const EXTENSION_IDS = 256;

/**
 * Which of a publisher's header extensions pass to a subscriber, as a table from the publisher's id
 * to the subscriber's (0: dropped); null when none passes.
 */
export function extensionTable(publisher: ReadonlyMap<number, string>, subscriber: ReadonlyMap<string, number>): Uint8Array | null {
  const table = new Uint8Array(EXTENSION_IDS);
  let passing = false;
  for (const [publisherId, uri] of publisher) {
    const id = notPassed.has(uri) ? undefined : subscriber.get(uri);
    if (id === undefined || publisherId >= EXTENSION_IDS) continue;
    table[publisherId] = id;
    passing = true;
  }
  return passing ? table : null;
}

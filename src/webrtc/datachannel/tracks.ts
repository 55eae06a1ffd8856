/**
 * Publishers' tracks and subscribers' tracks on node-datachannel, and the forwarding between them.
 * Packets arrive and leave as plain RTP: the header is read once per packet and written anew for
 * each subscriber (its SSRC, payload type, sequence numbers and header extension ids).
 */
import type { Track } from 'node-datachannel';
import { SinkTrack, SourceTrack } from '../forwarding.js';
import type { Codec, MediaCounters, MediaKind, ReceiveTrack } from '../media.js';
import { ArrivalCount, extensionTable, MID_EXTENSION } from '../rtp.js';
import { genericNack, isRtcp, pictureLossIndication, readFeedback, ReceptionStatistics, senderReport, type FeedbackSink } from './rtcp.js';

const MAX_EXTENSIONS = 32;
/** Packets a subscriber may ask again for (NACK); a power of two. */
const HISTORY = 512;
/** A publisher is asked again for a missing packet this often, this many times, for at most this many packets at once. */
const NACK_PERIOD_MS = 10;
const NACK_TRIES = 5;
const NACK_MAX_MISSING = 150;

/** Sending before DTLS is up, or after the track closed, throws: that packet is simply not sent. */
function send(handle: Track, packet: Buffer): boolean {
  try {
    return handle.sendMessageBinary(packet);
  } catch {
    return false;
  }
}

/** The fields of one arriving RTP packet; one instance per track, read again for each packet. */
class RtpView {
  buffer: Buffer = Buffer.alloc(0);
  marker = false;
  payloadType = 0;
  sequenceNumber = 0;
  timestamp = 0;
  ssrc = 0;
  csrcCount = 0;
  payloadStart = 0;
  /** Without padding. */
  payloadEnd = 0;
  extensionCount = 0;
  readonly extensionIds = new Uint8Array(MAX_EXTENSIONS);
  readonly extensionStarts = new Uint16Array(MAX_EXTENSIONS);
  readonly extensionLengths = new Uint8Array(MAX_EXTENSIONS);

  /** False for a packet too short or malformed to forward. */
  read(buffer: Buffer): boolean {
    if (buffer.length < 12 || buffer[0]! >> 6 !== 2) return false;
    this.buffer = buffer;
    const first = buffer[0]!;
    this.marker = (buffer[1]! & 0x80) !== 0;
    this.payloadType = buffer[1]! & 0x7f;
    this.sequenceNumber = buffer.readUInt16BE(2);
    this.timestamp = buffer.readUInt32BE(4);
    this.ssrc = buffer.readUInt32BE(8);
    this.csrcCount = first & 0x0f;
    let offset = 12 + 4 * this.csrcCount;
    this.extensionCount = 0;
    if (first & 0x10) {
      if (offset + 4 > buffer.length) return false;
      const profile = buffer.readUInt16BE(offset);
      const end = offset + 4 + 4 * buffer.readUInt16BE(offset + 2);
      if (end > buffer.length) return false;
      this.readExtensions(profile, offset + 4, end);
      offset = end;
    }
    const padding = first & 0x20 ? buffer[buffer.length - 1]! : 0;
    this.payloadStart = offset;
    this.payloadEnd = buffer.length - padding;
    return this.payloadEnd >= offset;
  }

  /** One-byte (RFC 8285 §4.2) or two-byte (§4.3) elements. */
  private readExtensions(profile: number, start: number, end: number): void {
    const oneByte = profile === 0xbede;
    if (!oneByte && (profile & 0xfff0) !== 0x1000) return;
    let at = start;
    while (at < end && this.extensionCount < MAX_EXTENSIONS) {
      const head = this.buffer[at]!;
      if (head === 0) {
        at++;
        continue;
      }
      const id = oneByte ? head >> 4 : head;
      if (oneByte && id === 15) return;
      const length = oneByte ? (head & 0x0f) + 1 : this.buffer[at + 1] ?? 0;
      const data = at + (oneByte ? 1 : 2);
      if (data + length > end) return;
      this.extensionIds[this.extensionCount] = id;
      this.extensionStarts[this.extensionCount] = data;
      this.extensionLengths[this.extensionCount] = length;
      this.extensionCount++;
      at = data + length;
    }
  }
}

export class DatachannelReceiveTrack extends SourceTrack<DatachannelSendTrack> {
  private readonly arrivals: ArrivalCount;
  private readonly view = new RtpView();
  private readonly statistics = new ReceptionStatistics();
  /** Sequence numbers skipped by the publisher and not arrived since, with the NACKs sent for each. */
  private readonly missing = new Map<number, number>();
  private nackTimer: NodeJS.Timeout | undefined;
  /** The SSRC the server's own RTCP about this track is sent from. */
  readonly rtcpSsrc = (Math.random() * 0xffffffff) >>> 0;

  constructor(
    kind: MediaKind,
    codec: Codec,
    /** The codec's payload type in the publisher's offer, kept across renegotiations. */
    readonly payloadType: number,
    /** The payload type of its retransmissions (RFC 4588), if offered. */
    public rtxPayloadType: number | undefined,
    /** The publisher's header extension URIs by id, refreshed at each negotiation. */
    public extensions: ReadonlyMap<number, string>,
    private readonly handle: Track,
    counters: MediaCounters,
  ) {
    super(kind, codec);
    this.arrivals = new ArrivalCount(counters);
  }

  get ssrc(): number | undefined {
    return this.arrivals.ssrc;
  }

  requestKeyframe(): void {
    const { ssrc } = this.arrivals;
    if (ssrc !== undefined) this.sendRtcp(pictureLossIndication(this.rtcpSsrc, ssrc));
  }

  sendRtcp(packet: Buffer): void {
    send(this.handle, packet);
  }

  /** Tells the publisher what arrived (a receiver report), once something has. */
  sendReport(): void {
    const report = this.statistics.report(this.rtcpSsrc);
    if (report) this.sendRtcp(report);
  }

  override stop(): void {
    clearInterval(this.nackTimer);
    this.missing.clear();
    super.stop();
  }


  /** Every packet libdatachannel hands this m-line: RTP from the publisher, and its RTCP (sender reports). */
  receive(message: Buffer): void {
    const view = this.view;
    if (isRtcp(message)) {
      this.statistics.readSenderReports(message);
      return;
    }
    if (!view.read(message)) return;
    if (view.payloadType === this.rtxPayloadType) {
      // A retransmission carries the original sequence number first; padding-only ones are probes.
      const primary = this.arrivals.ssrc;
      if (view.payloadEnd - view.payloadStart < 2 || primary === undefined) return;
      view.sequenceNumber = message.readUInt16BE(view.payloadStart);
      view.payloadStart += 2;
      view.payloadType = this.payloadType;
      view.ssrc = primary;
    } else if (view.payloadType !== this.payloadType) return;
    const skipped = this.arrivals.arrived(view.ssrc, view.sequenceNumber, message.length);
    this.statistics.packet(view.ssrc, view.sequenceNumber);
    if (skipped > 0 || this.missing.size > 0) this.noteLoss(view.sequenceNumber, skipped);
    this.arrived();
    const sinks = this.sinks;
    for (let i = 0; i < sinks.length; i++) sinks[i]!.write(view, this);
  }

  /** Asks the publisher again for what the packet `sequenceNumber` skipped; a late one is no longer missing. */
  private noteLoss(sequenceNumber: number, skipped: number): void {
    this.missing.delete(sequenceNumber);
    if (skipped > NACK_MAX_MISSING) this.missing.clear();
    else for (let back = skipped; back >= 1; back--) this.missing.set((sequenceNumber - back) & 0xffff, 0);
    if (this.missing.size === 0 || this.nackTimer) return;
    this.sendNack();
    this.nackTimer = setInterval(() => this.sendNack(), NACK_PERIOD_MS);
  }

  private sendNack(): void {
    const ssrc = this.arrivals.ssrc;
    for (const [sequenceNumber, tries] of this.missing) {
      if (tries >= NACK_TRIES) this.missing.delete(sequenceNumber);
      else this.missing.set(sequenceNumber, tries + 1);
    }
    if (this.missing.size === 0 || ssrc === undefined) {
      clearInterval(this.nackTimer);
      this.nackTimer = undefined;
      return;
    }
    this.sendRtcp(genericNack(this.rtcpSsrc, ssrc, [...this.missing.keys()]));
  }
}

/** What a negotiation settles for a subscriber's m-line. */
export interface SendParameters {
  payloadType: number;
  mid: string;
  /** The subscriber's header extension ids by URI. */
  extensionIds: ReadonlyMap<string, number>;
}

/** Sends one source's packets to one subscriber, answering its NACKs from the packets last sent. */
export class DatachannelSendTrack extends SinkTrack<DatachannelReceiveTrack> implements FeedbackSink {
  private readonly history: Array<Buffer | undefined> = new Array<Buffer | undefined>(HISTORY);
  /** What the sender reports say: packets and payload octets sent, and the newest timestamp with when it went. */
  private packetsSent = 0;
  private octetsSent = 0;
  private lastTimestamp = 0;
  private lastSentAt = 0;
  private parameters!: SendParameters;
  /** The subscriber's mid extension: its id (0: not negotiated) and value. */
  private midId = 0;
  private mid = Buffer.alloc(0);
  /** The mapping of `mappedFrom` (a publisher's ids) to the subscriber's, rebuilt when either changes; null when nothing passes. */
  private extensionTable: Uint8Array | null = null;
  private mappedFrom: ReadonlyMap<number, string> | undefined;

  constructor(
    kind: MediaKind,
    codec: Codec,
    readonly ssrc: number,
    parameters: SendParameters,
    private readonly handle: Track,
    private readonly counters: MediaCounters,
  ) {
    super(kind, codec);
    this.update(parameters);
  }

  update(parameters: SendParameters): void {
    this.parameters = parameters;
    this.midId = parameters.extensionIds.get(MID_EXTENSION) ?? 0;
    this.mid = Buffer.from(parameters.mid);
    this.mappedFrom = undefined;
  }

  protected forwards(track: ReceiveTrack): track is DatachannelReceiveTrack {
    return track instanceof DatachannelReceiveTrack;
  }

  override stop(): void {
    super.stop();
    this.history.fill(undefined);
  }

  /** RTCP from the subscriber (RTP does not come on a send-only m-line). */
  receive(message: Buffer): void {
    if (isRtcp(message)) readFeedback(message, this);
  }

  override keyframeRequested(): void {
    this.counters.keyframeRequestsReceived++;
    super.keyframeRequested();
  }

  /** Tells the subscriber what was sent (a sender report), once something was. */
  sendReport(): void {
    if (this.packetsSent === 0) return;
    const elapsed = Math.round(((performance.now() - this.lastSentAt) * this.codec.clockRate) / 1_000);
    send(this.handle, senderReport(this.ssrc, this.lastTimestamp + elapsed, this.packetsSent, this.octetsSent));
  }

  nacked(sequenceNumbers: readonly number[]): void {
    this.counters.nacksReceived++;
    for (const sequenceNumber of sequenceNumbers) {
      const packet = this.history[sequenceNumber & (HISTORY - 1)];
      if (packet && packet.readUInt16BE(2) === sequenceNumber) send(this.handle, packet);
    }
  }

  /** Runs for every packet and subscriber: the one allocation is the packet sent (kept for NACKs). */
  write(view: RtpView, from: DatachannelReceiveTrack): void {
    const continuity = this.continuity;
    const buffer = view.buffer;
    continuity.map(view.sequenceNumber, view.timestamp);
    if (this.mappedFrom !== from.extensions) {
      this.mappedFrom = from.extensions;
      this.extensionTable = extensionTable(from.extensions, this.parameters.extensionIds);
    }
    const table = this.extensionTable;
    // The extension elements written: the mid first, then the publisher's that pass.
    let count = this.midId === 0 ? 0 : 1;
    let dataBytes = this.mid.length;
    let twoByte = this.midId > 14 || this.mid.length > 16 || (this.midId !== 0 && this.mid.length === 0);
    if (table !== null) {
      for (let i = 0; i < view.extensionCount; i++) {
        const id = table[view.extensionIds[i]!]!;
        if (id === 0) continue;
        const length = view.extensionLengths[i]!;
        count++;
        dataBytes += length;
        if (id > 14 || length === 0 || length > 16) twoByte = true;
      }
    }
    const extensionBytes = count === 0 ? 0 : 4 + ((dataBytes + count * (twoByte ? 2 : 1) + 3) & ~3);
    const csrcBytes = 4 * view.csrcCount;
    const headerBytes = 12 + csrcBytes + extensionBytes;
    const packet = Buffer.allocUnsafe(headerBytes + view.payloadEnd - view.payloadStart);
    packet[0] = 0x80 | (count === 0 ? 0 : 0x10) | view.csrcCount;
    packet[1] = (view.marker ? 0x80 : 0) | this.parameters.payloadType;
    packet.writeUInt16BE(continuity.sequenceNumber, 2);
    packet.writeUInt32BE(continuity.timestamp, 4);
    packet.writeUInt32BE(this.ssrc, 8);
    buffer.copy(packet, 12, 12, 12 + csrcBytes);
    if (count !== 0) {
      let at = 12 + csrcBytes;
      packet.writeUInt16BE(twoByte ? 0x1000 : 0xbede, at);
      packet.writeUInt16BE((extensionBytes - 4) / 4, at + 2);
      at += 4;
      const end = 12 + csrcBytes + extensionBytes;
      if (this.midId !== 0) at = this.writeExtension(packet, at, twoByte, this.midId, this.mid, 0, this.mid.length);
      if (table !== null) {
        for (let i = 0; i < view.extensionCount; i++) {
          const id = table[view.extensionIds[i]!]!;
          if (id === 0) continue;
          const start = view.extensionStarts[i]!;
          at = this.writeExtension(packet, at, twoByte, id, buffer, start, start + view.extensionLengths[i]!);
        }
      }
      packet.fill(0, at, end);
    }
    buffer.copy(packet, headerBytes, view.payloadStart, view.payloadEnd);
    if (!send(this.handle, packet)) return;
    this.history[continuity.sequenceNumber & (HISTORY - 1)] = packet;
    this.packetsSent++;
    this.octetsSent += view.payloadEnd - view.payloadStart;
    this.lastTimestamp = continuity.timestamp;
    this.lastSentAt = performance.now();
    this.counters.rtpPacketsOut++;
    this.counters.rtpBytesOut += packet.length;
  }

  private writeExtension(packet: Buffer, at: number, twoByte: boolean, id: number, data: Buffer, start: number, end: number): number {
    const length = end - start;
    if (twoByte) {
      packet[at++] = id;
      packet[at++] = length;
    } else packet[at++] = (id << 4) | (length - 1);
    data.copy(packet, at, start, end);
    return at + length;
  }
}

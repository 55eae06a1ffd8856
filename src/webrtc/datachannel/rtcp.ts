/**
 * The RTCP the server reads and writes itself: node-datachannel hands a track's packets over as they
 * are, so reports, keyframe requests, NACKs and REMB are parsed and built here (RFC 3550, RFC 4585,
 * RFC 5104, REMB draft).
 */
import { isNewer } from '../rtp.js';

const SR = 200;
const RR = 201;
const RTPFB = 205;
const PSFB = 206;
const NACK_FORMAT = 1;
const PLI_FORMAT = 1;
const FIR_FORMAT = 4;
const REMB_FORMAT = 15;

/** RTP and RTCP share the port (RFC 5761): RTCP packet types fall in 192–223. */
export function isRtcp(packet: Buffer): boolean {
  return packet.length >= 8 && packet[1]! >= 192 && packet[1]! <= 223;
}

/** Calls `visit` with the start and end of each packet of a compound RTCP packet, as far as they are whole. */
function eachPacket(compound: Buffer, visit: (offset: number, end: number) => void): void {
  let offset = 0;
  while (offset + 4 <= compound.length) {
    const end = offset + 4 * (compound.readUInt16BE(offset + 2) + 1);
    if (end > compound.length) return;
    visit(offset, end);
    offset = end;
  }
}

/** What a sender does with feedback about its SSRC. */
export interface FeedbackSink {
  readonly ssrc: number;
  keyframeRequested(): void;
  nacked(sequenceNumbers: readonly number[]): void;
}

/**
 * Walks a compound RTCP packet and tells `sink` of the feedback meant for its SSRC. libdatachannel
 * hands a compound packet to every track it names, so feedback about another SSRC is left alone.
 */
export function readFeedback(packet: Buffer, sink: FeedbackSink): void {
  eachPacket(packet, (offset, end) => {
    if (end - offset < 12) return;
    const format = packet[offset]! & 0x1f;
    const type = packet[offset + 1]!;
    const mediaSsrc = packet.readUInt32BE(offset + 8);
    if (type === PSFB && format === PLI_FORMAT && mediaSsrc === sink.ssrc) sink.keyframeRequested();
    else if (type === PSFB && format === FIR_FORMAT) {
      for (let entry = offset + 12; entry + 8 <= end; entry += 8) {
        if (packet.readUInt32BE(entry) === sink.ssrc) {
          sink.keyframeRequested();
          break;
        }
      }
    } else if (type === RTPFB && format === NACK_FORMAT && mediaSsrc === sink.ssrc) {
      const lost: number[] = [];
      for (let entry = offset + 12; entry + 4 <= end; entry += 4) {
        const first = packet.readUInt16BE(entry);
        const bitmask = packet.readUInt16BE(entry + 2);
        lost.push(first);
        for (let bit = 0; bit < 16; bit++) if (bitmask & (1 << bit)) lost.push((first + bit + 1) & 0xffff);
      }
      sink.nacked(lost);
    }
  });
}

/** A generic NACK (RFC 4585 §6.2.1): the publisher of `mediaSsrc` sends these packets again. */
export function genericNack(senderSsrc: number, mediaSsrc: number, sequenceNumbers: readonly number[]): Buffer {
  const entries: Array<[number, number]> = [];
  for (const sequenceNumber of sequenceNumbers) {
    const last = entries.at(-1);
    const distance = last ? (sequenceNumber - last[0]) & 0xffff : 0;
    if (last && distance >= 1 && distance <= 16) last[1] |= 1 << (distance - 1);
    else entries.push([sequenceNumber, 0]);
  }
  const packet = Buffer.alloc(12 + 4 * entries.length);
  packet[0] = 0x80 | NACK_FORMAT;
  packet[1] = RTPFB;
  packet.writeUInt16BE(packet.length / 4 - 1, 2);
  packet.writeUInt32BE(senderSsrc, 4);
  packet.writeUInt32BE(mediaSsrc, 8);
  entries.forEach(([first, bitmask], index) => {
    packet.writeUInt16BE(first, 12 + 4 * index);
    packet.writeUInt16BE(bitmask, 14 + 4 * index);
  });
  return packet;
}

/** A picture loss indication: the publisher of `mediaSsrc` sends a keyframe. */
export function pictureLossIndication(senderSsrc: number, mediaSsrc: number): Buffer {
  const packet = Buffer.alloc(12);
  packet[0] = 0x80 | PLI_FORMAT;
  packet[1] = PSFB;
  packet.writeUInt16BE(2, 2);
  packet.writeUInt32BE(senderSsrc, 4);
  packet.writeUInt32BE(mediaSsrc, 8);
  return packet;
}

/** A receiver estimated maximum bitrate naming `ssrcs`: the publisher keeps their sum under `bitrate`. */
export function receiverEstimatedMaxBitrate(senderSsrc: number, bitrate: number, ssrcs: readonly number[]): Buffer {
  const packet = Buffer.alloc(20 + 4 * ssrcs.length);
  packet[0] = 0x80 | REMB_FORMAT;
  packet[1] = PSFB;
  packet.writeUInt16BE(packet.length / 4 - 1, 2);
  packet.writeUInt32BE(senderSsrc, 4);
  packet.writeUInt32BE(0, 8);
  packet.write('REMB', 12, 'ascii');
  const exponent = Math.max(0, Math.ceil(Math.log2(bitrate / 0x3ffff)));
  const mantissa = Math.floor(bitrate / 2 ** exponent);
  packet[16] = ssrcs.length;
  packet[17] = (exponent << 2) | (mantissa >>> 16);
  packet.writeUInt16BE(mantissa & 0xffff, 18);
  ssrcs.forEach((ssrc, index) => packet.writeUInt32BE(ssrc, 20 + 4 * index));
  return packet;
}

/** Seconds from the NTP epoch (1900) to the Unix one (1970). */
const NTP_TO_UNIX_SECONDS = 2_208_988_800;

/**
 * A sender report (RFC 3550 §6.4.1): what a subscriber needs to line its audio and video up in
 * time, and how much was sent.
 */
export function senderReport(ssrc: number, rtpTimestamp: number, packets: number, octets: number): Buffer {
  const now = Date.now();
  const packet = Buffer.alloc(28);
  packet[0] = 0x80;
  packet[1] = SR;
  packet.writeUInt16BE(6, 2);
  packet.writeUInt32BE(ssrc, 4);
  packet.writeUInt32BE((Math.floor(now / 1_000) + NTP_TO_UNIX_SECONDS) >>> 0, 8);
  packet.writeUInt32BE(Math.floor(((now % 1_000) / 1_000) * 0x1_0000_0000) >>> 0, 12);
  packet.writeUInt32BE(rtpTimestamp >>> 0, 16);
  packet.writeUInt32BE(packets >>> 0, 20);
  packet.writeUInt32BE(octets >>> 0, 24);
  return packet;
}

/**
 * What a receiver report (RFC 3550 §6.4.2, appendix A.3) says of one publisher's SSRC: the
 * publisher's congestion control reads loss and round-trip time from it.
 */
export class ReceptionStatistics {
  private ssrc: number | undefined;
  private base = 0;
  private highest = 0;
  private cycles = 0;
  private received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  /** The middle 32 bits of the NTP time of the publisher's last sender report, and when it came. */
  private lastSenderReport = 0;
  private lastSenderReportAt = 0;

  packet(ssrc: number, sequenceNumber: number): void {
    if (ssrc !== this.ssrc) {
      this.ssrc = ssrc;
      this.base = this.highest = sequenceNumber;
      this.cycles = this.received = this.expectedPrior = this.receivedPrior = 0;
      this.lastSenderReport = 0;
    }
    this.received++;
    if (isNewer(sequenceNumber, this.highest)) {
      if (sequenceNumber < this.highest) this.cycles += 0x10000;
      this.highest = sequenceNumber;
    }
  }

  /** Notes the sender reports of a compound RTCP packet from the publisher. */
  readSenderReports(packet: Buffer): void {
    eachPacket(packet, (offset, end) => {
      if (end - offset < 20 || packet[offset + 1] !== SR || packet.readUInt32BE(offset + 4) !== this.ssrc) return;
      this.lastSenderReport = packet.readUInt32BE(offset + 10);
      this.lastSenderReportAt = performance.now();
    });
  }

  /** A receiver report of the SSRC, sent from `senderSsrc`; undefined before any packet. */
  report(senderSsrc: number): Buffer | undefined {
    if (this.ssrc === undefined) return undefined;
    const expected = this.cycles + this.highest - this.base + 1;
    const lost = Math.min(Math.max(expected - this.received, 0), 0x7fffff);
    const expectedInterval = expected - this.expectedPrior;
    const lostInterval = expectedInterval - (this.received - this.receivedPrior);
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    const fraction = expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.min(255, Math.floor((lostInterval * 256) / expectedInterval));
    const packet = Buffer.alloc(32);
    packet[0] = 0x81;
    packet[1] = RR;
    packet.writeUInt16BE(7, 2);
    packet.writeUInt32BE(senderSsrc, 4);
    packet.writeUInt32BE(this.ssrc, 8);
    packet.writeUInt32BE(((fraction << 24) | lost) >>> 0, 12);
    packet.writeUInt32BE((this.cycles + this.highest) >>> 0, 16);
    // Jitter (offset 20) is not measured: left 0.
    if (this.lastSenderReportAt > 0) {
      packet.writeUInt32BE(this.lastSenderReport, 24);
      packet.writeUInt32BE(Math.round(((performance.now() - this.lastSenderReportAt) * 65_536) / 1_000) >>> 0, 28);
    }
    return packet;
  }
}

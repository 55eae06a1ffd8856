/** Publishers' tracks and subscribers' tracks on werift, and the forwarding between them. */
import {
  RtpHeader,
  RtpPacket,
  type Extension,
  type MediaStreamTrack,
  type RTCRtpTransceiver,
  type RtcpPacket,
} from 'werift';
import { SinkTrack, SourceTrack } from '../forwarding.js';
import type { Codec, MediaCounters, MediaKind, ReceiveTrack } from '../media.js';
import { ArrivalCount, extensionTable } from '../rtp.js';
import { ignore } from '../transports.js';


/** The negotiated header extensions of a transceiver, by id. */
export function extensionUris(transceiver: RTCRtpTransceiver): Map<number, string> {
  return new Map(transceiver.headerExtensions.map((extension) => [extension.id, extension.uri]));
}

/** No extension passes: werift's sender copies the array it is given, so one empty array serves every packet. */
const noExtensions: Extension[] = [];

export class WeriftReceiveTrack extends SourceTrack<WeriftSendTrack> {
  private readonly attached = new Map<MediaStreamTrack, () => void>();
  private readonly unsubscribeTracks: () => void;
  private readonly arrivals: ArrivalCount;
  /** The publisher's extension ids, refreshed at each negotiation. */
  extensions: Map<number, string>;

  constructor(
    kind: MediaKind,
    codec: Codec,
    /** The codec's payload type in the publisher's offer, kept across renegotiations. */
    readonly payloadType: number,
    private readonly transceiver: RTCRtpTransceiver,
    counters: MediaCounters,
    /** Whether the transport takes one more packet from the client. */
    private readonly admit: () => boolean,
  ) {
    super(kind, codec);
    this.arrivals = new ArrivalCount(counters);
    this.extensions = extensionUris(transceiver);
    for (const track of transceiver.receiver.tracks) this.attach(track);
    this.unsubscribeTracks = transceiver.onTrack.subscribe((track) => this.attach(track)).unSubscribe;
  }

  get ssrc(): number | undefined {
    return this.arrivals.ssrc;
  }

  get rtcpSsrc(): number {
    return this.transceiver.receiver.rtcpSsrc;
  }

  async sendRtcp(packet: RtcpPacket): Promise<void> {
    await this.transceiver.dtlsTransport.sendRtcp([packet]);
  }

  requestKeyframe(): void {
    const { ssrc } = this.arrivals;
    if (ssrc !== undefined) this.transceiver.receiver.sendRtcpPLI(ssrc).catch(ignore);
  }

  override stop(): void {
    this.unsubscribeTracks();
    for (const unsubscribe of this.attached.values()) unsubscribe();
    this.attached.clear();
    super.stop();
  }


  /** A new SSRC of this m-line (werift makes one track per SSRC). */
  private attach(track: MediaStreamTrack): void {
    if (this.attached.has(track)) return;
    const { unSubscribe } = track.onReceiveRtp.subscribe((packet) => this.deliver(packet));
    this.attached.set(track, unSubscribe);
  }

  private deliver(packet: RtpPacket): void {
    if (!this.admit()) return;
    const { header } = packet;
    this.arrivals.arrived(header.ssrc, header.sequenceNumber, header.serializeSize + packet.payload.length);
    this.arrived();
    const sinks = this.sinks;
    for (let i = 0; i < sinks.length; i++) sinks[i]!.write(packet, this);
  }
}

/**
 * Sends one source's packets to one subscriber. Each packet is copied, because werift's sender
 * rewrites the packet it is given.
 */
export class WeriftSendTrack extends SinkTrack<WeriftReceiveTrack> {
  /** The subscriber's extension ids by URI, refreshed at each negotiation. */
  private extensionIds = new Map<string, number>();
  /** The mapping of `mappedFrom` (a publisher's ids) to `extensionIds`, rebuilt when either changes; null when nothing passes. */
  private extensionTable: Uint8Array | null = null;
  private mappedFrom: ReadonlyMap<number, string> | undefined;

  constructor(
    kind: MediaKind,
    codec: Codec,
    private readonly transceiver: RTCRtpTransceiver,
    private readonly counters: MediaCounters,
  ) {
    super(kind, codec);
    this.refreshExtensions();
  }

  get ssrc(): number {
    return this.transceiver.sender.ssrc;
  }

  refreshExtensions(): void {
    this.extensionIds = new Map(this.transceiver.headerExtensions.map((extension) => [extension.uri, extension.id]));
    this.mappedFrom = undefined;
  }

  protected forwards(track: ReceiveTrack): track is WeriftReceiveTrack {
    return track instanceof WeriftReceiveTrack;
  }

  /** Runs for every packet and subscriber: one header copy, no other allocation of its own. */
  write(packet: RtpPacket, from: WeriftReceiveTrack): void {
    const { header } = packet;
    const { continuity } = this;
    continuity.map(header.sequenceNumber, header.timestamp);
    if (this.mappedFrom !== from.extensions) {
      this.mappedFrom = from.extensions;
      this.extensionTable = extensionTable(from.extensions, this.extensionIds);
    }
    const copy = new RtpPacket(
      new RtpHeader({
        padding: header.padding,
        paddingSize: header.paddingSize,
        marker: header.marker,
        payloadType: header.payloadType,
        sequenceNumber: continuity.sequenceNumber,
        timestamp: continuity.timestamp,
        csrcLength: header.csrcLength,
        csrc: header.csrc,
        extensionProfile: header.extensionProfile,
        extensions: this.extensionTable === null ? noExtensions : this.passExtensions(header.extensions, this.extensionTable),
      }),
      packet.payload,
    );
    this.counters.rtpPacketsOut++;
    this.counters.rtpBytesOut += copy.header.serializeSize + copy.payload.length;
    this.transceiver.sender.sendRtp(copy).catch(ignore);
  }

  private passExtensions(extensions: readonly Extension[], table: Uint8Array): Extension[] {
    const mapped: Extension[] = [];
    for (const extension of extensions) {
      const id = table[extension.id] ?? 0;
      if (id !== 0) mapped.push({ id, payload: extension.payload });
    }
    return mapped;
  }
}

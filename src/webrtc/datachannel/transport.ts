/**
 * One client peer connection on node-datachannel (libdatachannel): negotiation as the OWT SDK needs
 * it (SPEC-MEDIA M3, M8). libdatachannel answers each m-line with the media description of its
 * track, so the server writes each description itself from the offer and the plan.
 */
import nodeDatachannel, { type Audio, type Direction, type PeerConnection, type Track, type Video } from 'node-datachannel';
import { isForwarded, isRtx, rtxOf, sameCodec } from '../codecs.js';
import {
  TransportErrors,
  TransportStates,
  type Codec,
  type IceCandidate,
  type MediaCounters,
  type MediaEngineOptions,
  type MediaKind,
  type MLinePlan,
  type Negotiation,
} from '../media.js';
import { MID_EXTENSION } from '../rtp.js';
import { candidateAttribute, withoutTransportCc, withRefusalsInactive } from '../sdp.js';
import { ignore, TransportBase } from '../transports.js';
import { parseOffer, type OfferedCodec, type OfferedSection } from './offer.js';
import { receiverEstimatedMaxBitrate } from './rtcp.js';
import { DatachannelReceiveTrack, DatachannelSendTrack } from './tracks.js';


/** NACK and PLI for loss and keyframes, REMB for the bitrate cap; never transport-cc (SPEC-MEDIA M8). */
const feedback = ['nack', 'nack pli', 'goog-remb'];

/** The header extensions answered: those a publisher's packets carry that matter, and those passed on or written for a subscriber. */
const receivedExtensions = {
  audio: [MID_EXTENSION, 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', 'urn:ietf:params:rtp-hdrext:ssrc-audio-level'],
  video: [MID_EXTENSION, 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', 'urn:3gpp:video-orientation'],
};
const sentExtensions = {
  audio: [MID_EXTENSION, 'urn:ietf:params:rtp-hdrext:ssrc-audio-level'],
  video: [MID_EXTENSION, 'urn:3gpp:video-orientation'],
};

/** How often publishers get a receiver report (and REMB for the bitrate cap), and subscribers a sender report. */
const REPORT_PERIOD_MS = 1_000;

const CNAME = 'conclave';

function iceServers(options: MediaEngineOptions): string[] {
  // libdatachannel takes TURN credentials inside the URL.
  return options.iceServers.map((url) => {
    if (!url.startsWith('turn')) return url;
    const [scheme = '', rest = ''] = url.split(/:(.*)/s);
    return `${scheme}:${encodeURIComponent(options.iceUsername)}:${encodeURIComponent(options.iceCredential)}@${rest}`;
  });
}

function isMediaKind(kind: string): kind is MediaKind {
  return kind === 'audio' || kind === 'video';
}

/** One m-line of the answer, before libdatachannel writes it. */
interface Described {
  direction: Direction;
  codecs: OfferedCodec[];
  /** Header extension URIs by id. */
  extensions: ReadonlyMap<number, string>;
  ssrc?: { ssrc: number; streamId: string };
}

/**
 * The feedback the answer's codec is given: libdatachannel gives a video codec NACK, PLI and REMB
 * itself (what the server wants); an audio codec gets what the offer had of them.
 */
function feedbackGiven(kind: MediaKind, codec: OfferedCodec): string[] {
  return kind === 'video' ? [] : codec.feedback.filter((entry) => feedback.includes(entry));
}

/** A codec of the answer. */
function addCodec(media: Video | Audio, codec: OfferedCodec): void {
  const encoding = codec.mimeType.slice(codec.mimeType.indexOf('/') + 1);
  // The bindings take no profile argument rather than an undefined one.
  const profile = codec.parameters ? [codec.parameters] : [];
  if (!('addAudioCodec' in media)) {
    media.addVideoCodec(codec.payloadType, `${encoding}/${codec.clockRate}`, ...profile);
    return;
  }
  media.addAudioCodec(codec.payloadType, `${encoding}/${codec.clockRate}/${codec.channels ?? 1}`, ...profile);
  for (const entry of feedbackGiven('audio', codec)) media.parseSdpLine(`a=rtcp-fb:${codec.payloadType} ${entry}`);
}

export class DatachannelTransport extends TransportBase<DatachannelReceiveTrack, DatachannelSendTrack> {
  private readonly pc: PeerConnection;
  /**
   * Each accepted m-line's track, and the description it was last given. A refused m-line keeps
   * the description it had (or libdatachannel's own, never given one): its answer is made inactive
   * in the text.
   */
  private readonly handles = new Map<string, { handle: Track; description: string }>();
  private readonly gatheringWaiters: Array<() => void> = [];
  private reportTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: MediaEngineOptions,
    private readonly counters: MediaCounters,
    onClosed: () => void,
  ) {
    super(onClosed, options.maxPacketRate);
    this.pc = new nodeDatachannel.PeerConnection('conclave', {
      iceServers: iceServers(options),
      bindAddress: options.listenIp,
      ...(options.portRange ? { portRangeBegin: options.portRange[0], portRangeEnd: options.portRange[1] } : {}),
      disableAutoNegotiation: true,
    });
    this.pc.onStateChange((state) => {
      if (state === 'connected') this.setState(TransportStates.connected);
      if (state === 'failed') this.setState(TransportStates.failed);
    });
    this.pc.onGatheringStateChange((state) => {
      if (state === 'complete') for (const resolve of this.gatheringWaiters.splice(0)) resolve();
    });
  }

  async addCandidate({ candidate, sdpMid }: IceCandidate): Promise<void> {
    if (this.closing) throw new Error(TransportErrors.closed);
    this.pc.addRemoteCandidate(candidateAttribute(candidate), sdpMid ?? '0');
  }

  protected async release(): Promise<void> {
    clearInterval(this.reportTimer);
    for (const resolve of this.gatheringWaiters.splice(0)) resolve();
    // Closing a handle also drops its message callback, which would otherwise keep the process alive.
    for (const { handle } of this.handles.values()) handle.close();
    this.pc.close();
  }

  protected async answer(offer: string, plan: ReadonlyMap<string, MLinePlan>): Promise<Negotiation> {
    if (this.closing) throw new Error(TransportErrors.closed);
    const sections = parseOffer(offer);
    this.pc.setRemoteDescription(withoutTransportCc(offer), 'offer');
    const refused = new Map<string, string>();
    const rejected = new Set<string>();
    for (const section of sections) {
      if (!isMediaKind(section.kind)) continue;
      const planned = plan.get(section.mid);
      const outcome = planned ? this.accept(section, planned) : TransportErrors.notOffered;
      if (outcome === undefined) continue;
      this.drop(section.mid);
      rejected.add(section.mid);
      if (planned) refused.set(section.mid, outcome);
    }
    const offered = new Set(sections.map((section) => section.mid));
    for (const mid of plan.keys()) {
      if (!offered.has(mid)) refused.set(mid, TransportErrors.notOffered);
    }
    this.pc.setLocalDescription('answer');
    await this.gathered();
    // A close while the answer was made has already stopped what report would start again.
    if (this.closing) throw new Error(TransportErrors.closed);
    const sdp = this.announced(this.pc.localDescription()?.sdp ?? '');
    if (!/^a=candidate:/m.test(sdp)) throw new Error(TransportErrors.noCandidate);
    this.report();
    return { sdp: withRefusalsInactive(sdp, offer, rejected), refused };
  }

  /** Accepts one planned m-line, describing it for the answer, or says why not. */
  private accept(section: OfferedSection, planned: MLinePlan): string | undefined {
    const { mid } = section;
    if (section.kind !== planned.kind || !isMediaKind(section.kind)) return TransportErrors.kindMismatch;
    const kind = section.kind;
    const clientSends = section.port !== 0 && (section.direction === 'sendonly' || section.direction === 'sendrecv');
    const clientReceives = section.port !== 0 && (section.direction === 'recvonly' || section.direction === 'sendrecv');
    if (planned.direction === 'receive') {
      if (!clientSends) return TransportErrors.notSending;
      const existing = this.receiveTracks.get(mid);
      const chosen = this.choose(section, (codec) =>
        existing ? codec.payloadType === existing.payloadType && sameCodec(existing.codec, codec) : planned.accepts(codec),
      );
      if (!chosen) return existing ? TransportErrors.codecChanged : TransportErrors.noCodec;
      const rtx = rtxOf(section.codecs, chosen);
      const extensions = this.extensions(section, receivedExtensions[kind]);
      const handle = this.describe(section, { direction: 'RecvOnly', codecs: rtx ? [chosen, rtx] : [chosen], extensions });
      if (!handle) return TransportErrors.descriptionChanged;
      if (existing) {
        existing.extensions = extensions;
        existing.rtxPayloadType = rtx?.payloadType;
      } else {
        this.receiveTracks.set(
          mid,
          new DatachannelReceiveTrack(kind, codecOf(chosen), chosen.payloadType, rtx?.payloadType, extensions, handle, this.counters),
        );
      }
      return undefined;
    }
    if (!clientReceives) return TransportErrors.notReceiving;
    const existing = this.sendTracks.get(mid);
    const wanted = existing?.codec ?? planned.codec;
    const chosen = this.choose(section, (codec) => sameCodec(wanted, codec));
    if (!chosen) return existing ? TransportErrors.codecChanged : TransportErrors.noCodec;
    const extensions = this.extensions(section, sentExtensions[kind]);
    const ssrc = existing?.ssrc ?? (Math.random() * 0xffffffff) >>> 0;
    const handle = this.describe(section, { direction: 'SendOnly', codecs: [chosen], extensions, ssrc: { ssrc, streamId: planned.streamId } });
    if (!handle) return TransportErrors.descriptionChanged;
    const parameters = { payloadType: chosen.payloadType, mid, extensionIds: new Map([...extensions].map(([id, uri]) => [uri, id])) };
    if (existing) existing.update(parameters);
    else this.sendTracks.set(mid, new DatachannelSendTrack(kind, codecOf(chosen), ssrc, parameters, handle, this.counters));
    return undefined;
  }

  /** The first offered codec that `fits` and the server forwards. */
  private choose(section: OfferedSection, fits: (codec: OfferedCodec) => boolean): OfferedCodec | undefined {
    return section.codecs.find((codec) => !isRtx(codec) && isMediaKind(section.kind) && isForwarded(section.kind, codec) && fits(codec));
  }

  /** The offered header extensions among `wanted`, by id. */
  private extensions(section: OfferedSection, wanted: readonly string[]): Map<number, string> {
    return new Map([...section.extensions].filter(([, uri]) => wanted.includes(uri)));
  }

  /** Gives the m-line's track its description (libdatachannel answers with it), once: undefined if it had another. */
  private describe(section: OfferedSection, described: Described): Track | undefined {
    // As the description reads to libdatachannel: encoding names in any case, and only the feedback
    // addCodec writes, so that later offers saying the same in other words are no change.
    const codecs = described.codecs.map((codec) => ({
      ...codec,
      mimeType: codec.mimeType.toLowerCase(),
      feedback: feedbackGiven(section.kind as MediaKind, codec),
    }));
    const key = JSON.stringify({ ...described, codecs, extensions: [...described.extensions] });
    const known = this.handles.get(section.mid);
    // addTrack for a known m-line would return a second handle on the same track that only
    // node-datachannel's process-wide cleanup may let go (collecting it before crashes): a change
    // of what was negotiated for an m-line is refused rather than kept for the process's life.
    if (known) return known.description === key ? known.handle : undefined;
    const media: Video | Audio =
      section.kind === 'video' ? new nodeDatachannel.Video(section.mid, described.direction) : new nodeDatachannel.Audio(section.mid, described.direction);
    for (const codec of described.codecs) {
      if (isRtx(codec)) media.addRTXCodec(codec.payloadType, Number(/apt=(\d+)/.exec(codec.parameters ?? '')?.[1]), codec.clockRate);
      else addCodec(media, codec);
    }
    for (const [id, uri] of described.extensions) media.parseSdpLine(`a=extmap:${id} ${uri}`);
    if (described.ssrc) media.addSSRC(described.ssrc.ssrc, CNAME, described.ssrc.streamId, `${described.ssrc.streamId}-${section.mid}`);
    const handle = this.pc.addTrack(media);
    const { mid } = section;
    handle.onMessage((message) => {
      if (this.admit()) (this.receiveTracks.get(mid) ?? this.sendTracks.get(mid))?.receive(message);
    });
    // Lets node-datachannel forget the handle once the track is closed (before that, collecting it would crash).
    handle.onClosed(ignore);
    this.handles.set(mid, { handle, description: key });
    return handle;
  }

  private gathered(): Promise<void> {
    if (this.pc.gatheringState() === 'complete') return Promise.resolve();
    return new Promise((resolve) => this.gatheringWaiters.push(resolve));
  }

  /** Candidates (and connection lines) announce `announcedIp`, a public address behind NAT, rather than the bound one. */
  private announced(sdp: string): string {
    const { listenIp, announcedIp } = this.options;
    if (announcedIp === listenIp) return sdp;
    return sdp
      .replace(/^(a=candidate:\S+ \d+ \S+ \d+ )\S+( \d+ typ host)/gm, `$1${announcedIp}$2`)
      .replace(/^c=IN IP4 (?!0\.0\.0\.0\s)\S+/gm, `c=IN IP4 ${announcedIp}`);
  }

  /**
   * Sends the publisher a receiver report of each track, and caps its video with a REMB naming every
   * video SSRC received (SPEC-MEDIA M6); sends the subscriber a sender report of each track.
   */
  private report(): void {
    if (this.reportTimer) return;
    this.reportTimer = setInterval(() => {
      if (this.current !== TransportStates.connected) return;
      for (const track of this.sendTracks.values()) track.sendReport();
      for (const track of this.receiveTracks.values()) track.sendReport();
      const videos = [...this.receiveTracks.values()].filter((track) => track.kind === 'video' && track.ssrc !== undefined);
      const first = videos[0];
      if (!first || this.options.maxBitrate <= 0) return;
      first.sendRtcp(receiverEstimatedMaxBitrate(first.rtcpSsrc, this.options.maxBitrate * videos.length, videos.map((track) => track.ssrc!)));
    }, REPORT_PERIOD_MS);
  }

}

function codecOf(codec: OfferedCodec): Codec {
  return { mimeType: codec.mimeType, clockRate: codec.clockRate, channels: codec.channels, parameters: codec.parameters };
}

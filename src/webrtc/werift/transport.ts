/** One client peer connection on werift: negotiation as the OWT SDK needs it (SPEC-MEDIA M3, M8). */
import {
  ReceiverEstimatedMaxBitrate,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtcpPayloadSpecificFeedback,
  RtcpTransportLayerFeedback,
  useAbsSendTime,
  useAudioLevelIndication,
  useAV1X,
  useH264,
  useNACK,
  useOPUS,
  usePLI,
  useREMB,
  useSdesMid,
  useVideoOrientation,
  useVP8,
  useVP9,
  type RTCDtlsTransport,
  type RTCPFB,
  type RTCRtpTransceiver,
} from 'werift';
import { isForwarded, isRtx, rtxOf, sameCodec } from '../codecs.js';
import {
  TransportErrors,
  TransportStates,
  type Codec,
  type IceCandidate,
  type MediaCounters,
  type MediaKind,
  type MediaEngineOptions,
  type MLinePlan,
  type Negotiation,
} from '../media.js';
import { candidateAttribute, withoutTransportCc, withRefusalsInactive } from '../sdp.js';
import { ignore, TransportBase } from '../transports.js';
import type { PortPool } from './ports.js';
import { extensionUris, WeriftReceiveTrack, WeriftSendTrack } from './tracks.js';


/** NACK and PLI for loss and keyframes, REMB for the bitrate cap; never transport-cc (SPEC-MEDIA M8). */
const feedback: readonly RTCPFB[] = [useNACK(), usePLI(), useREMB()];
const feedbackKeys = new Set(feedback.map((entry) => `${entry.type} ${entry.parameter ?? ''}`));

/** Every codec the server forwards, plus RTX for retransmissions; the offer's payload types are kept. */
const codecs = {
  audio: [useOPUS()],
  video: [useVP8(), useVP9(), useH264(), useAV1X(), new RTCRtpCodecParameters({ mimeType: 'video/rtx', clockRate: 90_000 })],
};
const headerExtensions = {
  audio: [useSdesMid(), useAbsSendTime(), useAudioLevelIndication()],
  video: [useSdesMid(), useAbsSendTime(), useVideoOrientation()],
};

const REMB_PERIOD_MS = 1_000;

/** Payload-specific feedback formats (RFC 4585 §6.3, RFC 5104 §4.3.1). */
const PLI_FORMAT = 1;
const FIR_FORMAT = 4;

function directionOf(planned: MLinePlan | undefined): 'recvonly' | 'sendonly' | 'inactive' {
  if (!planned) return 'inactive';
  return planned.direction === 'receive' ? 'recvonly' : 'sendonly';
}

function iceServers(options: MediaEngineOptions) {
  return options.iceServers.map((url) =>
    url.startsWith('turn') ? { urls: url, username: options.iceUsername, credential: options.iceCredential } : { urls: url },
  );
}

function codecOf(parameters: RTCRtpCodecParameters): Codec {
  return {
    mimeType: parameters.mimeType,
    clockRate: parameters.clockRate,
    channels: parameters.channels,
    parameters: parameters.parameters,
  };
}

export class WeriftTransport extends TransportBase<WeriftReceiveTrack, WeriftSendTrack> {
  private readonly pc: RTCPeerConnection;
  private readonly window: [number, number] | undefined;
  /** The plan of the negotiation under way, for the transceivers the offer creates. */
  private plan: ReadonlyMap<string, MLinePlan> = new Map();
  /**
   * Every DTLS transport the peer connection has had. An offer that does not bundle gives each
   * m-line its own, which gathers a socket; a later bundled offer replaces them, and werift's close
   * no longer sees them.
   */
  private readonly dtlsTransports = new Set<RTCDtlsTransport>();
  private rembTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: MediaEngineOptions,
    private readonly ports: PortPool | undefined,
    private readonly counters: MediaCounters,
    onClosed: () => void,
  ) {
    super(onClosed, options.maxPacketRate);
    this.window = ports?.take();
    if (ports && !this.window) throw new Error(TransportErrors.noPort);
    this.pc = new RTCPeerConnection({
      codecs,
      headerExtensions,
      bundlePolicy: 'max-bundle',
      iceServers: iceServers(options),
      // Exactly one host candidate: the announced address, on a socket bound to the listen address.
      iceUseIpv4: false,
      iceUseIpv6: false,
      iceAdditionalHostAddresses: [options.announcedIp],
      iceInterfaceAddresses: { udp4: options.listenIp },
      icePortRange: this.window,
    });
    // Set before the offer is applied: werift would otherwise also receive on a subscriber's m-line
    // and route that subscriber's feedback to the receiver.
    this.pc.onRemoteTransceiverAdded.subscribe((transceiver) => {
      transceiver.setDirection(directionOf(transceiver.mid === null ? undefined : this.plan.get(transceiver.mid)));
    });
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') this.setState(TransportStates.connected);
      if (state === 'failed') this.setState(TransportStates.failed);
    });
  }

  async addCandidate({ candidate, sdpMid, sdpMLineIndex }: IceCandidate): Promise<void> {
    if (this.closing) throw new Error(TransportErrors.closed);
    await this.pc.addIceCandidate({
      candidate: candidateAttribute(candidate),
      sdpMid: sdpMid ?? undefined,
      sdpMLineIndex: sdpMLineIndex ?? undefined,
    });
  }

  protected async release(): Promise<void> {
    clearInterval(this.rembTimer);
    await this.pc.close().catch(ignore);
    await this.releaseSockets();
    // A negotiation under way may still gather a socket (in this transport's ports): it is closed,
    // and the ports go back, once that negotiation is over.
    void this.negotiations.then(() => this.releaseSockets()).finally(() => {
      if (this.window) this.ports?.release(this.window[0]);
    });
  }

  /** Closes the sockets of every DTLS transport the connection has had, whatever werift's close saw. */
  private async releaseSockets(): Promise<void> {
    await Promise.allSettled(
      [...this.dtlsTransports].map(async (dtls) => {
        await dtls.stop();
        await dtls.iceTransport.connection.close();
      }),
    );
  }

  protected async answer(offer: string, plan: ReadonlyMap<string, MLinePlan>): Promise<Negotiation> {
    if (this.closing) throw new Error(TransportErrors.closed);
    this.plan = plan;
    try {
      await this.pc.setRemoteDescription({ type: 'offer', sdp: withoutTransportCc(offer) });
    } finally {
      this.keepDtlsTransports();
    }
    const refused = new Map<string, string>();
    const rejected = new Set<string>();
    const offered = new Set<string>();
    for (const transceiver of this.pc.getTransceivers()) {
      const mid = transceiver.mid;
      if (mid === null) continue;
      offered.add(mid);
      const planned = plan.get(mid);
      const refusal = planned ? this.accept(mid, transceiver, planned) : TransportErrors.notOffered;
      if (refusal === undefined) continue;
      this.drop(mid);
      transceiver.setDirection('inactive');
      rejected.add(mid);
      if (planned) refused.set(mid, refusal);
    }
    for (const mid of plan.keys()) {
      if (!offered.has(mid)) refused.set(mid, TransportErrors.notOffered);
    }
    try {
      await this.pc.setLocalDescription(await this.pc.createAnswer());
    } finally {
      this.keepDtlsTransports();
    }
    // A close while the answer was made has already stopped what watchBitrate would start again.
    if (this.closing) throw new Error(TransportErrors.closed);
    const sdp = this.pc.localDescription?.sdp ?? '';
    if (!/^a=candidate:/m.test(sdp)) throw new Error(TransportErrors.noCandidate);
    this.watchBitrate();
    return { sdp: withRefusalsInactive(sdp, offer, rejected), refused };
  }

  /** Accepts one planned m-line, or says why not. */
  private accept(mid: string, transceiver: RTCRtpTransceiver, planned: MLinePlan): string | undefined {
    if (transceiver.kind !== planned.kind) return TransportErrors.kindMismatch;
    // What the client does, seen from here: it sends when we may receive.
    const clientSends = transceiver.offerDirection === 'recvonly' || transceiver.offerDirection === 'sendrecv';
    const clientReceives = transceiver.offerDirection === 'sendonly' || transceiver.offerDirection === 'sendrecv';
    if (planned.direction === 'receive') {
      if (!clientSends) return TransportErrors.notSending;
      const existing = this.receiveTracks.get(mid);
      const chosen = this.choose(transceiver, planned.kind, (codec) =>
        existing ? codec.payloadType === existing.payloadType && sameCodec(existing.codec, codecOf(codec)) : planned.accepts(codecOf(codec)),
      );
      if (!chosen) return existing ? TransportErrors.codecChanged : TransportErrors.noCodec;
      transceiver.setDirection('recvonly');
      if (existing) existing.extensions = extensionUris(transceiver);
      else this.receiveTracks.set(mid, new WeriftReceiveTrack(planned.kind, codecOf(chosen), chosen.payloadType, transceiver, this.counters, () => this.admit()));
      return undefined;
    }
    if (!clientReceives) return TransportErrors.notReceiving;
    const existing = this.sendTracks.get(mid);
    const wanted = existing?.codec ?? planned.codec;
    const chosen = this.choose(transceiver, planned.kind, (codec) => sameCodec(wanted, codecOf(codec)));
    if (!chosen) return existing ? TransportErrors.codecChanged : TransportErrors.noCodec;
    transceiver.setDirection('sendonly');
    transceiver.sender.streamId = planned.streamId;
    transceiver.sender.prepareSend({
      codecs: transceiver.codecs,
      muxId: mid,
      headerExtensions: transceiver.headerExtensions,
      rtcp: { cname: this.pc.cname, ssrc: transceiver.sender.ssrc, mux: true },
    });
    if (existing) existing.refreshExtensions();
    else this.sendTracks.set(mid, new WeriftSendTrack(planned.kind, codecOf(chosen), transceiver, this.counters));
    return undefined;
  }

  /**
   * Narrows the transceiver to the first offered codec that `fits` (and its RTX), with only the
   * feedback the server gives; the answer then names that codec alone.
   */
  private choose(
    transceiver: RTCRtpTransceiver,
    kind: MediaKind,
    fits: (codec: RTCRtpCodecParameters) => boolean,
  ): RTCRtpCodecParameters | undefined {
    const chosen = transceiver.codecs.find((codec) => !isRtx(codec) && isForwarded(kind, codecOf(codec)) && fits(codec));
    if (!chosen) return undefined;
    const rtx = rtxOf(transceiver.codecs, chosen);
    for (const codec of rtx ? [chosen, rtx] : [chosen]) {
      codec.rtcpFeedback = codec.rtcpFeedback.filter((entry) => feedbackKeys.has(`${entry.type} ${entry.parameter ?? ''}`));
    }
    transceiver.codecs = rtx ? [chosen, rtx] : [chosen];
    return chosen;
  }

  private keepDtlsTransports(): void {
    for (const dtls of this.pc.dtlsTransports) {
      if (this.dtlsTransports.has(dtls)) continue;
      this.dtlsTransports.add(dtls);
      this.watchFeedback(dtls);
    }
  }

  /**
   * Keyframe requests are taken from the transport rather than from werift's senders: werift routes
   * feedback by its sender SSRC first, and a browser that also publishes sends its subscriber
   * feedback from its publishing SSRC, which werift then hands to that publication's receiver.
   */
  private watchFeedback(dtls: RTCDtlsTransport): void {
    dtls.onRtcp.subscribe((packet) => {
      if (packet instanceof RtcpTransportLayerFeedback) this.counters.nacksReceived++;
      if (!(packet instanceof RtcpPayloadSpecificFeedback)) return;
      const { feedback } = packet;
      if (feedback.count === PLI_FORMAT || feedback.count === FIR_FORMAT) this.counters.keyframeRequestsReceived++;
      const ssrcs = feedback.count === PLI_FORMAT ? [feedback.mediaSsrc] : feedback.count === FIR_FORMAT && 'fir' in feedback ? feedback.fir.map((entry) => entry.ssrc) : [];
      for (const track of this.sendTracks.values()) {
        if (ssrcs.includes(track.ssrc)) track.keyframeRequested();
      }
    });
  }

  /** Caps the publisher's video with a REMB naming every video SSRC received (SPEC-MEDIA M6). */
  private watchBitrate(): void {
    if (this.options.maxBitrate <= 0 || this.rembTimer) return;
    this.rembTimer = setInterval(() => {
      const videos = [...this.receiveTracks.values()].filter((track) => track.kind === 'video' && track.ssrc !== undefined);
      const first = videos[0];
      if (!first || this.current !== TransportStates.connected) return;
      const bitrate = this.options.maxBitrate * videos.length;
      const exponent = Math.max(0, Math.ceil(Math.log2(bitrate / 0x3ffff)));
      const remb = new ReceiverEstimatedMaxBitrate({
        senderSsrc: first.rtcpSsrc,
        mediaSsrc: 0,
        ssrcNum: videos.length,
        brExp: exponent,
        brMantissa: Math.floor(bitrate / 2 ** exponent),
        ssrcFeedbacks: videos.map((track) => track.ssrc!),
      });
      first.sendRtcp(new RtcpPayloadSpecificFeedback({ feedback: remb })).catch(ignore);
    }, REMB_PERIOD_MS);
  }

}

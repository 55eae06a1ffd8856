/**
 * A client peer connection in tests: werift on 127.0.0.1, used the way the OWT JavaScript SDK uses
 * its RTCPeerConnection (one per client, sendonly transceivers to publish, recvonly to subscribe,
 * offers without candidates, candidates sent afterwards as `a=candidate:…`), with synthetic RTP.
 */
import {
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtpHeader,
  RtpPacket,
  useAbsSendTime,
  useH264,
  useNACK,
  useOPUS,
  usePLI,
  useREMB,
  useSdesMid,
  useTransportWideCC,
  useTWCC,
  useVP8,
  type Extension,
  type RTCRtpHeaderExtensionParameters,
  type RTCRtpTransceiver,
} from 'werift';
import type { IceCandidate, MediaKind } from '../../src/webrtc/media.js';

const feedback = () => [useNACK(), usePLI(), useREMB(), useTWCC()];

/** Like a browser: several video codecs with RTX, and transport-cc offered (the server must decline it). */
const clientCodecs = () => ({
  audio: [useOPUS({ rtcpFeedback: [useTWCC()] })],
  video: [
    useVP8({ payloadType: 96, rtcpFeedback: feedback() }),
    new RTCRtpCodecParameters({ mimeType: 'video/rtx', clockRate: 90_000, payloadType: 97, parameters: 'apt=96' }),
    useH264({ payloadType: 102, rtcpFeedback: feedback() }),
  ],
});

export interface Offer {
  sdp: string;
  candidates: IceCandidate[];
}

export interface PumpOptions {
  label?: string;
  periodMs?: number;
  /** Packets a second; one a tick when absent. */
  rate?: number;
  /** The payload of the packet of index `index`, instead of a synthetic frame. */
  payload?: (index: number) => Buffer;
  /** Header extensions of the packet of index `index`, besides those werift's sender writes. */
  extensions?: (index: number) => Extension[];
}

export interface SyntheticSource {
  /** Packets written so far. */
  readonly sent: number;
  stop(): void;
}

export class MediaPeer {
  /** Every peer not closed yet, so that a test that fails halfway leaves no socket to keep the process alive. */
  private static readonly open = new Set<MediaPeer>();
  readonly pc: RTCPeerConnection;
  private readonly pumps = new Set<NodeJS.Timeout>();

  static async closeAll(): Promise<void> {
    await Promise.all([...MediaPeer.open].map((peer) => peer.close()));
  }

  constructor(
    options: {
      codecs?: ReturnType<typeof clientCodecs>;
      headerExtensions?: { audio: RTCRtpHeaderExtensionParameters[]; video: RTCRtpHeaderExtensionParameters[] };
    } = {},
  ) {
    MediaPeer.open.add(this);
    this.pc = new RTCPeerConnection({
      codecs: options.codecs ?? clientCodecs(),
      headerExtensions: options.headerExtensions ?? {
        audio: [useSdesMid(), useAbsSendTime(), useTransportWideCC()],
        video: [useSdesMid(), useAbsSendTime(), useTransportWideCC()],
      },
      bundlePolicy: 'max-bundle',
      iceServers: [],
      iceUseIpv4: false,
      iceUseIpv6: false,
      iceAdditionalHostAddresses: ['127.0.0.1'],
    });
  }

  static codecs = clientCodecs;

  addSender(kind: MediaKind): { transceiver: RTCRtpTransceiver; track: MediaStreamTrack } {
    const track = new MediaStreamTrack({ kind });
    const transceiver = this.pc.addTransceiver(track, { direction: 'sendonly' });
    return { transceiver, track };
  }

  addReceiver(kind: MediaKind): RTCRtpTransceiver {
    return this.pc.addTransceiver(kind, { direction: 'recvonly' });
  }

  /** The offer as the SDK sends it (no candidates), and its candidates as the SDK trickles them. */
  async offer(): Promise<Offer> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const full = this.pc.localDescription!.sdp;
    const lines = full.split('\r\n');
    const firstMid = lines.find((line) => line.startsWith('a=mid:'))?.slice('a=mid:'.length);
    const candidates = lines
      .filter((line) => line.startsWith('a=candidate:'))
      .map((line) => ({ candidate: line, sdpMid: firstMid, sdpMLineIndex: 0 }));
    const sdp = lines.filter((line) => !line.startsWith('a=candidate:') && line !== 'a=end-of-candidates').join('\r\n');
    return { sdp, candidates: [...new Map(candidates.map((candidate) => [candidate.candidate, candidate])).values()] };
  }

  async accept(answer: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
  }

  get connected(): boolean {
    return this.pc.connectionState === 'connected';
  }

  /**
   * Writes packets to `track` every `periodMs` (until stopped or the peer closes): VP8-like frames
   * (a keyframe every 30) or Opus-like frames, their payload text starting with `label`; or the
   * payloads `payload` makes. With `rate`, as many packets a tick as keep that many a second.
   */
  pump(track: MediaStreamTrack, options: PumpOptions = {}): SyntheticSource {
    const { label = '', periodMs = 40, rate, payload, extensions } = options;
    let sequenceNumber = 1_000;
    let timestamp = 90_000;
    let sent = 0;
    const video = track.kind === 'video';
    const startedAt = performance.now();
    const write = () => {
      const keyframe = sent % 30 === 0;
      // VP8 payload descriptor (start of partition) then a frame tag whose low bit is 0 on keyframes.
      const body = payload
        ? payload(sent)
        : video
          ? Buffer.from([0x10, keyframe ? 0x00 : 0x01, ...Buffer.from(`${label}frame ${sent}`)])
          : Buffer.from(`${label}opus ${sent}`);
      const header = new RtpHeader({ payloadType: video ? 96 : 111, sequenceNumber, timestamp, marker: true, extensions: extensions?.(sent) ?? [] });
      track.writeRtp(new RtpPacket(header, body));
      sequenceNumber = (sequenceNumber + 1) & 0xffff;
      timestamp = (timestamp + (video ? 3_000 : 960)) >>> 0;
      sent++;
    };
    const timer = setInterval(() => {
      const due = rate === undefined ? sent + 1 : Math.floor(((performance.now() - startedAt) * rate) / 1_000);
      while (sent < due) write();
    }, periodMs);
    this.pumps.add(timer);
    return {
      get sent() {
        return sent;
      },
      stop: () => {
        clearInterval(timer);
        this.pumps.delete(timer);
      },
    };
  }

  async close(): Promise<void> {
    MediaPeer.open.delete(this);
    for (const timer of this.pumps) clearInterval(timer);
    this.pumps.clear();
    await this.pc.close();
  }
}

/** How many UDP sockets this process holds open. */
export function openUdpSockets(): number {
  return process.getActiveResourcesInfo().filter((resource) => resource === 'UDPWrap').length;
}

/**
 * The webrtc node's media library, behind the few calls the node makes (SPEC-MEDIA M2, M8): one
 * transport per client peer connection, tracks received from publishers, tracks sent to
 * subscribers, and forwarding from the former to the latter. Only `createMediaEngine` knows which
 * library runs.
 */

import type { IceCandidateInit, MediaKind } from '../protocol/socket.js';

export type { MediaKind } from '../protocol/socket.js';

/** A negotiated RTP codec, as the SDP names it. */
export interface Codec {
  /** `audio/opus`, `video/VP8`, `video/H264`, … */
  mimeType: string;
  clockRate: number;
  channels?: number | undefined;
  /** The `a=fmtp` parameters, e.g. `profile-level-id=42e01f;packetization-mode=1`. */
  parameters?: string | undefined;
}

/** What the server does with one m-line of an offer; an m-line absent from the plan is rejected. */
export type MLinePlan =
  /** A publication's track: the first offered codec that `accepts` takes is used. */
  | { direction: 'receive'; kind: MediaKind; accepts: (codec: Codec) => boolean }
  /** A subscription's track: sent in `codec` (the source's), in the client's media stream `streamId`. */
  | { direction: 'send'; kind: MediaKind; codec: Codec; streamId: string };

export interface Negotiation {
  /** The answer, with the server's candidates inside (the server does not trickle). */
  sdp: string;
  /** Planned m-lines that could not be accepted, with the reason; they are rejected in the answer. */
  refused: Map<string, string>;
}

/** `candidate:…`, or `a=candidate:…` as the OWT SDK sends it. */
export type IceCandidate = IceCandidateInit;

export const TransportStates = {
  new: 'new',
  connected: 'connected',
  failed: 'failed',
  closed: 'closed',
} as const;
export type TransportState = (typeof TransportStates)[keyof typeof TransportStates];

/** Why a negotiation, or an m-line of it, failed; the same words whatever library runs. */
export const TransportErrors = {
  closed: 'Transport closed',
  noPort: 'No UDP port available',
  noCandidate: 'No local ICE candidate could be gathered',
  notOffered: 'The offer has no such m-line',
  kindMismatch: 'The m-line is of another kind',
  notSending: 'The m-line does not send media',
  notReceiving: 'The m-line does not receive media',
  noCodec: 'No codec of the offer can be forwarded',
  codecChanged: 'The m-line no longer offers its negotiated codec',
  descriptionChanged: 'The m-line no longer offers what was negotiated for it',
} as const;

/** A track a publisher sends to the server. */
export interface ReceiveTrack {
  readonly kind: MediaKind;
  readonly codec: Codec;
  /** Whether a packet has arrived yet. */
  readonly receiving: boolean;
  /** Runs once, at the first packet (at once if it already came). */
  onFirstPacket(listener: () => void): void;
  /** Asks the publisher for a keyframe (PLI). */
  requestKeyframe(): void;
}

/** A track the server sends to a subscriber. */
export interface SendTrack {
  readonly kind: MediaKind;
  readonly codec: Codec;
  /** Forwards the packets of `source` from now on (keeping sequence numbers continuous); null stops. */
  forward(source: ReceiveTrack | null): void;
  /** Runs on every keyframe request (PLI, FIR) of the subscriber. */
  onKeyframeRequest(listener: () => void): void;
}

/** One client peer connection. */
export interface MediaTransport {
  readonly state: TransportState;
  /** Why the transport failed, when it decided so itself (set before its state turns `failed`). */
  readonly failure: string | undefined;
  onStateChange(listener: (state: TransportState) => void): void;
  /** Answers an offer; one negotiation runs at a time, later ones wait. */
  negotiate(offer: string, plan: ReadonlyMap<string, MLinePlan>): Promise<Negotiation>;
  addCandidate(candidate: IceCandidate): Promise<void>;
  /** The track of an accepted receive m-line, once negotiated. */
  receiveTrack(mid: string): ReceiveTrack | undefined;
  /** The track of an accepted send m-line, once negotiated. */
  sendTrack(mid: string): SendTrack | undefined;
  /** Stops forwarding, frees every socket; safe to call more than once. */
  close(): Promise<void>;
}

export interface MediaEngineOptions {
  /** The address sockets bind. */
  listenIp: string;
  /** The address candidates announce (a public address behind NAT). */
  announcedIp: string;
  /** UDP ports to use, or undefined for any the system gives. */
  portRange: readonly [number, number] | undefined;
  /** `stun:`/`turn:` URLs; none by default, so nothing outside is contacted. */
  iceServers: readonly string[];
  iceUsername: string;
  iceCredential: string;
  /** Bits per second a publisher's video is capped at (REMB), 0 for no cap. */
  maxBitrate: number;
  /** Packets a second a transport may receive before it fails, 0 for no limit. */
  maxPacketRate: number;
}

/** What a media operator watches, counted since the engine started. */
export interface MediaCounters {
  rtpPacketsIn: number;
  rtpBytesIn: number;
  rtpPacketsOut: number;
  rtpBytesOut: number;
  /** Retransmission requests (generic NACK) from subscribers. */
  nacksReceived: number;
  /** Keyframe requests (PLI, FIR) from subscribers. */
  keyframeRequestsReceived: number;
  /** Packets missing from publishers' sequence numbers as they arrived. */
  packetsLost: number;
}

export function emptyMediaCounters(): MediaCounters {
  return { rtpPacketsIn: 0, rtpBytesIn: 0, rtpPacketsOut: 0, rtpBytesOut: 0, nacksReceived: 0, keyframeRequestsReceived: 0, packetsLost: 0 };
}

export interface MediaEngine {
  createTransport(): MediaTransport;
  /** Open transports, for the node's limits and for leak checks. */
  readonly transports: number;
  readonly counters: Readonly<MediaCounters>;
  close(): Promise<void>;
}

/** The webrtc node's bus surface (SPEC-MEDIA M2): what a room's media controller asks of it, and what it reports. */
import type { MediaFormat } from './codecs.js';
import type { IceCandidate, MediaCounters, MediaKind } from './media.js';

export { WebrtcErrors } from '../protocol/errors.js';
export type { MediaFormat } from './codecs.js';
export type { IceCandidate, MediaKind } from './media.js';

/** Who a transport belongs to, and where to report about it. */
export interface TransportOwner {
  room: string;
  participant: string;
  /** The conference node controlling the room: its bus address, and its agent's. */
  controller: string;
  controllerAgent: string;
}

/** A publication's track: received in the first offered codec the room's `mediaIn` admits. */
export interface PublishedTrack {
  mid: string;
  kind: MediaKind;
  formats: MediaFormat[];
}

/** A publication's track on another transport of the same node. */
export interface TrackSource {
  transport: string;
  mid: string;
}

export interface SubscribedTrack {
  mid: string;
  kind: MediaKind;
  source: TrackSource;
}

/** What a negotiation must accept: every session of the transport, new or not. */
export type SessionPlan =
  | { type: 'publication'; id: string; tracks: PublishedTrack[] }
  | { type: 'subscription'; id: string; tracks: SubscribedTrack[] };

export interface SessionFailure {
  sessionId: string;
  reason: string;
}

export interface NegotiationResult {
  /** The answer, with the server's candidates in it. */
  sdp: string;
  /** Sessions of the plan the offer could not carry; they are gone from the node. */
  failed: SessionFailure[];
}

export interface ReadyTrack {
  mid: string;
  format: MediaFormat;
}

/** Reported to the controller of the transport's room. */
export type MediaEvent =
  /** A publication receives every track (with the formats it came in), or a subscription is connected. */
  | { type: 'ready'; transportId: string; sessionId: string; tracks: ReadyTrack[] }
  /** The transport failed (ICE/DTLS) or timed out: it is closed, with every session on it. */
  | { type: 'transport-failed'; transportId: string; reason: string };

/** What a webrtc node calls on the conference node that owns a transport. */
export type MediaControllerRpc = {
  mediaEvent(event: MediaEvent): void;
};

/** What a webrtc node holds now, and what its media engine counted since it started. */
export interface WebrtcNodeStats extends MediaCounters {
  transports: number;
  publications: number;
  subscriptions: number;
}

export type WebrtcNodeRpc = {
  /** Answers an offer on the transport (created at its first offer), accepting the m-lines of `sessions`. */
  negotiate(owner: TransportOwner, transportId: string, sdp: string, sessions: SessionPlan[]): NegotiationResult;
  addCandidate(transportId: string, candidate: IceCandidate): void;
  /** Unpublish or unsubscribe: forwarding stops now; the next offer rejects the session's m-lines. */
  endSession(transportId: string, sessionId: string): void;
  /**
   * Pauses or plays tracks of a publication (for every subscriber) or of one subscription. A track
   * is forwarded while both its source and its subscription play; one that starts again asks its
   * publisher for a keyframe.
   */
  setActive(transportId: string, sessionId: string, mids: string[], active: boolean): void;
  /** Forwards another source on a subscription's track, without renegotiation (same codec). */
  switchSource(transportId: string, subscriptionId: string, mid: string, source: TrackSource): void;
  /** Asks the publisher of a track for a keyframe. */
  requestKeyframe(source: TrackSource): void;
  closeTransport(transportId: string): void;
  stats(): WebrtcNodeStats;
};

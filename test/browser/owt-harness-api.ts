/**
 * What the OWT SDK test page offers the tests (`window.owt`): each call drives the unmodified SDK and
 * answers with plain data. Shared by the page (built for the browser) and the tests (Node).
 */

export type MediaKind = 'audio' | 'video';

export interface StreamSummary {
  id: string;
  owner: string;
  audio: boolean;
  video: boolean;
}

/** What a subscriber has received of one stream so far. */
export interface ReceivedMedia {
  /** `framesDecoded` of the video's inbound-rtp entry in getStats(). */
  framesDecoded: number;
  /** `videoWidth` of the `<video>` the subscription plays in. */
  videoWidth: number;
  /** `packetsReceived` of the audio's inbound-rtp entry. */
  audioPackets: number;
}

/** One request the SDK sent and what the portal acked. */
export interface AckRecord {
  event: string;
  status: string;
  data: unknown;
}

export interface OwtHarness {
  /** Joins with `ConferenceClient.join`; `streams` is what the login answer's `room.streams` gave. */
  join(token: string): Promise<{ self: string; streams: StreamSummary[] }>;
  /** Publishes the (fake) camera and microphone; resolves with the publication id. */
  publish(): Promise<string>;
  /** The remote streams the client knows now (`ConferenceClient.info.remoteStreams`). */
  streams(): StreamSummary[];
  /** Subscribes to a remote stream and plays it in a muted `<video>`; resolves with the subscription id. */
  subscribe(streamId: string): Promise<string>;
  received(streamId: string): Promise<ReceivedMedia>;
  mute(kind: MediaKind): Promise<void>;
  unmute(kind: MediaKind): Promise<void>;
  unpublish(): void;
  send(message: string): Promise<void>;
  leave(): Promise<void>;
  /** What happened, in order: `streamadded@STREAM`, `stream-ended@STREAM`, `subscription-error@STREAM:reason`, `publication-mute:video`, … */
  events(): string[];
  acks(): AckRecord[];
  /** The Engine.IO transport of each Socket.IO client the SDK created (or `disconnected`), in creation order. */
  transports(): string[];
  /** Every `connectionState` the SDK's RTCPeerConnection went through, in order. */
  peerStates(): string[];
}

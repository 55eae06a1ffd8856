/**
 * The OWT socket protocol (SPEC §4–§7, media events SPEC-MEDIA M4–M5) as typed event maps, one
 * pair per protocol version: the portal passes them to `Server<…>`, the client library to `io<…>`.
 * Each client event's listener takes the payload and the ack; each server event takes its data
 * (and, for the 1.2 buffer flavour, the sequence number).
 */

export type Protocol = 'legacy' | '1.0' | '1.1' | '1.2';
export type VersionedProtocol = Exclude<Protocol, 'legacy'>;
export const versionedProtocols: readonly string[] = ['1.0', '1.1', '1.2'] satisfies VersionedProtocol[];

/** The ack's first argument: `success` is the legacy flavour's word for `ok`. */
export type AckStatus = 'ok' | 'success' | 'error';
/** An ack answers `error` with the SPEC string, or success with the event's result. */
export type Ack<Result = undefined> = (status: AckStatus, data?: Result | string) => void;

export interface UserAgent {
  sdk: { type: string; version: string };
  runtime?: { name?: string; version?: string };
  os?: { name?: string; version?: string };
  capabilities?: Record<string, boolean | number | string>;
}

export interface LoginRequest {
  token: string;
  userAgent: UserAgent;
  /** Absent for legacy clients. */
  protocol?: string;
}

export interface TextRequest {
  to: string;
  message: string;
}

/** The legacy flavour's text request. */
export interface CustomMessageRequest {
  type: 'data';
  receiver: string;
  data: string;
}

export interface Permission {
  publish: { audio: boolean; video: boolean } | false;
  subscribe: { audio: boolean; video: boolean } | false;
}

export interface ParticipantSummary {
  id: string;
  user: string;
  role: string;
}

export interface RoomInfo {
  id: string;
  views: string[];
  participants: ParticipantSummary[];
  streams: StreamInfo[];
}

/** Login result, versioned flavours (SPEC §7). */
export interface LoginResult extends ParticipantSummary {
  permission: Permission;
  room: RoomInfo;
  reconnectionTicket?: string;
}

/** Login result, legacy flavour (SPEC §7). */
export interface LegacyLoginResult {
  clientId: string;
  id: string;
  streams: StreamInfo[];
  users: Array<{ id: string; name: string; role: string }>;
  reconnectionTicket?: string;
}

/** A notification kept for replay; `seq` orders them across reconnections (SPEC §6). */
export interface BufferedMessage<Event extends string = ServerEventName> {
  event: Event;
  data: unknown;
  seq: number;
}

/** The 1.2 buffer flavour's relogin answer; every other flavour answers the ticket string. */
export interface ReloginResult {
  ticket: string;
  messages: BufferedMessage[];
}

/** Either relogin answer in the buffer flavour's shape: a bare ticket comes with no messages. */
export function reloginResultOf(answer: string | ReloginResult): ReloginResult {
  return typeof answer === 'string' ? { ticket: answer, messages: [] } : answer;
}

export type ParticipantNotice =
  | { action: 'join'; data: ParticipantSummary }
  | { action: 'leave'; data: string };

export interface TextNotice {
  from: string;
  to: 'me' | 'all';
  message: string;
}

export type MediaKind = 'audio' | 'video';
export type TrackSelector = 'audio' | 'video' | 'av';

export interface TransportRef {
  /** Absent (or null) on a client's first request: the server creates the transport. */
  id?: string | null;
  type: 'webrtc';
}

/** A codec as OWT names it in StreamInfo and in a room's `mediaIn`/`mediaOut`. */
export interface MediaFormat {
  codec: string;
  sampleRate?: number;
  channelNum?: number;
  profile?: string;
}

export interface PublishRequest {
  media: { tracks: Array<{ type: MediaKind; mid: string; source: string }> };
  attributes?: Record<string, unknown> | null;
  transport: TransportRef;
}

/** What a subscriber may ask of a video track (OWT's names); an SFU sends the source as it is. */
export interface VideoParameters {
  resolution?: { width: number; height: number };
  framerate?: number;
  bitrate?: number | string;
  keyFrameInterval?: number;
}

export interface SubscribeRequest {
  media: {
    tracks: Array<{
      type: MediaKind;
      mid: string;
      /** A stream id (its track of this kind) or a track id. */
      from: string;
      parameters?: VideoParameters;
      format?: MediaFormat;
    }>;
  };
  transport: TransportRef;
}

/** Ack data of publish and subscribe. */
export interface MediaSessionResult {
  id: string;
  transportId: string;
}

export interface IceCandidateInit {
  /** `a=candidate:…` as the OWT SDK sends it. */
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

/** The client offers (the server never does) and trickles its candidates after the answer. */
export interface SoacRequest {
  id: string;
  signaling: { type: 'offer'; sdp: string } | { type: 'candidate'; candidate: IceCandidateInit };
}

export type StreamControlRequest =
  | { id: string; operation: 'pause' | 'play'; data: TrackSelector }
  | { id: string; operation: 'mix' | 'unmix' | 'set-region' | 'get-region'; data?: unknown };

export interface SourceUpdate {
  audio?: { from: string };
  video?: { from?: string; parameters?: VideoParameters };
}

export type SubscriptionControlRequest =
  | { id: string; operation: 'pause' | 'play'; data: TrackSelector }
  | { id: string; operation: 'update'; data: SourceUpdate };

export interface StreamTrackInfo {
  /** `${transportId}-${mid}`. */
  id: string;
  type: MediaKind;
  source: string;
  format: MediaFormat;
  /** Always empty: with `parameters` in it, the OWT SDK requires all four of its lists. */
  optional: Record<string, never>;
  status: 'active' | 'inactive';
  mid: string;
}

/** What `stream add` and `room.streams` carry (SPEC-MEDIA M5). */
export interface StreamInfo {
  id: string;
  type: 'forward';
  media: { tracks: StreamTrackInfo[] };
  data: null;
  info: { owner: string; type: 'webrtc'; inViews: string[]; attributes: Record<string, unknown>; activeInput: 'unknown' };
}

export type StreamNotice =
  | { id: string; status: 'add'; data: StreamInfo }
  | { id: string; status: 'update'; data: { field: 'audio.status' | 'video.status'; value: 'active' | 'inactive' } }
  | { id: string; status: 'remove' };

/** About a transport (`id`) or one of its sessions (`sessionId`): the answer, readiness, or a failure's reason. */
export type ProgressNotice =
  | { id: string; status: 'soac'; data: { type: 'answer'; sdp: string } }
  | { id: string; sessionId: string; status: 'ready' }
  | { id: string; sessionId?: string; status: 'error'; data: string };

/** Requests every flavour may send. */
interface CommonClientEvents {
  login(request: LoginRequest, ack: Ack<LoginResult | LegacyLoginResult>): void;
  relogin(ticket: string, ack: Ack<string | ReloginResult>): void;
  refreshReconnectionTicket(ack: Ack<string>): void;
  logout(ack: Ack): void;
}

/** The media plane's requests (SPEC-MEDIA M4); before login they are `Illegal request`. */
export interface MediaClientEvents {
  publish(request: PublishRequest, ack: Ack<MediaSessionResult>): void;
  unpublish(request: { id: string }, ack: Ack): void;
  subscribe(request: SubscribeRequest, ack: Ack<MediaSessionResult>): void;
  unsubscribe(request: { id: string }, ack: Ack): void;
  soac(request: SoacRequest, ack: Ack): void;
  'stream-control'(request: StreamControlRequest, ack: Ack): void;
  'subscription-control'(request: SubscriptionControlRequest, ack: Ack): void;
}

export const mediaClientEvents = [
  'publish',
  'unpublish',
  'subscribe',
  'unsubscribe',
  'soac',
  'stream-control',
  'subscription-control',
] as const satisfies ReadonlyArray<keyof MediaClientEvents>;

export interface VersionedClientEvents extends CommonClientEvents, MediaClientEvents {
  text(request: TextRequest, ack: Ack): void;
}

export interface LegacyClientEvents extends CommonClientEvents, MediaClientEvents {
  customMessage(request: CustomMessageRequest, ack: Ack): void;
}

/** The data of each notification a versioned client receives (SPEC §7, SPEC-MEDIA M4). */
export interface VersionedNotices {
  participant: ParticipantNotice;
  text: TextNotice;
  drop: undefined;
  stream: StreamNotice;
  progress: ProgressNotice;
}

export interface LegacyNotices {
  user_join: { user: { id: string; name: string; role: string } };
  user_leave: { user: { id: string } };
  custom_message: { from: string; to: 'me' | 'all'; data: string };
  drop: undefined;
}

/** 1.0/1.1 (and the OWT JavaScript SDK on 1.2): data only, nothing for `drop`. */
type Plain<N> = { [E in keyof N]: N[E] extends undefined ? () => void : (data: N[E]) => void };
/** The 1.2 buffer flavour: data (`null` for none) and its sequence number. */
type Sequenced<N> = { [E in keyof N]: (data: Exclude<N[E], undefined> | null, seq?: number) => void };

export type LegacyServerEvents = Plain<LegacyNotices>;
export type ServerEvents10 = Plain<VersionedNotices>;
export type ServerEvents12 = Sequenced<VersionedNotices>;

/** Client and server event maps of each protocol version. */
export interface ProtocolEvents {
  legacy: { client: LegacyClientEvents; server: LegacyServerEvents };
  '1.0': { client: VersionedClientEvents; server: ServerEvents10 };
  '1.1': { client: VersionedClientEvents; server: ServerEvents10 };
  '1.2': { client: VersionedClientEvents; server: ServerEvents12 };
}

/** Every request any flavour may send: what a portal listens to. */
export type ClientToServerEvents = VersionedClientEvents & LegacyClientEvents;
export type RequestName = keyof ClientToServerEvents;
/** The payload a request carries before its ack; `undefined` for those that carry none. */
export type RequestPayload<E extends RequestName> = Parameters<ClientToServerEvents[E]> extends [infer Payload, unknown] ? Payload : undefined;
/** Every notification of any flavour, in the loosest shape: what a portal emits. */
export type ServerToClientEvents = {
  [E in keyof VersionedNotices | keyof LegacyNotices]: (data?: unknown, seq?: number) => void;
};
/** The event names a portal may emit to a client. */
export type ServerEventName = keyof ServerToClientEvents;

const serverEventNames: ReadonlySet<string> = new Set<ServerEventName>([
  'participant',
  'text',
  'drop',
  'stream',
  'progress',
  'user_join',
  'user_leave',
  'custom_message',
]);

export function isServerEvent(event: string): event is ServerEventName {
  return serverEventNames.has(event);
}

/** A client sends anything: the portal receives each event's arguments unchecked and validates them. */
export type Unchecked<Events> = { [E in keyof Events]: (...args: unknown[]) => void };

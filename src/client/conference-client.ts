import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import {
  reloginResultOf,
  type ClientToServerEvents,
  type MediaKind,
  type Protocol,
  type ReloginResult,
  type RequestName,
  type RequestPayload,
  type ServerToClientEvents,
  type StreamInfo,
  type StreamNotice,
} from '../protocol/socket.js';
import { TypedEmitter } from './emitter.js';
import { MediaError, MediaTransport, type MediaTrackLike, type PeerConnectionLike, type Publication, type Subscription } from './media.js';

export type { MediaKind, StreamInfo, StreamNotice } from '../protocol/socket.js';
export type { MediaTrackLike, PeerConnectionLike, Publication, Subscription } from './media.js';
export { MediaError } from './media.js';

export type ClientProtocol = Protocol;

/** The client's side of the portal protocol: it emits client events and hears server ones. */
export type ConferenceSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface ConferenceClientOptions {
  /** Portal URL; a token's `host`/`secure` give it when omitted. */
  url?: string;
  protocol?: ClientProtocol;
  sdk?: { type: string; version: string };
  /** Re-log in with the reconnection ticket when the transport comes back (default true). */
  autoRelogin?: boolean;
  /** Refresh the ticket this long before it expires (default 60 s, like the OWT SDK). */
  refreshBeforeMs?: number;
  socket?: Partial<ManagerOptions & SocketOptions>;
  /** Makes the client's one peer connection (default: the environment's RTCPeerConnection; in Node, e.g. werift's). */
  createPeerConnection?: () => PeerConnectionLike;
  /** How long the portal's answer, and then its `ready`, may take for a publish or subscribe (default 10 s). */
  mediaTimeoutMs?: number;
}

export interface PublishOptions {
  /** Each track's `source` (default `mic` and `camera`). */
  sources?: Partial<Record<MediaKind, string>>;
  attributes?: Record<string, unknown>;
}

export const ClientStates = {
  idle: 'idle',
  connecting: 'connecting',
  connected: 'connected',
  reconnecting: 'reconnecting',
  resumed: 'resumed',
  dropped: 'dropped',
  left: 'left',
} as const;
export type ClientState = (typeof ClientStates)[keyof typeof ClientStates];

export interface Notification {
  event: string;
  data: unknown;
}

export class ConferenceRequestError extends Error {
  override name = 'ConferenceRequestError';
}

interface TicketBody {
  notAfter: number;
}

function decodeTicket(ticket: string): TicketBody | undefined {
  try {
    const parsed = JSON.parse(atob(ticket)) as TicketBody;
    return Number.isFinite(parsed.notAfter) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

const lifecycleEvents = new Set(['connect', 'disconnect', 'connect_error']);

export interface ConferenceClientEvents extends Record<string, unknown> {
  notification: Notification;
  state: ClientState;
  'relogin-failed': Error;
  /** A publication or subscription of this client ended without being asked to here, and why. */
  'media-ended': { id: string; reason: string };
}

function environmentPeerConnection(): PeerConnectionLike {
  const Peer = (globalThis as { RTCPeerConnection?: new (configuration: object) => PeerConnectionLike }).RTCPeerConnection;
  if (!Peer) throw new MediaError('there is no RTCPeerConnection here: give the client createPeerConnection');
  return new Peer({ bundlePolicy: 'max-bundle' });
}


/**
 * A typed client of the portal protocol (SPEC §4–§7) for Node and browsers: logs in with a token,
 * keeps its reconnection ticket fresh, re-logs in after a transport drop and hands every
 * notification to `notification` listeners exactly once and in order.
 *
 * It also publishes and subscribes over one peer connection (SPEC-MEDIA M3–M4) and keeps the room's
 * streams from the login answer and `stream` notifications.
 *
 * Events: `notification` (Notification), `state` (ClientState), `relogin-failed` (Error),
 * `media-ended` ({id, reason}).
 */
export class ConferenceClient extends TypedEmitter<ConferenceClientEvents> {
  readonly socket: ConferenceSocket;
  private ticket: string | undefined;
  private lastSeq = 0;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private current: ClientState = ClientStates.idle;
  private loggedIn = false;
  private readonly options: Required<Omit<ConferenceClientOptions, 'url' | 'socket' | 'createPeerConnection' | 'mediaTimeoutMs'>>;
  private readonly media: MediaTransport;
  private readonly roomStreams = new Map<string, StreamInfo>();

  constructor(url: string, options: ConferenceClientOptions = {}) {
    super();
    this.options = {
      protocol: options.protocol ?? '1.2',
      sdk: options.sdk ?? { type: 'JavaScript', version: '5.1' },
      autoRelogin: options.autoRelogin ?? true,
      refreshBeforeMs: options.refreshBeforeMs ?? 60_000,
    };
    this.media = new MediaTransport(this, {
      createPeerConnection: options.createPeerConnection ?? environmentPeerConnection,
      timeoutMs: options.mediaTimeoutMs ?? 10_000,
      onEnded: (id, reason) => this.emit('media-ended', { id, reason }),
    });
    this.socket = io(url, { autoConnect: false, reconnectionDelay: 100, reconnectionDelayMax: 1_000, ...options.socket });
    this.socket.onAny((event: string, data: unknown, seq?: unknown) => this.onIncoming(event, data, seq));
    this.socket.on('connect', () => {
      if (this.loggedIn && this.options.autoRelogin && this.ticket) void this.relogin(this.ticket);
    });
    this.socket.on('disconnect', () => {
      if (this.loggedIn && this.current !== ClientStates.dropped) this.setState(ClientStates.reconnecting);
    });
  }

  get state(): ClientState {
    return this.current;
  }

  get reconnectionTicket(): string | undefined {
    return this.ticket;
  }

  /** The peer connection's transport id (its first publication's or subscription's), once there is one. */
  get transportId(): string | undefined {
    return this.media.id;
  }

  /** The streams in the room by id, the client's own included, as the portal last described them. */
  get streams(): ReadonlyMap<string, StreamInfo> {
    return this.roomStreams;
  }

  /** Connects and logs in; resolves with the login result (legacy or versioned shape). */
  async join(token: string): Promise<Record<string, unknown>> {
    this.setState(ClientStates.connecting);
    if (!this.socket.connected) {
      await new Promise<void>((resolve, reject) => {
        const onError = (error: Error) => {
          this.socket.off('connect', onConnect);
          reject(error);
        };
        const onConnect = () => {
          this.socket.off('connect_error', onError);
          resolve();
        };
        this.socket.once('connect', onConnect);
        this.socket.once('connect_error', onError);
        this.socket.connect();
      });
    }
    const payload: RequestPayload<'login'> = { token, userAgent: { sdk: this.options.sdk } };
    if (this.options.protocol !== 'legacy') payload.protocol = this.options.protocol;
    const result = (await this.request('login', payload)) as Record<string, unknown>;
    this.loggedIn = true;
    this.lastSeq = 0;
    this.roomStreams.clear();
    const room = result['room'] as { streams?: StreamInfo[] } | undefined;
    for (const stream of room?.streams ?? []) this.roomStreams.set(stream.id, stream);
    if (typeof result['reconnectionTicket'] === 'string') this.adoptTicket(result['reconnectionTicket']);
    this.setState(ClientStates.connected);
    return result;
  }

  /** Sends text to one participant id or to 'all'. */
  async send(to: string, message: string): Promise<void> {
    if (this.options.protocol === 'legacy') await this.request('customMessage', { type: 'data', receiver: to, data: message });
    else await this.request('text', { to, message });
  }

  /**
   * Publishes tracks (at most one of each kind) as one stream; resolves once the portal says `ready`.
   * `publication.id` is the stream id the others see.
   */
  publish(tracks: Partial<Record<MediaKind, MediaTrackLike>>, options: PublishOptions = {}): Promise<Publication> {
    return this.media.publish(tracks, options.sources ?? {}, options.attributes ?? {});
  }

  unpublish(publicationId: string): Promise<void> {
    return this.media.unpublish(publicationId);
  }

  /** Subscribes to a stream of the room (all its kinds by default); resolves once its tracks arrive. */
  subscribe(streamId: string, kinds?: MediaKind[]): Promise<Subscription> {
    const stream = this.roomStreams.get(streamId);
    if (!stream) return Promise.reject(new MediaError(`there is no stream ${streamId} in the room`));
    return this.media.subscribe(stream, kinds ?? stream.media.tracks.map((track) => track.type));
  }

  unsubscribe(subscriptionId: string): Promise<void> {
    return this.media.unsubscribe(subscriptionId);
  }

  /** Pauses or plays tracks of one of the client's publications; the others see its status change. */
  async controlStream(publicationId: string, operation: 'pause' | 'play', kind: MediaKind | 'av'): Promise<void> {
    await this.request('stream-control', { id: publicationId, operation, data: kind });
  }

  /** Logs out and closes the socket and the peer connection. */
  async leave(): Promise<void> {
    this.loggedIn = false;
    clearTimeout(this.refreshTimer);
    try {
      if (this.socket.connected) await this.request('logout', undefined);
    } finally {
      this.media.close();
      this.setState(ClientStates.left);
      this.socket.disconnect();
    }
  }

  /** Closes the socket and the peer connection without logging out, as a crashed or unplugged client would. */
  close(): void {
    this.loggedIn = false;
    clearTimeout(this.refreshTimer);
    this.media.close();
    this.socket.disconnect();
  }

  /**
   * Emits an event and resolves with the ack's data, or rejects with the ack's error message.
   * `accept` takes the data inside the ack itself, before events read along with it are dispatched.
   */
  request<E extends RequestName>(event: E, payload: RequestPayload<E>, accept?: (data: unknown) => void): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const ack = (status: unknown, data?: unknown) => {
        if (status !== 'ok' && status !== 'success') {
          reject(new ConferenceRequestError(typeof data === 'string' ? data : JSON.stringify(data)));
          return;
        }
        try {
          accept?.(data);
          resolve(data);
        } catch (error) {
          reject(error instanceof Error ? error : new ConferenceRequestError(String(error)));
        }
      };
      const args = (payload === undefined ? [ack] : [payload, ack]) as Parameters<ClientToServerEvents[E]>;
      this.socket.emit(event, ...args);
    });
  }

  async refreshTicket(): Promise<string> {
    const ticket = (await this.request('refreshReconnectionTicket', undefined)) as string;
    this.adoptTicket(ticket);
    return ticket;
  }

  private async relogin(ticket: string): Promise<void> {
    try {
      // A live notification can arrive in the same read as the answer; replaying the buffer after
      // an await would let its sequence number hide older buffered messages.
      await this.request('relogin', ticket, (answer) => {
        const result = reloginResultOf(answer as string | ReloginResult);
        this.adoptTicket(result.ticket);
        for (const message of result.messages) this.onIncoming(message.event, message.data, message.seq);
      });
      this.setState(ClientStates.resumed);
    } catch (error) {
      this.loggedIn = false;
      clearTimeout(this.refreshTimer);
      this.media.close();
      this.setState(ClientStates.dropped);
      this.emit('relogin-failed', error instanceof Error ? error : new ConferenceRequestError(String(error)));
    }
  }

  private adoptTicket(ticket: string): void {
    this.ticket = ticket;
    clearTimeout(this.refreshTimer);
    const body = decodeTicket(ticket);
    if (!body) return;
    const lifetime = body.notAfter - Date.now();
    const wait = Math.max(lifetime - Math.min(this.options.refreshBeforeMs, lifetime / 2), 0);
    this.refreshTimer = setTimeout(() => {
      if (this.socket.connected && this.loggedIn) this.refreshTicket().catch(() => undefined);
    }, wait);
    // In Node the refresh must not keep the process alive; browser timers are plain numbers.
    if (typeof this.refreshTimer === 'object') this.refreshTimer.unref();
  }

  private onIncoming(event: string, data: unknown, seq: unknown): void {
    if (lifecycleEvents.has(event)) return;
    if (typeof seq === 'number') {
      if (seq <= this.lastSeq) return;
      this.lastSeq = seq;
    }
    if (event === 'drop') {
      this.loggedIn = false;
      clearTimeout(this.refreshTimer);
      this.media.close();
      this.setState(ClientStates.dropped);
    } else if (event === 'progress') {
      this.media.onProgress(data);
    } else if (event === 'stream') {
      this.trackStream(data as StreamNotice);
    }
    this.emit('notification', { event, data } satisfies Notification);
  }

  private trackStream(notification: StreamNotice): void {
    if (typeof notification !== 'object' || notification === null) return;
    if (notification.status === 'add') {
      this.roomStreams.set(notification.id, notification.data);
      return;
    }
    if (notification.status === 'remove') {
      this.roomStreams.delete(notification.id);
      return;
    }
    const stream = this.roomStreams.get(notification.id);
    if (notification.status !== 'update' || !stream || typeof notification.data !== 'object' || notification.data === null) return;
    const { field, value } = notification.data;
    const kind = field === 'audio.status' ? 'audio' : 'video';
    for (const track of stream.media.tracks) {
      if (track.type === kind) track.status = value;
    }
  }

  private setState(state: ClientState): void {
    if (this.current === state) return;
    this.current = state;
    this.emit('state', state);
  }
}

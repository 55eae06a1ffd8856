/**
 * The client's media transport (SPEC-MEDIA M3–M4): one peer connection per client, whose id is the
 * id of the first publication or subscription; each publish or subscribe adds transceivers and
 * negotiates once through `soac`/`progress`, one negotiation at a time. The peer connection comes
 * from the environment (a browser's RTCPeerConnection, or e.g. werift's in Node), so only the
 * structural part used here is typed.
 */
import type { MediaKind, ProgressNotice, RequestName, RequestPayload, StreamInfo, TransportRef } from '../protocol/socket.js';

export interface MediaTrackLike {
  readonly kind: string;
  readonly id?: string;
}

export interface SessionDescriptionLike {
  type: 'offer' | 'answer' | 'pranswer' | 'rollback';
  sdp?: string;
}

export interface IceCandidateLike {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

export interface TransceiverLike {
  readonly mid: string | null;
  direction: string;
  readonly sender: { replaceTrack(track: null): Promise<void> };
  stop(): void;
}

/** A handler the peer connection calls; typed as a method so either side's event type fits. */
type Handler<Event> = { bivarianceHack(event: Event): void }['bivarianceHack'];

export interface PeerConnectionLike {
  readonly signalingState: string;
  readonly connectionState: string;
  readonly localDescription: SessionDescriptionLike | null;
  onicecandidate: Handler<{ candidate?: IceCandidateLike | null }> | null | undefined;
  ontrack: Handler<{ track: MediaTrackLike; transceiver: TransceiverLike }> | null | undefined;
  onconnectionstatechange: Handler<unknown> | null | undefined;
  addTransceiver(trackOrKind: MediaTrackLike | string, init: { direction: 'sendonly' | 'recvonly' }): TransceiverLike;
  createOffer(): Promise<SessionDescriptionLike>;
  setLocalDescription(description: SessionDescriptionLike): Promise<unknown>;
  setRemoteDescription(description: { type: 'answer'; sdp: string }): Promise<unknown>;
  close(): unknown;
}

export interface Publication {
  id: string;
  tracks: Partial<Record<MediaKind, MediaTrackLike>>;
}

export interface Subscription {
  id: string;
  streamId: string;
  /** The tracks the peer connection receives, by kind. */
  tracks: Partial<Record<MediaKind, MediaTrackLike>>;
}

/** How the transport reaches the portal: a request resolves with the ack's data or rejects with its message. */
export interface Signaling {
  request<E extends RequestName>(event: E, payload: RequestPayload<E>): Promise<unknown>;
}

interface Pending<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: Error): void;
}

function pending<T>(): Pending<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  // A failure nobody awaits yet (the session is still negotiating) is not an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export class MediaError extends Error {
  override name = 'MediaError';
}

/** A promise that rejects with `what` unless settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new MediaError(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

type SessionKind = 'publication' | 'subscription';

interface SessionTransceiver {
  type: MediaKind;
  transceiver: TransceiverLike;
}

/** Sends the publish or subscribe request for transceivers with these mids, on this transport. */
type Requester = (mids: string[], transport: TransportRef) => Promise<unknown>;

/** One publication or subscription on the transport, from its ack until it ends. */
class Session {
  readonly ready = pending<void>();
  readonly received = new Map<TransceiverLike, MediaTrackLike>();
  /** Handed to the caller: from then on its end is news, not a failed request. */
  live = false;
  private readyReceived = false;

  constructor(
    readonly id: string,
    readonly kind: SessionKind,
    readonly transceivers: SessionTransceiver[],
  ) {}

  markReady(): void {
    this.readyReceived = true;
    this.settleIfComplete();
  }

  addTrack(transceiver: TransceiverLike, track: MediaTrackLike): void {
    this.received.set(transceiver, track);
    this.settleIfComplete();
  }

  tracksByKind(): Partial<Record<MediaKind, MediaTrackLike>> {
    const tracks: Partial<Record<MediaKind, MediaTrackLike>> = {};
    for (const { type, transceiver } of this.transceivers) {
      const track = this.received.get(transceiver);
      if (track) tracks[type] = track;
    }
    return tracks;
  }

  /** A subscription is usable once `ready` came and every transceiver delivered its track (as the SDK waits). */
  private settleIfComplete(): void {
    if (!this.readyReceived) return;
    if (this.kind === 'subscription' && this.received.size < this.transceivers.length) return;
    this.ready.resolve();
  }
}

export interface MediaTransportOptions {
  createPeerConnection: () => PeerConnectionLike;
  /** How long an answer, and then `ready`, may take (default 10 s, as the OWT SDK waits for an answer). */
  timeoutMs: number;
  /** A publication or subscription ended without being asked to here (`progress` error, transport failure). */
  onEnded(id: string, reason: string): void;
}

export class MediaTransport {
  private peer: PeerConnectionLike | undefined;
  private transportId: string | undefined;
  private readonly sessions = new Map<string, Session>();
  private negotiation: Promise<unknown> = Promise.resolve();
  /** The answer awaited for the session being negotiated. */
  private answer: (Pending<string> & { sessionId: string }) | undefined;
  private readonly heldCandidates: IceCandidateLike[] = [];

  constructor(
    private readonly signaling: Signaling,
    private readonly options: MediaTransportOptions,
  ) {}

  /** The transport id the portal gave, once a publication or subscription exists. */
  get id(): string | undefined {
    return this.transportId;
  }

  async publish(tracks: Partial<Record<MediaKind, MediaTrackLike>>, sources: Partial<Record<MediaKind, string>>, attributes: Record<string, unknown>): Promise<Publication> {
    const kinds = (['audio', 'video'] as const).filter((kind) => tracks[kind]);
    if (kinds.length === 0) throw new MediaError('nothing to publish: give an audio or a video track');
    const session = await this.negotiate(
      'publication',
      (peer) => kinds.map((type) => ({ type, transceiver: peer.addTransceiver(tracks[type]!, { direction: 'sendonly' }) })),
      (mids, transport) =>
        this.signaling.request('publish', {
          media: { tracks: kinds.map((type, index) => ({ type, mid: mids[index]!, source: sources[type] ?? (type === 'audio' ? 'mic' : 'camera') })) },
          attributes,
          transport,
        }),
    );
    return { id: session.id, tracks: Object.fromEntries(kinds.map((kind) => [kind, tracks[kind]!])) };
  }

  async subscribe(stream: StreamInfo, kinds: MediaKind[]): Promise<Subscription> {
    const sources = kinds.map((type) => {
      const track = stream.media.tracks.find((candidate) => candidate.type === type);
      if (!track) throw new MediaError(`stream ${stream.id} has no ${type} track`);
      return { type, from: track.id };
    });
    if (sources.length === 0) throw new MediaError('nothing to subscribe to: ask for audio or video');
    const session = await this.negotiate(
      'subscription',
      (peer) => sources.map(({ type }) => ({ type, transceiver: peer.addTransceiver(type, { direction: 'recvonly' }) })),
      (mids, transport) =>
        this.signaling.request('subscribe', { media: { tracks: sources.map(({ type, from }, index) => ({ type, mid: mids[index]!, from })) }, transport }),
    );
    return { id: session.id, streamId: stream.id, tracks: session.tracksByKind() };
  }

  async unpublish(id: string): Promise<void> {
    await this.ask('unpublish', this.signaling.request('unpublish', { id }));
    this.release(id);
  }

  async unsubscribe(id: string): Promise<void> {
    await this.ask('unsubscribe', this.signaling.request('unsubscribe', { id }));
    this.release(id);
  }

  /** A `progress` notification; those of another transport are not for this one. */
  onProgress(message: unknown): void {
    const progress = message as ProgressNotice;
    if (typeof progress !== 'object' || progress === null || progress.id !== this.transportId) return;
    if (progress.status === 'soac') {
      const description = progress.data as SessionDescriptionLike | undefined;
      if (description?.type === 'answer' && typeof description.sdp === 'string') this.answer?.resolve(description.sdp);
    } else if (progress.status === 'ready' && progress.sessionId) {
      this.sessions.get(progress.sessionId)?.markReady();
    } else if (progress.status === 'error') {
      const reason = typeof progress.data === 'string' ? progress.data : 'media error';
      if (progress.sessionId) this.end(progress.sessionId, reason);
      else this.fail(reason);
    }
  }

  /** Closes the peer connection; every publication and subscription ends with it. */
  close(): void {
    this.fail('closed', false);
  }

  private peerConnection(): PeerConnectionLike {
    if (this.peer) return this.peer;
    const peer = this.options.createPeerConnection();
    peer.onicecandidate = (event) => {
      if (!event.candidate?.candidate) return;
      if (peer.signalingState === 'stable' && this.transportId) this.sendCandidate(event.candidate);
      else this.heldCandidates.push(event.candidate);
    };
    peer.ontrack = ({ track, transceiver }) => {
      for (const session of this.sessions.values()) {
        if (session.transceivers.some((entry) => entry.transceiver === transceiver)) session.addTrack(transceiver, track);
      }
    };
    peer.onconnectionstatechange = () => {
      if (peer.connectionState === 'failed') this.fail('connection failed');
    };
    this.peer = peer;
    return peer;
  }

  /** Adds transceivers, asks the portal for a session, negotiates, then waits for `ready`. */
  private async negotiate(
    kind: SessionKind,
    addTransceivers: (peer: PeerConnectionLike) => SessionTransceiver[],
    request: Requester,
  ): Promise<Session> {
    const turn = this.negotiation.then(() => this.offer(kind, addTransceivers, request));
    this.negotiation = turn.catch(() => undefined);
    const session = await turn;
    try {
      await within(session.ready.promise, this.options.timeoutMs, `no "ready" for ${kind} ${session.id}`);
    } catch (error) {
      await this.abandon(session);
      throw error;
    }
    session.live = true;
    return session;
  }

  private async offer(
    kind: SessionKind,
    addTransceivers: (peer: PeerConnectionLike) => SessionTransceiver[],
    request: Requester,
  ): Promise<Session> {
    const peer = this.peerConnection();
    const transceivers = addTransceivers(peer);
    const offer = await peer.createOffer();
    await peer.setLocalDescription(offer);
    const sdp = peer.localDescription?.sdp ?? offer.sdp;
    const mids = transceivers.map(({ transceiver }) => transceiver.mid);
    const transport: TransportRef = this.transportId ? { id: this.transportId, type: 'webrtc' } : { type: 'webrtc' };
    let ack: { id?: unknown; transportId?: unknown };
    try {
      if (!sdp || mids.includes(null)) throw new MediaError('the peer connection made an offer without SDP or mids');
      ack = (await this.ask(kind === 'publication' ? 'publish' : 'subscribe', request(mids as string[], transport))) as typeof ack;
    } catch (error) {
      await this.undoOffer(peer, transceivers);
      throw error;
    }
    if (typeof ack?.id !== 'string' || typeof ack.transportId !== 'string' || (this.transportId && ack.transportId !== this.transportId)) {
      await this.undoOffer(peer, transceivers);
      throw new MediaError(`the portal answered ${JSON.stringify(ack)} on transport ${this.transportId ?? '(new)'}`);
    }
    this.transportId = ack.transportId;
    const session = new Session(ack.id, kind, transceivers);
    this.sessions.set(session.id, session);
    try {
      this.answer = { ...pending<string>(), sessionId: session.id };
      const answered = within(this.answer.promise, this.options.timeoutMs, `no answer for ${kind} ${session.id}`);
      const sent = this.signaling.request('soac', { id: this.transportId, signaling: { type: 'offer', sdp } });
      // The answer may come after a reconnection that lost the ack: it is enough, unless the ack refused.
      await peer.setRemoteDescription({ type: 'answer', sdp: await Promise.race([answered, sent.then(() => answered)]) });
    } catch (error) {
      await this.abandon(session);
      throw error;
    } finally {
      this.answer = undefined;
    }
    for (const candidate of this.heldCandidates.splice(0)) this.sendCandidate(candidate);
    return session;
  }

  /** A request whose ack a dropped connection cannot hold back for ever. */
  private ask(event: string, request: Promise<unknown>): Promise<unknown> {
    return within(request, this.options.timeoutMs, `no answer to ${event}`);
  }

  /** Candidates go after the answer, with the `a=` prefix the OWT protocol carries. */
  private sendCandidate(candidate: IceCandidateLike): void {
    const { candidate: line, sdpMid, sdpMLineIndex } = candidate;
    if (!this.transportId) return;
    this.signaling
      .request('soac', { id: this.transportId, signaling: { type: 'candidate', candidate: { candidate: `a=${line}`, sdpMid, sdpMLineIndex } } })
      .catch(() => undefined);
  }

  private async undoOffer(peer: PeerConnectionLike, transceivers: Array<{ transceiver: TransceiverLike }>): Promise<void> {
    if (peer.signalingState === 'have-local-offer') await peer.setLocalDescription({ type: 'rollback' }).catch(() => undefined);
    for (const { transceiver } of transceivers) transceiver.stop();
  }

  /** Gives up a session that did not complete: the portal forgets it, the transceivers stop. */
  private async abandon(session: Session): Promise<void> {
    if (!this.sessions.has(session.id)) return;
    const peer = this.peer;
    if (peer?.signalingState === 'have-local-offer') {
      this.sessions.delete(session.id);
      await this.undoOffer(peer, session.transceivers);
    } else {
      this.release(session.id);
    }
    const event = session.kind === 'publication' ? 'unpublish' : 'unsubscribe';
    await this.ask(event, this.signaling.request(event, { id: session.id })).catch(() => undefined);
  }

  /**
   * Stops what a session sent or received. Its m-lines stay in later offers as `inactive`, as the
   * OWT SDK leaves them, rather than closed: closing the connection's first m-line would move the
   * BUNDLE transport away from the one the server holds.
   */
  private release(id: string): Session | undefined {
    const session = this.sessions.get(id);
    if (!session) return undefined;
    this.sessions.delete(id);
    for (const { transceiver } of session.transceivers) {
      transceiver.direction = 'inactive';
      transceiver.sender.replaceTrack(null).catch(() => undefined);
    }
    return session;
  }

  /**
   * The portal ended a session (e.g. `Source stream loss`). One still negotiating fails with the
   * portal's reason, and its request cleans up after it.
   */
  private end(id: string, reason: string): void {
    const session = this.sessions.get(id);
    if (!session) return;
    if (!session.live) {
      if (this.answer?.sessionId === id) this.answer.reject(new MediaError(reason));
      session.ready.reject(new MediaError(reason));
      return;
    }
    this.release(id);
    this.options.onEnded(id, reason);
  }

  /** The whole transport is gone: every session ends and a later request starts a new one. */
  private fail(reason: string, notify = true): void {
    const peer = this.peer;
    this.peer = undefined;
    this.transportId = undefined;
    this.heldCandidates.length = 0;
    this.answer?.reject(new MediaError(reason));
    for (const session of [...this.sessions.values()]) {
      this.sessions.delete(session.id);
      session.ready.reject(new MediaError(reason));
      if (notify && session.live) this.options.onEnded(session.id, reason);
    }
    if (peer) {
      peer.onicecandidate = null;
      peer.ontrack = null;
      peer.onconnectionstatechange = null;
      peer.close();
    }
  }
}

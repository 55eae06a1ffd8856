/**
 * The media controller of one room (SPEC-MEDIA M4–M6): publications with their tracks,
 * subscriptions, permissions and limits, the `stream` notifications, and the relay of offers and
 * answers between the participants and the room's webrtc node.
 */
import { messageOf } from '../bus/index.js';
import type { ClusterEvent, Preference } from '../cluster/api.js';
import type { Config } from '../config/config.js';
import { type Logger, componentLogger } from '../logger.js';
import type { Room } from '../store/index.js';
import type {
  MediaFormat,
  MediaKind,
  MediaSessionResult,
  PublishRequest,
  SoacRequest,
  StreamControlRequest,
  StreamInfo,
  SubscribeRequest,
  SubscriptionControlRequest,
  TransportRef,
  VideoParameters,
} from '../protocol/socket.js';
import type { MediaEvent, SessionPlan, TransportOwner } from '../webrtc/api.js';
import { MediaErrors, type Permission } from './api.js';
import { conferenceError, mediaError } from './errors.js';
import type { MediaNodeLink } from './media-node.js';
import { kindsOf } from './media-requests.js';
import { parseStreamUpdates, type TrackStatus } from './stream-updates.js';

/** Why a source does not satisfy a subscription (the end of OWT's `Target … stream does NOT satisfy:`). */
const Unsatisfied = {
  noTrack: (kind: MediaKind) => `No ${kind} track`,
  format: 'Format is not acceptable',
} as const;

export interface RoomMediaDeps {
  room: Room;
  config: Config;
  link: MediaNodeLink;
  /** This conference node and its agent, where the webrtc node reports. */
  controller: string;
  controllerAgent: string;
  logger: Logger;
  permissionOf(participantId: string): Permission | undefined;
  /** Where the participant's token came from: the room's webrtc node is scheduled near its first user. */
  originOf(participantId: string): Preference | undefined;
  notify(participantId: string, event: string, data: unknown): void;
  /** To every participant in the room but those excluded. */
  broadcast(excludeList: string[], event: string, data: unknown): void;
}

interface PublishedTrack {
  type: MediaKind;
  mid: string;
  source: string;
  /** Known once the publication is ready: the codec it came in. */
  format: MediaFormat | undefined;
  status: TrackStatus;
}

interface Publication {
  kind: 'publication';
  id: string;
  owner: string;
  transportId: string;
  tracks: PublishedTrack[];
  attributes: Record<string, unknown>;
  ready: boolean;
}

interface SubscribedTrack {
  type: MediaKind;
  mid: string;
  source: { publication: string; mid: string };
  active: boolean;
}

interface Subscription {
  kind: 'subscription';
  id: string;
  owner: string;
  transportId: string;
  tracks: SubscribedTrack[];
  ready: boolean;
}

type Session = Publication | Subscription;

interface Transport {
  id: string;
  owner: string;
  sessions: Set<string>;
  /** One negotiation at a time (SPEC-MEDIA M3). */
  negotiation: Promise<void>;
  /** A transport never negotiated goes with its last session; one that was lives until its owner leaves. */
  negotiated: boolean;
}

/** Bitrate multipliers that ask for the source's own bitrate. */
const sameBitrate = new Set<unknown>(['x1', 'x1.0', 1]);

function needsTranscoding(format: MediaFormat | undefined, parameters: VideoParameters | undefined, source: PublishedTrack): boolean {
  if (format) {
    const own = source.format;
    if (!own || format.codec.toLowerCase() !== own.codec || (format.profile !== undefined && format.profile !== own.profile)) return true;
  }
  if (!parameters) return false;
  // The SFU never learns a source's resolution: a resolution asked for is the source's.
  return parameters.framerate !== undefined || parameters.keyFrameInterval !== undefined || (parameters.bitrate !== undefined && !sameBitrate.has(parameters.bitrate));
}

export class RoomMedia {
  private readonly publications = new Map<string, Publication>();
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly transports = new Map<string, Transport>();
  private readonly logger: Logger;

  constructor(private readonly deps: RoomMediaDeps) {
    this.logger = componentLogger(deps.logger, 'media-controller', { room: deps.room._id });
  }

  /** The StreamInfo of every stream past its `ready` (the login answer's `room.streams`). */
  streams(): StreamInfo[] {
    return [...this.publications.values()].filter((publication) => publication.ready).map((publication) => this.streamInfo(publication));
  }

  get sessionCount(): number {
    return this.publications.size + this.subscriptions.size;
  }

  async publish(participantId: string, streamId: string, request: PublishRequest): Promise<MediaSessionResult> {
    const permission = this.permission(participantId);
    const { tracks } = request.media;
    const { room, config } = this.deps;
    for (const { type } of tracks) {
      if (!permission.publish || !permission.publish[type]) throw mediaError('unauthorized');
    }
    if (room.inputLimit >= 0 && this.publications.size >= room.inputLimit) throw mediaError('tooManyInputs');
    if (this.publications.has(streamId)) throw mediaError('streamExists');
    const mediaIn = room.mediaIn as { audio?: unknown[]; video?: unknown[] };
    if (tracks.some(({ type }) => type === 'audio') && !mediaIn.audio?.length) throw mediaError('audioForbidden');
    if (tracks.some(({ type }) => type === 'video') && !mediaIn.video?.length) throw mediaError('videoForbidden');
    if (tracks.length > config.webrtc.maxTracksPerPublication) throw mediaError('tooManyTracks');
    if (this.owned(this.publications, participantId) >= config.webrtc.maxPublicationsPerParticipant) throw mediaError('tooManyPublications');
    const transport = this.transportFor(participantId, request.transport, streamId, 'streamExists');
    this.checkMids(transport, tracks.map(({ mid }) => mid));
    const publication: Publication = {
      kind: 'publication',
      id: streamId,
      owner: participantId,
      transportId: transport.id,
      tracks: tracks.map(({ type, mid, source }) => ({ type, mid, source, format: undefined, status: 'active' })),
      attributes: request.attributes ?? {},
      ready: false,
    };
    this.addSession(transport, publication);
    await this.untilMediaNode(publication);
    return { id: streamId, transportId: transport.id };
  }

  async subscribe(participantId: string, subscriptionId: string, request: SubscribeRequest): Promise<MediaSessionResult> {
    const permission = this.permission(participantId);
    const { tracks } = request.media;
    for (const { type } of tracks) {
      if (!permission.subscribe || !permission.subscribe[type]) throw mediaError('unauthorized');
    }
    if (this.subscriptions.has(subscriptionId)) throw mediaError('subscriptionExists');
    const sources = tracks.map(({ type, from, format, parameters }) => {
      const source = this.sourceOf(from, type);
      if (needsTranscoding(format, parameters, source.track)) throw mediaError('transcoding');
      return source;
    });
    if (this.owned(this.subscriptions, participantId) >= this.deps.config.webrtc.maxSubscriptionsPerParticipant) {
      throw mediaError('tooManySubscriptions');
    }
    const transport = this.transportFor(participantId, request.transport, subscriptionId, 'subscriptionExists');
    this.checkMids(transport, tracks.map(({ mid }) => mid));
    const subscription: Subscription = {
      kind: 'subscription',
      id: subscriptionId,
      owner: participantId,
      transportId: transport.id,
      tracks: tracks.map(({ type, mid }, index) => ({
        type,
        mid,
        source: { publication: sources[index]!.publication.id, mid: sources[index]!.track.mid },
        active: true,
      })),
      ready: false,
    };
    this.addSession(transport, subscription);
    await this.untilMediaNode(subscription);
    return { id: subscriptionId, transportId: transport.id };
  }

  unpublish(participantId: string, streamId: string): void {
    this.permission(participantId);
    const publication = this.publications.get(streamId);
    if (!publication) throw mediaError('streamNotFound');
    if (publication.owner !== participantId) throw mediaError('unauthorized');
    this.removePublication(publication);
  }

  unsubscribe(participantId: string, subscriptionId: string): void {
    this.permission(participantId);
    const subscription = this.subscriptions.get(subscriptionId);
    if (!subscription) throw mediaError('subscriptionNotFound');
    if (subscription.owner !== participantId) throw mediaError('unauthorized');
    this.removeSubscription(subscription);
  }

  async soac(participantId: string, { id, signaling }: SoacRequest): Promise<void> {
    this.permission(participantId);
    const transport = this.transports.get(id);
    if (!transport || transport.owner !== participantId) throw mediaError('transportNotFound');
    if (signaling.type === 'candidate') {
      this.deps.link.known?.cast('addCandidate', [transport.id, signaling.candidate]);
      return;
    }
    const negotiation = transport.negotiation.then(() => this.negotiate(transport, signaling.sdp));
    transport.negotiation = negotiation.catch(() => undefined);
    await negotiation;
  }

  streamControl(participantId: string, request: StreamControlRequest): void {
    this.permission(participantId);
    const publication = this.publications.get(request.id);
    if (!publication) throw mediaError('streamNotFound');
    if (publication.owner !== participantId) throw mediaError('unauthorized');
    if (request.operation !== 'pause' && request.operation !== 'play') throw mediaError('mixing');
    this.setStatus(publication, kindsOf(request.data), request.operation === 'play' ? 'active' : 'inactive');
  }

  /** A stream as the management API sees it: only streams past their `ready` exist there (SPEC-MEDIA M7). */
  stream(streamId: string): StreamInfo {
    return this.streamInfo(this.readyPublication(streamId));
  }

  /** The management API's pause and play: the same effect and notifications as the owner's `stream-control`. */
  controlStream(streamId: string, updates: unknown[]): StreamInfo {
    const publication = this.readyPublication(streamId);
    for (const { kind, status } of parseStreamUpdates(updates)) this.setStatus(publication, [kind], status);
    return this.streamInfo(publication);
  }

  /** The management API's unpublish; its owner, who did not ask for it, is told as of a failure. */
  removeStream(streamId: string): void {
    this.failSession(this.readyPublication(streamId), MediaErrors.stoppedByService);
  }

  subscriptionControl(participantId: string, request: SubscriptionControlRequest): void {
    this.permission(participantId);
    const subscription = this.subscriptions.get(request.id);
    if (!subscription) throw mediaError('subscriptionNotFound');
    if (subscription.owner !== participantId) throw mediaError('unauthorized');
    const node = this.deps.link.known;
    if (request.operation !== 'update') {
      const active = request.operation === 'play';
      const tracks = subscription.tracks.filter((track) => kindsOf(request.data).includes(track.type));
      for (const track of tracks) track.active = active;
      node?.cast('setActive', [subscription.transportId, subscription.id, tracks.map((track) => track.mid), active]);
      return;
    }
    // Every change is checked before any is made.
    const switches = (['audio', 'video'] as const).flatMap((type) => {
      const update = request.data[type];
      const track = subscription.tracks.find((candidate) => candidate.type === type);
      if (!update) return [];
      if (!track) throw mediaError('unsatisfied', type, Unsatisfied.noTrack(type));
      const current = this.publications.get(track.source.publication)?.tracks.find((candidate) => candidate.mid === track.source.mid);
      const source = update.from === undefined ? undefined : this.sourceOf(update.from, type);
      const next = source?.track ?? current;
      if (!next) throw mediaError('sourceLoss');
      const parameters = 'parameters' in update ? update.parameters : undefined;
      if (needsTranscoding(current?.format, parameters, next)) throw mediaError('transcoding');
      return source ? [{ track, source }] : [];
    });
    for (const { track, source } of switches) {
      track.source = { publication: source.publication.id, mid: source.track.mid };
      node?.cast('switchSource', [subscription.transportId, subscription.id, track.mid, { transport: source.publication.transportId, mid: source.track.mid }]);
    }
  }

  onMediaEvent(event: MediaEvent): void {
    if (event.type === 'transport-failed') {
      const transport = this.transports.get(event.transportId);
      if (transport) this.closeTransport(transport, event.reason);
      return;
    }
    const session = this.publications.get(event.sessionId) ?? this.subscriptions.get(event.sessionId);
    if (!session || session.transportId !== event.transportId || session.ready) return;
    session.ready = true;
    if (session.kind === 'publication') {
      for (const { mid, format } of event.tracks) {
        const track = session.tracks.find((candidate) => candidate.mid === mid);
        if (track) track.format = format;
      }
    }
    this.deps.notify(session.owner, 'progress', { id: session.transportId, sessionId: session.id, status: 'ready' });
    if (session.kind === 'publication') this.announce([], { id: session.id, status: 'add', data: this.streamInfo(session) });
  }

  /** The room's webrtc node or its agent died: every transport on it is gone (SPEC-MEDIA M6). */
  onClusterEvent(event: ClusterEvent): void {
    if (!this.deps.link.isLost(event)) return;
    this.deps.link.forget();
    this.logger.warn({ event }, 'the room\'s webrtc node is gone');
    for (const transport of [...this.transports.values()]) this.closeTransport(transport, MediaErrors.mediaNodeLost, false);
  }

  /** The participant left, whatever the reason: its publications end, its subscriptions and transports close. */
  removeParticipant(participantId: string): void {
    for (const transport of [...this.transports.values()]) {
      if (transport.owner === participantId) this.closeTransport(transport);
    }
  }

  /** The room goes away with nobody left to tell: the transports close. */
  close(): void {
    for (const transport of [...this.transports.values()]) {
      this.deps.link.known?.cast('closeTransport', [transport.id]);
    }
    this.transports.clear();
    this.publications.clear();
    this.subscriptions.clear();
    this.deps.link.release();
  }

  private setStatus(publication: Publication, kinds: MediaKind[], status: TrackStatus): void {
    const changed = publication.tracks.filter((track) => kinds.includes(track.type) && track.status !== status);
    if (changed.length === 0) return;
    for (const track of changed) track.status = status;
    this.deps.link.known?.cast('setActive', [publication.transportId, publication.id, changed.map((track) => track.mid), status === 'active']);
    if (!publication.ready) return;
    for (const track of changed) {
      this.announce([], { id: publication.id, status: 'update', data: { field: `${track.type}.status`, value: status } });
    }
  }

  private readyPublication(streamId: string): Publication {
    const publication = this.publications.get(streamId);
    if (!publication?.ready) throw mediaError('streamNotFound');
    return publication;
  }

  private permission(participantId: string): Permission {
    const permission = this.deps.permissionOf(participantId);
    if (!permission) throw conferenceError('notJoined');
    return permission;
  }

  private owned(sessions: ReadonlyMap<string, Session>, participantId: string): number {
    return [...sessions.values()].filter((session) => session.owner === participantId).length;
  }

  /** A request's transport: the participant's own, or a new one named after the first session. */
  private transportFor(participantId: string, request: TransportRef, sessionId: string, exists: 'streamExists' | 'subscriptionExists'): Transport {
    const id = request.id;
    if (id !== undefined && id !== null) {
      const transport = this.transports.get(id);
      if (!transport || transport.owner !== participantId) throw mediaError('transportNotFound');
      return transport;
    }
    if (this.transports.has(sessionId)) throw mediaError(exists);
    return { id: sessionId, owner: participantId, sessions: new Set(), negotiation: Promise.resolve(), negotiated: false };
  }

  private checkMids(transport: Transport, mids: string[]): void {
    const used = new Set([...transport.sessions].flatMap((id) => this.session(id)?.tracks.map((track) => track.mid) ?? []));
    for (const mid of mids) {
      if (used.has(mid)) throw mediaError('midInUse', mid);
      used.add(mid);
    }
  }

  private addSession(transport: Transport, session: Session): void {
    this.transports.set(transport.id, transport);
    transport.sessions.add(session.id);
    if (session.kind === 'publication') this.publications.set(session.id, session);
    else this.subscriptions.set(session.id, session);
  }

  /** The room's webrtc node must be there before the request is answered; if it cannot be, the session goes. */
  private async untilMediaNode(session: Session): Promise<void> {
    try {
      await this.deps.link.address(this.deps.originOf(session.owner) ?? {});
    } catch (error) {
      if (this.session(session.id) === session) this.dropSession(session);
      throw error;
    }
    // The participant may have left meanwhile.
    if (this.session(session.id) !== session) throw conferenceError('notJoined');
  }

  private session(id: string): Session | undefined {
    return this.publications.get(id) ?? this.subscriptions.get(id);
  }

  /** Finds a ready stream's track by stream id (the track of that kind) or by track id. */
  private sourceOf(from: string, type: MediaKind): { publication: Publication; track: PublishedTrack } {
    let publication = this.publications.get(from);
    let track = publication?.tracks.find((candidate) => candidate.type === type);
    if (!publication) {
      for (const candidate of this.publications.values()) {
        const found = candidate.tracks.find((each) => `${candidate.transportId}-${each.mid}` === from);
        if (found) {
          publication = candidate;
          track = found.type === type ? found : undefined;
        }
      }
    }
    if (!publication?.ready) throw mediaError('streamNotFound');
    if (!track) throw mediaError('unsatisfied', type, Unsatisfied.noTrack(type));
    const mediaOut = this.deps.room.mediaOut as { audio?: unknown; video?: { format?: unknown } };
    const formats = (type === 'audio' ? mediaOut.audio : mediaOut.video?.format) as Array<{ codec: string; profile?: string }> | undefined;
    const format = track.format;
    const admitted = format && formats?.some((allowed) => allowed.codec.toLowerCase() === format.codec && (allowed.profile === undefined || allowed.profile === format.profile));
    if (!admitted) throw mediaError('unsatisfied', type, Unsatisfied.format);
    return { publication, track };
  }

  private plan(transport: Transport): SessionPlan[] {
    const mediaIn = this.deps.room.mediaIn as Partial<Record<MediaKind, MediaFormat[]>>;
    return [...transport.sessions].flatMap((id): SessionPlan[] => {
      const session = this.session(id);
      if (!session) return [];
      if (session.kind === 'publication') {
        return [{ type: 'publication', id, tracks: session.tracks.map(({ mid, type }) => ({ mid, kind: type, formats: mediaIn[type] ?? [] })) }];
      }
      return [{
        type: 'subscription',
        id,
        tracks: session.tracks.map(({ mid, type, source }) => ({
          mid,
          kind: type,
          source: { transport: this.publications.get(source.publication)?.transportId ?? '', mid: source.mid },
        })),
      }];
    });
  }

  private async negotiate(transport: Transport, sdp: string): Promise<void> {
    if (this.transports.get(transport.id) !== transport) throw mediaError('transportNotFound');
    const owner: TransportOwner = {
      room: this.deps.room._id,
      participant: transport.owner,
      controller: this.deps.controller,
      controllerAgent: this.deps.controllerAgent,
    };
    try {
      const node = await this.deps.link.rpc();
      const result = await node.call('negotiate', [owner, transport.id, sdp, this.plan(transport)], this.deps.config.webrtc.negotiationTimeout);
      transport.negotiated = true;
      if (this.transports.get(transport.id) !== transport) return;
      this.deps.notify(transport.owner, 'progress', { id: transport.id, status: 'soac', data: { type: 'answer', sdp: result.sdp } });
      for (const { sessionId, reason } of result.failed) {
        const session = this.session(sessionId);
        if (session?.transportId === transport.id) this.failSession(session, reason);
      }
    } catch (error) {
      // Sessions waiting for this answer would wait forever: they fail now.
      for (const id of [...transport.sessions]) {
        const session = this.session(id);
        if (session && !session.ready) this.failSession(session, messageOf(error));
      }
      throw error;
    }
  }

  private failSession(session: Session, reason: string): void {
    this.deps.notify(session.owner, 'progress', { id: session.transportId, sessionId: session.id, status: 'error', data: reason });
    this.dropSession(session);
  }

  private dropSession(session: Session): void {
    if (session.kind === 'publication') this.removePublication(session);
    else this.removeSubscription(session);
  }

  /** Ends a publication: forwarding stops, everyone hears of it, and its subscriptions end with `Source stream loss`. */
  private removePublication(publication: Publication): void {
    this.publications.delete(publication.id);
    this.detach(publication);
    if (publication.ready) this.announce([], { id: publication.id, status: 'remove' });
    for (const subscription of [...this.subscriptions.values()]) {
      if (subscription.tracks.some((track) => track.source.publication === publication.id)) this.failSession(subscription, MediaErrors.sourceLoss);
    }
  }

  private removeSubscription(subscription: Subscription): void {
    this.subscriptions.delete(subscription.id);
    this.detach(subscription);
  }

  private detach(session: Session): void {
    const transport = this.transports.get(session.transportId);
    if (!transport) return;
    transport.sessions.delete(session.id);
    this.deps.link.known?.cast('endSession', [transport.id, session.id]);
    if (transport.sessions.size === 0 && !transport.negotiated) this.forgetTransport(transport, true);
  }

  /**
   * Closes a transport with every session on it. With a reason (a failure), its owner hears of it
   * as a transport error, which ends every publication and subscription of the SDK's connection.
   */
  private closeTransport(transport: Transport, reason?: string, onNode = true): void {
    this.transports.delete(transport.id);
    for (const id of [...transport.sessions]) {
      const session = this.session(id);
      if (session?.kind === 'publication') this.removePublication(session);
      else if (session) this.removeSubscription(session);
    }
    if (reason !== undefined) this.deps.notify(transport.owner, 'progress', { id: transport.id, status: 'error', data: reason });
    this.forgetTransport(transport, onNode);
  }

  private forgetTransport(transport: Transport, onNode: boolean): void {
    this.transports.delete(transport.id);
    if (onNode) this.deps.link.known?.cast('closeTransport', [transport.id]);
    if (this.transports.size === 0) this.deps.link.release();
  }

  private announce(excludeList: string[], data: unknown): void {
    if (this.deps.room.notifying.streamChange) this.deps.broadcast(excludeList, 'stream', data);
  }

  private streamInfo(publication: Publication): StreamInfo {
    return {
      id: publication.id,
      type: 'forward',
      media: {
        tracks: publication.tracks.map(({ type, mid, source, format, status }) => ({
          id: `${publication.transportId}-${mid}`,
          type,
          source,
          format: format ?? { codec: 'unknown' },
          optional: {},
          status,
          mid,
        })),
      },
      data: null,
      info: { owner: publication.owner, type: 'webrtc', inViews: [], attributes: publication.attributes, activeInput: 'unknown' },
    };
  }
}

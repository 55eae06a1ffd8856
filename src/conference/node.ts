/** The conference node (room controller): serves NodeRpc for the one room it hosts (SPEC §4.6, §8). */
import type { AgentRpc } from '../agent/index.js';
import { rpcClient, serveRpcAndListen, type Bus, type RpcClient, type RpcHandlers } from '../bus/index.js';
import { CLUSTER_EVENTS, type ClusterEvent } from '../cluster/api.js';
import { isClusterMode, type Config } from '../config/config.js';
import { type Logger, componentLogger } from '../logger.js';
import { codeOf, messageOf } from '../protocol/errors.js';
import type { Store } from '../store/index.js';
import type { MediaEvent } from '../webrtc/api.js';
import type { HandedOver, JoinResult, NodeRpc, ParticipantDetail } from './api.js';
import { conferenceError, mediaError } from './errors.js';
import { busError } from '../bus/index.js';
import { isPlainObject, requireId, requireList, requireSeq, requireString } from '../bus/arguments.js';
import { requireAway, requireParticipantInfo } from './arguments.js';
import type { RoomMedia } from './media.js';
import { MediaNodeLink } from './media-node.js';
import {
  isPublishRequest,
  isSessionRequest,
  isSoacRequest,
  isStreamControlRequest,
  isSubscribeRequest,
  isSubscriptionControlRequest,
} from './media-requests.js';
import { portalsOnBus, type Portals } from './portals.js';
import { LiveRoom } from './room.js';

export interface ConferenceNodeDeps {
  id: string;
  agentId: string;
  config: Config;
  bus: Bus;
  store: Store;
  logger: Logger;
}

export interface ConferenceNode {
  readonly id: string;
  /** Stops serving and cancels the idle timer; safe to call more than once. */
  close(): Promise<void>;
}

const NodeStates = {
  idle: 'idle',
  initialising: 'initialising',
  hosting: 'hosting',
  closed: 'closed',
} as const;

interface Hosting {
  state: typeof NodeStates.hosting;
  room: LiveRoom;
  idleTimer: NodeJS.Timeout | undefined;
}

type HostState =
  | { state: typeof NodeStates.idle }
  | { state: typeof NodeStates.initialising; roomId: string; ready: Promise<LiveRoom> }
  | Hosting
  | { state: typeof NodeStates.closed };

const idle: HostState = { state: NodeStates.idle };

/** OWT runs one room per node; a node frees itself for another room only once its room is destroyed. */
class RoomHost {
  private host: HostState = idle;
  private readonly portals: Portals;
  private readonly agent: RpcClient<AgentRpc>;
  private readonly logger: Logger;

  constructor(private readonly deps: ConferenceNodeDeps) {
    // A delivery a portal has not taken within the reconnection timeout is one it missed; one it could not reach is asked again every check period.
    this.portals = portalsOnBus(deps.bus, deps.config.portal.reconnectionTimeout, deps.config.cluster.checkPeriod);
    this.agent = rpcClient<AgentRpc>(deps.bus, deps.agentId, deps.config.cluster.rpcTimeout);
    this.logger = componentLogger(deps.logger, 'conference-node', { node: deps.id });
  }

  handlers(): RpcHandlers<NodeRpc> {
    return {
      join: (room, participant) => this.join(room, participant),
      leave: (participantId, portal) => this.leaveOnceLoaded(participantId, portal),
      resume: (participantId, portal) => this.resume(participantId, portal),
      confirm: (room, portal, upTo, away) => this.confirm(room, portal, upTo, away),
      text: (from, to, message) => this.text(from, to, message),
      getParticipants: (room) => this.hostedRoom(room).list(),
      getParticipant: (room, participantId) =>
        this.hostedRoom(room).detail(requireId(participantId, 'participantId')),
      controlParticipant: (room, participantId, updates) => this.control(room, participantId, updates),
      dropParticipant: (room, participantId) => this.drop(room, participantId),
      getStreams: (room) => this.hostedRoom(room).media.streams(),
      getStream: (room, streamId) => this.hostedRoom(room).media.stream(requireId(streamId, 'streamId')),
      controlStream: (room, streamId, updates) =>
        this.hostedRoom(room).media.controlStream(requireId(streamId, 'streamId'), requireList(updates, 'updates')),
      removeStream: (room, streamId) => this.hostedRoom(room).media.removeStream(requireId(streamId, 'streamId')),
      destroyRoom: (room) => this.destroyRoom(room),
      publish: (participantId, streamId, request) =>
        this.mediaOf(participantId).publish(participantId, requireId(streamId, 'streamId'), valid(isPublishRequest, request, 'publish')),
      unpublish: (participantId, streamId) =>
        this.mediaOf(participantId).unpublish(participantId, valid(isSessionRequest, { id: streamId }, 'unpublish').id),
      subscribe: (participantId, subscriptionId, request) =>
        this.mediaOf(participantId).subscribe(participantId, requireId(subscriptionId, 'subscriptionId'), valid(isSubscribeRequest, request, 'subscribe')),
      unsubscribe: (participantId, subscriptionId) =>
        this.mediaOf(participantId).unsubscribe(participantId, valid(isSessionRequest, { id: subscriptionId }, 'unsubscribe').id),
      soac: (participantId, request) => this.mediaOf(participantId).soac(participantId, valid(isSoacRequest, request, 'soac')),
      streamControl: (participantId, request) =>
        this.mediaOf(participantId).streamControl(participantId, valid(isStreamControlRequest, request, 'stream-control')),
      subscriptionControl: (participantId, request) =>
        this.mediaOf(participantId).subscriptionControl(participantId, valid(isSubscriptionControlRequest, request, 'subscription-control')),
      mediaEvent: (event) => this.liveRoom()?.media.onMediaEvent(requireMediaEvent(event)),
    };
  }

  private mediaOf(participantIdArgument: unknown): RoomMedia {
    requireId(participantIdArgument, 'participantId');
    const room = this.liveRoom();
    if (!room) throw conferenceError('notJoined');
    return room.media;
  }

  /** A dead portal's participants are held for a resume elsewhere (SPEC §6, cluster-wide resume). */
  onClusterEvent(event: ClusterEvent): void {
    if (event.type === 'worker-quit' && event.purpose === 'portal') this.liveRoom()?.orphanPortal(event.id);
    this.liveRoom()?.media.onClusterEvent(event);
  }

  close(): void {
    if (this.host.state === NodeStates.hosting) {
      clearTimeout(this.host.idleTimer);
      this.host.room.close();
    }
    this.host = { state: NodeStates.closed };
  }

  private async join(roomArgument: unknown, participantArgument: unknown): Promise<JoinResult> {
    const roomId = requireId(roomArgument, 'room');
    const info = requireParticipantInfo(participantArgument);
    const room = await this.roomToJoin(roomId);
    // The node may have closed while the room was loading.
    if (this.liveRoom() !== room) throw conferenceError('roomNotFound');
    try {
      const result = room.join(info);
      this.logger.debug({ room: roomId, participant: info.id }, 'participant joined');
      return result;
    } finally {
      this.watchIdleness();
    }
  }

  /** A leave meeting the room still loading is for a join waiting on that load (its portal gave up): it follows that join. */
  private async leaveOnceLoaded(participantIdArgument: unknown, portalArgument?: unknown): Promise<void> {
    if (this.host.state === NodeStates.initialising) await this.host.ready.catch(() => undefined);
    this.leave(participantIdArgument, portalArgument);
  }

  private leave(participantIdArgument: unknown, portalArgument?: unknown): void {
    const participantId = requireId(participantIdArgument, 'participantId');
    const portal = portalArgument === undefined || portalArgument === null ? undefined : requireId(portalArgument, 'portal');
    const room = this.liveRoom();
    if (!room) throw conferenceError('notJoined');
    room.leave(participantId, portal);
    this.logger.debug({ room: room.id, participant: participantId }, 'participant left');
    this.watchIdleness();
  }

  private resume(participantIdArgument: unknown, portalArgument: unknown): HandedOver[] {
    const participantId = requireId(participantIdArgument, 'participantId');
    const portal = requireId(portalArgument, 'portal');
    const room = this.liveRoom();
    if (!room) throw conferenceError('notJoined');
    const handed = room.resume(participantId, portal);
    const unconfirmed = handed.filter(({ confirmed }) => !confirmed).length;
    this.logger.info({ room: room.id, participant: participantId, portal, handed: handed.length, unconfirmed }, 'participant resumed');
    return handed;
  }

  /** A confirmation for a room this node no longer hosts (it was destroyed meanwhile) is stale. */
  private confirm(roomArgument: unknown, portalArgument: unknown, upToArgument: unknown, awayArgument: unknown): void {
    const room = this.liveRoom();
    if (!room || room.id !== requireId(roomArgument, 'room')) return;
    room.confirm(requireId(portalArgument, 'portal'), requireSeq(upToArgument, 'upTo'), requireAway(awayArgument));
  }

  private text(fromArgument: unknown, toArgument: unknown, messageArgument: unknown): void {
    const from = requireId(fromArgument, 'from');
    const to = requireId(toArgument, 'to');
    const message = requireString(messageArgument, 'message');
    const room = this.liveRoom();
    if (!room) throw conferenceError('notJoined');
    room.text(from, to, message);
  }

  private control(roomArgument: unknown, participantIdArgument: unknown, updates: unknown): ParticipantDetail {
    const room = this.hostedRoom(roomArgument);
    return room.control(requireId(participantIdArgument, 'participantId'), requireList(updates, 'updates'));
  }

  private drop(roomArgument: unknown, participantIdArgument: unknown): ParticipantDetail {
    const room = this.hostedRoom(roomArgument);
    const dropped = room.drop(requireId(participantIdArgument, 'participantId'));
    this.logger.info({ room: room.id, participant: dropped.id }, 'participant dropped');
    this.watchIdleness();
    return dropped;
  }

  private destroyRoom(roomArgument: unknown): void {
    const room = this.hostedRoom(roomArgument);
    room.dropAll();
    this.logger.info({ room: room.id }, 'room deleted: everyone dropped');
    if (this.host.state === NodeStates.hosting) {
      clearTimeout(this.host.idleTimer);
      this.destroy(this.host);
    }
  }

  private liveRoom(): LiveRoom | undefined {
    return this.host.state === NodeStates.hosting ? this.host.room : undefined;
  }

  private hostedRoom(roomArgument: unknown): LiveRoom {
    const roomId = requireId(roomArgument, 'room');
    const room = this.liveRoom();
    if (!room || room.id !== roomId) throw conferenceError('roomNotFound');
    return room;
  }

  private roomToJoin(roomId: string): LiveRoom | Promise<LiveRoom> {
    const host = this.host;
    switch (host.state) {
      case NodeStates.closed:
        throw conferenceError('roomNotFound');
      case NodeStates.hosting:
        if (host.room.id !== roomId) throw conferenceError('roomClash');
        return host.room;
      case NodeStates.initialising:
        if (host.roomId !== roomId) throw conferenceError('roomClash');
        return host.ready;
      case NodeStates.idle:
        return this.initialise(roomId);
    }
  }

  /** Loads the room once; every join arriving meanwhile awaits the same load, and a failure leaves the node idle. */
  private initialise(roomId: string): Promise<LiveRoom> {
    const ready = this.loadRoom(roomId);
    const initialising = { state: NodeStates.initialising, roomId, ready } as const;
    this.host = initialising;
    ready.then(
      (room) => {
        if (this.host !== initialising) return;
        this.host = { state: NodeStates.hosting, room, idleTimer: undefined };
        this.logger.info({ room: roomId }, 'room initialised');
      },
      (error: unknown) => {
        this.logger.warn({ room: roomId, error: messageOf(error) }, 'room initialisation failed');
        if (this.host !== initialising) return;
        this.host = idle;
        // No join can ever succeed for a room the store lacks: give it back, or the agent keeps this node for it.
        if (codeOf(error) === 'conference.roomNotFound') this.recycle(roomId);
      },
    );
    return ready;
  }

  private async loadRoom(roomId: string): Promise<LiveRoom> {
    const stored = await this.deps.store.getRoom(roomId);
    if (!stored) throw conferenceError('roomNotFound');
    const { config } = this.deps;
    const { pingInterval, pingTimeout, reconnectionTimeout, messageBufferSize } = config.portal;
    return new LiveRoom(stored.room, this.portals, {
      maxTextLength: config.conference.maxTextLength,
      resumable: isClusterMode(config),
      reconnectionTimeout,
      // The portal's own buffer of a 1.2 client (SPEC §6), so a resume elsewhere replays as much.
      logWindowMs: pingInterval + pingTimeout + 1_000,
      logCapacity: messageBufferSize,
      onAbandoned: (participantId) => {
        if (this.liveRoom()?.has(participantId)) this.leave(participantId);
      },
      onPortalBehind: (portal, from) =>
        this.logger.warn({ room: roomId, portal, from }, 'a portal did not take a notification: holding what follows until it serves again'),
      onPortalCaughtUp: (portal, count) => this.logger.info({ room: roomId, portal, count }, 'a portal serves again: it got what it missed'),
      media: {
        config,
        link: new MediaNodeLink(this.deps.bus, config, roomId),
        controller: this.deps.id,
        controllerAgent: this.deps.agentId,
        logger: this.logger,
      },
    });
  }

  /** An empty room lives on for the idle timeout, so a quick rejoin keeps it; a join cancels the countdown. */
  private watchIdleness(): void {
    const host = this.host;
    if (host.state !== NodeStates.hosting) return;
    if (!host.room.isEmpty) {
      clearTimeout(host.idleTimer);
      host.idleTimer = undefined;
    } else if (!host.idleTimer) {
      host.idleTimer = setTimeout(() => this.destroy(host), this.deps.config.conference.idleRoomTimeout);
    }
  }

  private destroy(hosting: Hosting): void {
    if (this.host !== hosting || !hosting.room.isEmpty) return;
    const roomId = hosting.room.id;
    this.host = idle;
    this.logger.info({ room: roomId }, 'idle room destroyed');
    this.recycle(roomId);
  }

  private recycle(roomId: string): void {
    this.agent.cast('recycleNode', [this.deps.id, { room: roomId, task: roomId }]);
  }
}

/** A media request that reached the node over the bus, checked against the same schema as at the portal. */
function valid<T>(check: (value: unknown) => value is T, value: unknown, event: string): T {
  if (!check(value)) throw mediaError('invalidRequest', event);
  return value;
}

function requireMediaEvent(value: unknown): MediaEvent {
  if (!isPlainObject(value)) throw busError('invalidArgument', 'event', 'an object');
  const transportId = requireId(value['transportId'], 'event.transportId');
  if (value['type'] === 'transport-failed') return { type: 'transport-failed', transportId, reason: requireString(value['reason'], 'event.reason') };
  if (value['type'] !== 'ready') throw busError('invalidArgument', 'event.type', '"ready" or "transport-failed"');
  const tracks = requireList(value['tracks'], 'event.tracks').map((track, index) => {
    const format = isPlainObject(track) ? track['format'] : undefined;
    if (!isPlainObject(track) || !isPlainObject(format)) throw busError('invalidArgument', `event.tracks[${index}]`, 'a track with its format');
    const { codec, sampleRate, channelNum, profile } = format;
    return {
      mid: requireId(track['mid'], `event.tracks[${index}].mid`),
      format: {
        codec: requireId(codec, `event.tracks[${index}].format.codec`),
        ...(typeof sampleRate === 'number' ? { sampleRate } : {}),
        ...(typeof channelNum === 'number' ? { channelNum } : {}),
        ...(typeof profile === 'string' ? { profile } : {}),
      },
    };
  });
  return { type: 'ready', transportId, sessionId: requireId(value['sessionId'], 'event.sessionId'), tracks };
}

export async function startConferenceNode(deps: ConferenceNodeDeps): Promise<ConferenceNode> {
  const host = new RoomHost(deps);
  const served = await serveRpcAndListen<NodeRpc>(deps.bus, deps.id, host.handlers(), CLUSTER_EVENTS, (event) =>
    host.onClusterEvent(event as ClusterEvent),
  );
  let closing: Promise<void> | undefined;
  return {
    id: deps.id,
    close: () =>
      (closing ??= (async () => {
        host.close();
        await served.close();
      })()),
  };
}

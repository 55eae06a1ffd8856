/**
 * The webrtc node (SPEC-MEDIA M2): holds the transports of the room it serves, forwards each
 * publication's packets to its subscriptions, relays keyframe requests, and tells the room's
 * controller when sessions are ready and when transports fail.
 */
import { isPlainObject, requireId, requireList, requireString } from '../bus/arguments.js';
import { busError, messageOf, rpcClient, serveRpcAndListen, type Bus, type RpcHandlers, type Served } from '../bus/index.js';
import { CLUSTER_EVENTS, type ClusterEvent } from '../cluster/api.js';
import type { Config } from '../config/config.js';
import { type Logger, componentLogger } from '../logger.js';
import {
  type MediaControllerRpc,
  type MediaEvent,
  type NegotiationResult,
  type PublishedTrack,
  type SessionFailure,
  type SessionPlan,
  type SubscribedTrack,
  type TrackSource,
  type TransportOwner,
  type WebrtcNodeRpc,
  type WebrtcNodeStats,
} from './api.js';
import { admittedBy, formatOf, sameCodec, type MediaFormat } from './codecs.js';
import { createMediaEngine } from './engine.js';
import { webrtcError, WebrtcErrors } from './errors.js';
import { emptyMediaCounters, TransportStates, type IceCandidate, type MediaEngine, type MediaKind, type MediaTransport, type MLinePlan, type ReceiveTrack } from './media.js';

export interface WebrtcNodeDeps {
  id: string;
  agentId: string;
  config: Config;
  bus: Bus;
  logger: Logger;
}

export interface WebrtcNode {
  readonly id: string;
  /** Open transports, for limits and leak checks. */
  readonly transports: number;
  /** Closes every transport and stops serving; safe to call more than once. */
  close(): Promise<void>;
}

interface Track {
  kind: MediaKind;
  active: boolean;
}

interface PublicationState {
  type: 'publication';
  id: string;
  tracks: Map<string, Track & { formats: MediaFormat[] }>;
  ready: boolean;
}

interface SubscriptionState {
  type: 'subscription';
  id: string;
  tracks: Map<string, Track & { source: TrackSource; forwarding: boolean }>;
  ready: boolean;
}

type Session = PublicationState | SubscriptionState;

interface Transport {
  id: string;
  owner: TransportOwner;
  media: MediaTransport;
  sessions: Map<string, Session>;
  connectTimer: NodeJS.Timeout | undefined;
}

const kinds: readonly string[] = ['audio', 'video'];

function requireKind(value: unknown, name: string): MediaKind {
  if (typeof value !== 'string' || !kinds.includes(value)) throw busError('invalidArgument', name, '"audio" or "video"');
  return value as MediaKind;
}

function requireOwner(value: unknown): TransportOwner {
  if (!isPlainObject(value)) throw busError('invalidArgument', 'owner', 'an object');
  return {
    room: requireId(value['room'], 'owner.room'),
    participant: requireId(value['participant'], 'owner.participant'),
    controller: requireId(value['controller'], 'owner.controller'),
    controllerAgent: requireId(value['controllerAgent'], 'owner.controllerAgent'),
  };
}

function requireSource(value: unknown, name: string): TrackSource {
  if (!isPlainObject(value)) throw busError('invalidArgument', name, 'an object');
  return { transport: requireId(value['transport'], `${name}.transport`), mid: requireId(value['mid'], `${name}.mid`) };
}

function requireFormats(value: unknown, name: string): MediaFormat[] {
  return requireList(value, name).map((format, index) => {
    if (!isPlainObject(format)) throw busError('invalidArgument', `${name}[${index}]`, 'an object');
    const profile = format['profile'];
    return {
      codec: requireId(format['codec'], `${name}[${index}].codec`),
      ...(profile === undefined ? {} : { profile: requireId(profile, `${name}[${index}].profile`) }),
    };
  });
}

function requireSessionPlan(value: unknown, index: number): SessionPlan {
  const name = `sessions[${index}]`;
  if (!isPlainObject(value)) throw busError('invalidArgument', name, 'an object');
  const id = requireId(value['id'], `${name}.id`);
  const tracks = requireList(value['tracks'], `${name}.tracks`).map((track, at) => {
    const trackName = `${name}.tracks[${at}]`;
    if (!isPlainObject(track)) throw busError('invalidArgument', trackName, 'an object');
    return { track, trackName, mid: requireId(track['mid'], `${trackName}.mid`), kind: requireKind(track['kind'], `${trackName}.kind`) };
  });
  if (value['type'] === 'publication') {
    return { type: 'publication', id, tracks: tracks.map(({ track, trackName, mid, kind }) => ({ mid, kind, formats: requireFormats(track['formats'], `${trackName}.formats`) })) };
  }
  if (value['type'] === 'subscription') {
    return { type: 'subscription', id, tracks: tracks.map(({ track, trackName, mid, kind }) => ({ mid, kind, source: requireSource(track['source'], `${trackName}.source`) })) };
  }
  throw busError('invalidArgument', `${name}.type`, '"publication" or "subscription"');
}

function requireCandidate(value: unknown): IceCandidate {
  if (!isPlainObject(value)) throw busError('invalidArgument', 'candidate', 'an object');
  const { sdpMid, sdpMLineIndex } = value;
  return {
    candidate: requireString(value['candidate'], 'candidate.candidate'),
    sdpMid: typeof sdpMid === 'string' ? sdpMid : undefined,
    sdpMLineIndex: typeof sdpMLineIndex === 'number' ? sdpMLineIndex : undefined,
  };
}

function newSession(plan: SessionPlan): Session {
  if (plan.type === 'publication') {
    return {
      type: 'publication',
      id: plan.id,
      tracks: new Map(plan.tracks.map(({ mid, kind, formats }: PublishedTrack) => [mid, { kind, formats, active: true }])),
      ready: false,
    };
  }
  return {
    type: 'subscription',
    id: plan.id,
    tracks: new Map(plan.tracks.map(({ mid, kind, source }: SubscribedTrack) => [mid, { kind, source, active: true, forwarding: false }])),
    ready: false,
  };
}

class TransportHost {
  private readonly transports = new Map<string, Transport>();
  private engine: Promise<MediaEngine> | undefined;
  private readonly logger: Logger;
  /** When each publisher's track was last asked for a keyframe. */
  private readonly keyframesAsked = new WeakMap<ReceiveTrack, number>();
  /** Send tracks whose keyframe requests are already relayed. */
  private readonly watched = new WeakSet<object>();
  private closed = false;

  constructor(private readonly deps: WebrtcNodeDeps) {
    this.logger = componentLogger(deps.logger, 'webrtc-node', { node: deps.id });
  }

  get size(): number {
    return this.transports.size;
  }

  handlers(): RpcHandlers<WebrtcNodeRpc> {
    return {
      negotiate: (owner, transportId, sdp, sessions) => this.negotiate(owner, transportId, sdp, sessions),
      addCandidate: (transportId, candidate) => this.transport(transportId).media.addCandidate(requireCandidate(candidate)),
      endSession: (transportId, sessionId) => this.endSession(transportId, sessionId),
      setActive: (transportId, sessionId, mids, active) => this.setActive(transportId, sessionId, mids, active),
      switchSource: (transportId, subscriptionId, mid, source) => this.switchSource(transportId, subscriptionId, mid, source),
      requestKeyframe: (source) => {
        const track = this.receiveTrackOf(requireSource(source, 'source'));
        if (track) this.askKeyframe(track);
      },
      closeTransport: (transportId) => this.closeTransport(requireId(transportId, 'transportId')),
      stats: () => this.stats(),
    };
  }

  private async stats(): Promise<WebrtcNodeStats> {
    const engine = await this.engine?.catch(() => undefined);
    const sessions = [...this.transports.values()].flatMap((transport) => [...transport.sessions.values()]);
    return {
      ...(engine?.counters ?? emptyMediaCounters()),
      transports: this.transports.size,
      publications: sessions.filter((session) => session.type === 'publication').length,
      subscriptions: sessions.filter((session) => session.type === 'subscription').length,
    };
  }

  /** A controller that is gone leaves its transports behind: they close. */
  onClusterEvent(event: ClusterEvent): void {
    const gone = (owner: TransportOwner) =>
      (event.type === 'node-lost' && owner.controller === event.node) ||
      (event.type === 'worker-quit' && event.purpose === 'conference' && owner.controllerAgent === event.id);
    for (const transport of [...this.transports.values()]) {
      if (gone(transport.owner)) void this.closeTransport(transport.id);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const transport of this.transports.values()) clearTimeout(transport.connectTimer);
    this.transports.clear();
    const engine = await this.engine?.catch(() => undefined);
    await engine?.close();
  }

  private async negotiate(ownerArgument: unknown, transportIdArgument: unknown, sdpArgument: unknown, sessionsArgument: unknown): Promise<NegotiationResult> {
    const owner = requireOwner(ownerArgument);
    const transportId = requireId(transportIdArgument, 'transportId');
    const sdp = requireString(sdpArgument, 'sdp');
    const plans = requireList(sessionsArgument, 'sessions').map(requireSessionPlan);
    const transport = this.transports.get(transportId) ?? (await this.open(transportId, owner));
    if (transport.owner.participant !== owner.participant) throw webrtcError('notOwner');

    const planned = new Set(plans.map((plan) => plan.id));
    for (const id of [...transport.sessions.keys()]) {
      if (!planned.has(id)) this.dropSession(transport, id);
    }
    const fresh = plans.filter((plan) => !transport.sessions.has(plan.id));
    for (const plan of fresh) transport.sessions.set(plan.id, newSession(plan));

    const failed: SessionFailure[] = [];
    const fail = (session: Session, reason: string) => {
      failed.push({ sessionId: session.id, reason });
      this.dropSession(transport, session.id);
    };
    const mLines = new Map<string, MLinePlan>();
    for (const session of [...transport.sessions.values()]) {
      const lines = this.mLinesOf(session);
      if (typeof lines === 'string') fail(session, lines);
      else for (const [mid, line] of lines) mLines.set(mid, line);
    }
    const negotiation = await transport.media.negotiate(sdp, mLines);
    if (this.transports.get(transportId) !== transport) throw new Error(WebrtcErrors.transportNotFound);
    for (const session of [...transport.sessions.values()]) {
      const refusal = [...session.tracks.keys()].map((mid) => negotiation.refused.get(mid)).find((reason) => reason !== undefined);
      if (refusal !== undefined) fail(session, refusal);
    }
    for (const session of transport.sessions.values()) {
      if (session.type === 'subscription') this.watchKeyframeRequests(transport, session);
    }
    this.armConnectTimer(transport);
    this.refreshForwarding();
    this.checkReady(transport);
    return { sdp: negotiation.sdp, failed };
  }

  private async open(transportId: string, owner: TransportOwner): Promise<Transport> {
    this.engine ??= createMediaEngine(this.deps.config.webrtc);
    const engine = await this.engine;
    // Checked after the wait: another offer may have opened it, or the node closed, meanwhile.
    const opened = this.transports.get(transportId);
    if (opened) return opened;
    if (this.closed) throw webrtcError('transportNotFound');
    if (this.transports.size >= this.deps.config.webrtc.maxTransportsPerNode) throw webrtcError('tooManyTransports');
    const transport: Transport = { id: transportId, owner, media: engine.createTransport(), sessions: new Map(), connectTimer: undefined };
    this.transports.set(transportId, transport);
    transport.media.onStateChange((state) => {
      if (state === TransportStates.connected) {
        clearTimeout(transport.connectTimer);
        this.checkReady(transport);
      }
      if (state === TransportStates.failed) this.fail(transport, transport.media.failure ?? WebrtcErrors.failed);
    });
    this.logger.debug({ transport: transportId, participant: owner.participant }, 'transport opened');
    return transport;
  }

  /** The m-lines a session needs, or why it cannot have them. */
  private mLinesOf(session: Session): Map<string, MLinePlan> | string {
    const lines = new Map<string, MLinePlan>();
    for (const [mid, track] of session.tracks) {
      if (session.type === 'publication') {
        const { formats } = track as Track & { formats: MediaFormat[] };
        lines.set(mid, { direction: 'receive', kind: track.kind, accepts: (codec) => admittedBy(formats, codec) });
        continue;
      }
      const source = this.receiveTrackOf((track as Track & { source: TrackSource }).source);
      if (!source) return WebrtcErrors.sourceLoss;
      if (source.kind !== track.kind) return WebrtcErrors.sourceCodec;
      lines.set(mid, { direction: 'send', kind: track.kind, codec: source.codec, streamId: session.id });
    }
    return lines;
  }

  private receiveTrackOf(source: TrackSource): ReceiveTrack | undefined {
    const transport = this.transports.get(source.transport);
    const publishing = transport && [...transport.sessions.values()].some((session) => session.type === 'publication' && session.tracks.has(source.mid));
    return publishing ? transport.media.receiveTrack(source.mid) : undefined;
  }

  private sourceActive(source: TrackSource): boolean {
    const transport = this.transports.get(source.transport);
    for (const session of transport?.sessions.values() ?? []) {
      const track = session.type === 'publication' ? session.tracks.get(source.mid) : undefined;
      if (track) return track.active;
    }
    return false;
  }

  /** Each subscription track forwards its source while both play; one that starts asks for a keyframe. */
  private refreshForwarding(): void {
    for (const transport of this.transports.values()) {
      for (const session of transport.sessions.values()) {
        if (session.type !== 'subscription') continue;
        for (const [mid, track] of session.tracks) {
          const sendTrack = transport.media.sendTrack(mid);
          const source = this.receiveTrackOf(track.source);
          const forwarding = sendTrack !== undefined && source !== undefined && track.active && this.sourceActive(track.source);
          sendTrack?.forward(forwarding ? source! : null);
          if (forwarding && !track.forwarding && source) this.askKeyframe(source);
          track.forwarding = forwarding;
        }
      }
    }
  }

  /** A subscriber's PLI or FIR becomes a keyframe request to whatever its track forwards now. */
  private watchKeyframeRequests(transport: Transport, session: SubscriptionState): void {
    for (const [mid, track] of session.tracks) {
      const sendTrack = transport.media.sendTrack(mid);
      if (!sendTrack || this.watched.has(sendTrack)) continue;
      this.watched.add(sendTrack);
      sendTrack.onKeyframeRequest(() => {
        const source = this.receiveTrackOf(track.source);
        if (source && track.forwarding) this.askKeyframe(source);
      });
    }
  }

  /** Rate-limited: many subscribers losing a picture at once cost the publisher one keyframe. */
  private askKeyframe(source: ReceiveTrack): void {
    if (source.kind !== 'video') return;
    const now = Date.now();
    if (now - (this.keyframesAsked.get(source) ?? 0) < this.deps.config.webrtc.keyframeInterval) return;
    this.keyframesAsked.set(source, now);
    source.requestKeyframe();
  }

  private checkReady(transport: Transport): void {
    if (transport.media.state !== TransportStates.connected) return;
    for (const session of transport.sessions.values()) {
      if (session.ready) continue;
      if (session.type === 'subscription') {
        if (![...session.tracks.keys()].every((mid) => transport.media.sendTrack(mid))) continue;
        this.ready(transport, session, []);
        continue;
      }
      const tracks = [...session.tracks.keys()].map((mid) => ({ mid, track: transport.media.receiveTrack(mid) }));
      const waiting = tracks.find(({ track }) => !track?.receiving);
      if (waiting?.track) {
        waiting.track.onFirstPacket(() => this.checkReady(transport));
        continue;
      }
      if (waiting) continue;
      this.ready(transport, session, tracks.map(({ mid, track }) => ({ mid, format: formatOf(track!.codec) })));
    }
  }

  private ready(transport: Transport, session: Session, tracks: Array<{ mid: string; format: MediaFormat }>): void {
    session.ready = true;
    this.report(transport.owner, { type: 'ready', transportId: transport.id, sessionId: session.id, tracks });
  }

  private armConnectTimer(transport: Transport): void {
    if (transport.connectTimer || transport.media.state === TransportStates.connected) return;
    transport.connectTimer = setTimeout(() => {
      if (transport.media.state !== TransportStates.connected) this.fail(transport, WebrtcErrors.connectTimeout);
    }, this.deps.config.webrtc.connectTimeout);
  }

  private fail(transport: Transport, reason: string): void {
    if (this.transports.get(transport.id) !== transport) return;
    this.logger.info({ transport: transport.id, participant: transport.owner.participant, reason }, 'transport failed');
    void this.closeTransport(transport.id);
    this.report(transport.owner, { type: 'transport-failed', transportId: transport.id, reason });
  }

  private report(owner: TransportOwner, event: MediaEvent): void {
    rpcClient<MediaControllerRpc>(this.deps.bus, owner.controller, this.deps.config.cluster.rpcTimeout).cast('mediaEvent', [event]);
  }

  private transport(transportIdArgument: unknown): Transport {
    const transport = this.transports.get(requireId(transportIdArgument, 'transportId'));
    if (!transport) throw webrtcError('transportNotFound');
    return transport;
  }

  private session(transport: Transport, sessionIdArgument: unknown): Session {
    const session = transport.sessions.get(requireId(sessionIdArgument, 'sessionId'));
    if (!session) throw webrtcError('sessionNotFound');
    return session;
  }

  private endSession(transportIdArgument: unknown, sessionIdArgument: unknown): void {
    const transport = this.transport(transportIdArgument);
    this.dropSession(transport, this.session(transport, sessionIdArgument).id);
    this.refreshForwarding();
  }

  private dropSession(transport: Transport, sessionId: string): void {
    const session = transport.sessions.get(sessionId);
    if (!session) return;
    transport.sessions.delete(sessionId);
    if (session.type === 'subscription') {
      for (const mid of session.tracks.keys()) transport.media.sendTrack(mid)?.forward(null);
    }
  }

  private setActive(transportIdArgument: unknown, sessionIdArgument: unknown, midsArgument: unknown, activeArgument: unknown): void {
    const transport = this.transport(transportIdArgument);
    const session = this.session(transport, sessionIdArgument);
    const mids = requireList(midsArgument, 'mids').map((mid, index) => requireId(mid, `mids[${index}]`));
    if (typeof activeArgument !== 'boolean') throw busError('invalidArgument', 'active', 'a boolean');
    for (const mid of mids) {
      const track = session.tracks.get(mid);
      if (track) track.active = activeArgument;
    }
    this.refreshForwarding();
  }

  private switchSource(transportIdArgument: unknown, subscriptionIdArgument: unknown, midArgument: unknown, sourceArgument: unknown): void {
    const transport = this.transport(transportIdArgument);
    const session = this.session(transport, subscriptionIdArgument);
    const track = session.type === 'subscription' ? session.tracks.get(requireId(midArgument, 'mid')) : undefined;
    if (!track) throw webrtcError('sessionNotFound');
    const source = requireSource(sourceArgument, 'source');
    const next = this.receiveTrackOf(source);
    if (!next) throw webrtcError('sourceLoss');
    const sendTrack = transport.media.sendTrack(requireId(midArgument, 'mid'));
    if (sendTrack && (next.kind !== sendTrack.kind || !sameCodec(sendTrack.codec, next.codec))) {
      throw webrtcError('sourceCodec');
    }
    track.source = source;
    // Forwarding restarts from the new source, with a keyframe.
    track.forwarding = false;
    this.refreshForwarding();
  }

  private async closeTransport(transportId: string): Promise<void> {
    const transport = this.transports.get(transportId);
    if (!transport) return;
    this.transports.delete(transportId);
    clearTimeout(transport.connectTimer);
    this.refreshForwarding();
    await transport.media.close().catch((error: unknown) => {
      this.logger.warn({ transport: transportId, error: messageOf(error) }, 'could not close a transport');
    });
  }
}

export async function startWebrtcNode(deps: WebrtcNodeDeps): Promise<WebrtcNode> {
  const host = new TransportHost(deps);
  let served: Served;
  try {
    served = await serveRpcAndListen<WebrtcNodeRpc>(deps.bus, deps.id, host.handlers(), CLUSTER_EVENTS, (event) =>
      host.onClusterEvent(event as ClusterEvent),
    );
  } catch (error) {
    await host.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    id: deps.id,
    get transports() {
      return host.size;
    },
    close: () =>
      (closing ??= (async () => {
        await served.close();
        await host.close();
      })()),
  };
}

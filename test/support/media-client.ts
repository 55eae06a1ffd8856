/**
 * A participant that publishes and subscribes like the OWT JavaScript SDK: requests over its real
 * Socket.IO connection, one werift peer connection for every session (SPEC-MEDIA M3, M4).
 */
import type { MediaStreamTrack, RTCRtpTransceiver, RtpPacket } from 'werift';
import type { Notification } from '../../src/client/conference-client.js';
import type { MediaClientEvents } from '../../src/protocol/socket.js';
import type { MediaKind } from '../../src/webrtc/media.js';
import { MediaPeer, type Offer, type PumpOptions, type SyntheticSource } from './media-peer.js';
import type { JoinedClient, TestServer } from './server.js';
import { waitFor, type WaitOptions } from './wait.js';

export type MediaRequest = keyof MediaClientEvents;

export const mediaWait: WaitOptions = { timeoutMs: 15_000, intervalMs: 10 };

export interface Session {
  id: string;
  transportId: string;
}

export interface Published extends Session {
  senders: Array<{ kind: MediaKind; transceiver: RTCRtpTransceiver; track: MediaStreamTrack; source: SyntheticSource }>;
}

export interface Subscribed extends Session {
  /** What arrived on each track, by kind. */
  received: Map<MediaKind, RtpPacket[]>;
}

const source = { audio: 'mic', video: 'camera' } as const;

export function progressOf(notifications: Notification[], filter: (data: Record<string, unknown>) => boolean): Array<Record<string, unknown>> {
  return notifications
    .filter((notification) => notification.event === 'progress')
    .map((notification) => notification.data as Record<string, unknown>)
    .filter(filter);
}

export class MediaClient {
  readonly peer = new MediaPeer();
  transportId: string | undefined;

  constructor(readonly participant: JoinedClient) {}

  get id(): string {
    return this.participant.id;
  }

  get user(): string {
    return this.participant.result['user'] as string;
  }

  get notifications(): Notification[] {
    return this.participant.notifications;
  }

  /** Publishes one synthetic track per kind, sending from the start; resolves once the server said `ready`. */
  async publish(kinds: MediaKind[], attributes: Record<string, unknown> = {}, pumpOf?: (kind: MediaKind) => PumpOptions): Promise<Published> {
    const senders = kinds.map((kind) => {
      const sender = this.peer.addSender(kind);
      const synthetic = this.peer.pump(sender.track, pumpOf?.(kind) ?? { label: `${this.user} ` });
      return { kind, ...sender, source: synthetic };
    });
    const offer = await this.peer.offer();
    const tracks = senders.map(({ kind, transceiver }) => ({ type: kind, mid: transceiver.mid, source: source[kind] }));
    const session = await this.request('publish', { media: { tracks }, attributes, transport: this.transport() });
    await this.negotiate(offer);
    await this.ready(session.id);
    return { ...session, senders };
  }

  /**
   * Subscribes to a stream's tracks of each kind; resolves once the server said `ready`. Packets go
   * to `onPacket` when given (then `received` stays empty), else to `received`.
   */
  async subscribe(from: string, kinds: MediaKind[], onPacket?: (kind: MediaKind, packet: RtpPacket) => void): Promise<Subscribed> {
    const receivers = kinds.map((kind) => ({ kind, transceiver: this.peer.addReceiver(kind) }));
    const received = new Map<MediaKind, RtpPacket[]>(kinds.map((kind) => [kind, []]));
    const deliver = onPacket ?? ((kind: MediaKind, packet: RtpPacket) => received.get(kind)!.push(packet));
    for (const { kind, transceiver } of receivers) {
      transceiver.onTrack.subscribe((track) => track.onReceiveRtp.subscribe((packet) => deliver(kind, packet)));
    }
    const offer = await this.peer.offer();
    const tracks = receivers.map(({ kind, transceiver }) => ({ type: kind, mid: transceiver.mid, from }));
    const session = await this.request('subscribe', { media: { tracks }, transport: this.transport() });
    await this.negotiate(offer);
    await this.ready(session.id);
    return { ...session, received };
  }

  /** Sends an offer and the candidates after the answer, as the SDK does. */
  async negotiate(offer: Offer): Promise<void> {
    const answered = progressOf(this.notifications, (data) => data['status'] === 'soac').length;
    await this.send('soac', { id: this.transportId, signaling: { type: 'offer', sdp: offer.sdp } });
    await waitFor('the answer', () => progressOf(this.notifications, (data) => data['status'] === 'soac').length > answered || 'none', mediaWait);
    const answer = progressOf(this.notifications, (data) => data['status'] === 'soac')[answered]!;
    await this.peer.accept((answer['data'] as { sdp: string }).sdp);
    for (const candidate of offer.candidates) {
      await this.send('soac', { id: this.transportId, signaling: { type: 'candidate', candidate } });
    }
  }

  async ready(sessionId: string): Promise<void> {
    await waitFor(`"ready" for ${sessionId}`, () => {
      const [failed] = progressOf(this.notifications, (data) =>
        data['status'] === 'error' && (data['sessionId'] === sessionId || (data['sessionId'] === undefined && data['id'] === this.transportId)));
      if (failed) throw new Error(`session ${sessionId} failed: ${String(failed['data'])}`);
      const ready = progressOf(this.notifications, (data) => data['sessionId'] === sessionId && data['status'] === 'ready').length > 0;
      return ready || `not yet; the client's connection is ${this.peer.pc.connectionState}, its ICE ${this.peer.pc.iceConnectionState}`;
    }, mediaWait);
  }

  /** A publish or subscribe: remembers the transport the first one created. */
  async request(event: 'publish' | 'subscribe', payload: unknown): Promise<Session> {
    const session = (await this.send(event, payload)) as Session;
    this.transportId ??= session.transportId;
    return session;
  }

  /** Any media request, with any payload, malformed ones included. */
  send(event: MediaRequest, payload: unknown): Promise<unknown> {
    return this.participant.client.request(event, payload as never);
  }

  /** Stops sending and closes the peer connection; the signaling connection is left as it is. */
  async close(): Promise<void> {
    await this.peer.close();
  }

  private transport(): { id?: string; type: 'webrtc' } {
    return this.transportId ? { id: this.transportId, type: 'webrtc' } : { type: 'webrtc' };
  }
}

/** The `stream` notifications of one status a participant got, as their data. */
export function streamEvents(client: MediaClient, status: string): Array<Record<string, unknown>> {
  return client.notifications
    .filter((notification) => notification.event === 'stream')
    .map((notification) => notification.data as Record<string, unknown>)
    .filter((data) => data['status'] === status);
}

/** Closes each participant's peer connection, then its signaling connection. */
export async function leaveAll(...clients: MediaClient[]): Promise<void> {
  for (const client of clients) {
    await client.close();
    client.participant.client.close();
  }
}

/** A participant of `room` on the test server, ready to publish and subscribe. */
export async function mediaParticipant(t: TestServer, room: string, user: string, role = 'presenter'): Promise<MediaClient> {
  return new MediaClient(await t.join({ room, user, role }));
}

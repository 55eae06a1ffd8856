/**
 * The OWT SDK test page: loads the unmodified SDK as ES modules (served at /owt/) and offers the tests
 * `window.owt` (see OwtHarness). It only watches the SDK: the Socket.IO client the SDK asks for is
 * the real one, wrapped to record each acknowledged request.
 */
import { Base, Conference } from '/owt/export.js';
import type { AckRecord, MediaKind, OwtHarness, ReceivedMedia, StreamSummary } from '../owt-harness-api.js';

interface SocketLike {
  emit(event: string, ...args: unknown[]): unknown;
  connected: boolean;
  io: { engine?: { transport?: { name: string } } };
}
type Io = (uri: string, options?: unknown) => SocketLike;
const page = window as unknown as { io: Io; owt: OwtHarness };

const events: string[] = [];
const acks: AckRecord[] = [];
const sockets: SocketLike[] = [];
const peerStates: string[] = [];

const realIo = page.io;
page.io = Object.assign((uri: string, options?: unknown) => {
  const socket = realIo(uri, options);
  const emit = socket.emit.bind(socket);
  socket.emit = (event: string, ...args: unknown[]) => {
    const ack = args.at(-1);
    if (typeof ack === 'function') {
      args[args.length - 1] = (status: string, data: unknown) => {
        acks.push({ event, status, data });
        ack(status, data);
      };
    }
    return emit(event, ...args);
  };
  sockets.push(socket);
  return socket;
}, realIo);

const client = new Conference.ConferenceClient();
let publication: Base.Publication | undefined;
const subscriptions = new Map<string, { subscription: Conference.Subscription; video: HTMLVideoElement }>();

function summary(stream: Base.RemoteStream): StreamSummary {
  return { id: stream.id, owner: stream.origin, audio: Boolean(stream.source.audio), video: Boolean(stream.source.video) };
}

/**
 * Records `name-type@id:detail` each time the target fires one of `types`, with the kind of a
 * mute or the message of an error as the detail.
 */
function record(target: { addEventListener: Base.LocalStream['addEventListener'] }, name: string, types: string[], id = ''): void {
  for (const type of types) {
    target.addEventListener(type, (event) => {
      const detail = event.kind ?? event.error?.message;
      events.push(`${name}-${type}${id ? `@${id}` : ''}${detail ? `:${detail}` : ''}`);
    });
  }
}

client.addEventListener('streamadded', (event) => {
  if (!event.stream) return;
  events.push(`streamadded@${event.stream.id}`);
  record(event.stream, 'stream', ['ended'], event.stream.id);
});
client.addEventListener('serverdisconnected', () => events.push('serverdisconnected'));

function remoteStream(id: string): Base.RemoteStream {
  const stream = client.info?.remoteStreams.find((candidate) => candidate.id === id);
  if (!stream) throw new Error(`no remote stream ${id}; known: ${JSON.stringify(client.info?.remoteStreams.map(summary))}`);
  return stream;
}

function currentPublication(): Base.Publication {
  if (!publication) throw new Error('nothing published');
  return publication;
}

async function received(streamId: string): Promise<ReceivedMedia> {
  const entry = subscriptions.get(streamId);
  const peer = client.peerConnection;
  if (!entry || !peer) throw new Error(`no subscription to ${streamId}`);
  const { subscription, video } = entry;
  const videoTrack = subscription.stream.getVideoTracks()[0]?.id;
  const audioTrack = subscription.stream.getAudioTracks()[0]?.id;
  const media: ReceivedMedia = { framesDecoded: 0, videoWidth: video.videoWidth, audioPackets: 0 };
  (await peer.getStats()).forEach((stats: { type: string; trackIdentifier?: string; framesDecoded?: number; packetsReceived?: number }) => {
    if (stats.type !== 'inbound-rtp') return;
    if (stats.trackIdentifier === videoTrack) media.framesDecoded = stats.framesDecoded ?? 0;
    if (stats.trackIdentifier === audioTrack) media.audioPackets = stats.packetsReceived ?? 0;
  });
  return media;
}

page.owt = {
  async join(token) {
    const info = await client.join(token);
    const peer = client.peerConnection;
    peer?.addEventListener('connectionstatechange', () => peerStates.push(peer.connectionState));
    for (const stream of info.remoteStreams) record(stream, 'stream', ['ended'], stream.id);
    return { self: info.self.id, streams: info.remoteStreams.map(summary) };
  },

  async publish() {
    const constraints = new Base.StreamConstraints(new Base.AudioTrackConstraints('mic'), new Base.VideoTrackConstraints('camera'));
    const media = await Base.MediaStreamFactory.createMediaStream(constraints);
    const published = await client.publish(new Base.LocalStream(media, new Base.StreamSourceInfo('mic', 'camera')));
    record(published, 'publication', ['ended', 'error', 'mute', 'unmute']);
    publication = published;
    return published.id;
  },

  streams: () => client.info?.remoteStreams.map(summary) ?? [],

  async subscribe(streamId) {
    const subscription = await client.subscribe(remoteStream(streamId));
    record(subscription, 'subscription', ['ended', 'error'], streamId);
    const video = document.createElement('video');
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    video.srcObject = subscription.stream;
    document.body.append(video);
    subscriptions.set(streamId, { subscription, video });
    return subscription.id;
  },

  received,
  mute: (kind: MediaKind) => currentPublication().mute(kind),
  unmute: (kind: MediaKind) => currentPublication().unmute(kind),
  unpublish: () => currentPublication().stop(),
  send: (message) => client.send(message),
  leave: () => client.leave(),
  events: () => [...events],
  acks: () => [...acks],
  transports: () => sockets.map((socket) => (socket.connected ? socket.io.engine?.transport?.name ?? 'none' : 'disconnected')),
  peerStates: () => [...peerStates],
};

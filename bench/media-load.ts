/**
 * Bench child of the media bench: the synthetic publisher and/or subscribers, as werift library
 * clients through Conclave or the bare werift forwarder, or as plain UDP sockets for the relay.
 */
import { createSocket, type Socket } from 'node:dgram';
import { RtpHeader, RtpPacket } from 'werift';
import { ConferenceClient, type Notification } from '../src/client/conference-client.js';
import type { MediaKind } from '../src/webrtc/media.js';
import { MediaClient } from '../test/support/media-client.js';
import { messageOf } from '../src/bus/index.js';
import { MediaPeer, type Offer, type SyntheticSource } from '../test/support/media-peer.js';
import { waitFor } from '../test/support/wait.js';
import { serveParent } from './ipc.js';
import { indexOf, kindOfPayloadType, load, mediaKinds, sentAtOf, stampedPayload, type MediaLoadMethods, type Reception, type SentRanges } from './media-api.js';
import { inPool, preciseNow } from './stats.js';
import { usageOf } from './usage.js';

/** Joins and DTLS handshakes at once per generator: each handshake costs a burst of CPU. */
const SETUP_CONCURRENCY = 4;
const CONNECT_WAIT = { timeoutMs: 30_000, intervalMs: 20 };
/** How often the plain UDP publisher sends its due packets. */
const TICK_MS = 10;

const pumpOf = (kind: MediaKind) => ({ periodMs: TICK_MS, rate: load[kind].rate, payload: (index: number) => stampedPayload(kind, index) });

type Sink = (kind: MediaKind, payload: Uint8Array) => void;
const uncounted: Sink = () => undefined;

/** What each subscriber received while recording: by kind, index → delay in ms. */
class Recorder {
  private readonly slots: Array<Record<MediaKind, Map<number, number>>> = [];
  private nacked = 0;
  private recording = false;

  /** A new subscriber's packet sink. */
  slot(): Sink {
    const slot = { video: new Map<number, number>(), audio: new Map<number, number>() };
    this.slots.push(slot);
    return (kind, payload) => {
      if (!this.recording) return;
      const index = indexOf(payload);
      if (!slot[kind].has(index)) slot[kind].set(index, preciseNow() - sentAtOf(payload));
    };
  }

  nack(count: number): void {
    if (this.recording) this.nacked += count;
  }

  start(): void {
    this.recording = true;
  }

  collect(ranges: SentRanges): Reception {
    const reception: Reception = { subscribers: this.slots.length, received: 0, lost: 0, nacked: this.nacked, silent: 0, delaysMs: [] };
    for (const slot of this.slots) {
      const receivedBefore = reception.received;
      for (const kind of mediaKinds) {
        const [first, end] = ranges[kind];
        for (let index = first; index < end; index++) {
          const delay = slot[kind].get(index);
          if (delay === undefined) reception.lost += 1;
          else {
            reception.received += 1;
            reception.delaysMs.push(delay);
          }
        }
        slot[kind].clear();
      }
      if (reception.received === receivedBefore) reception.silent += 1;
    }
    this.recording = false;
    this.nacked = 0;
    return reception;
  }

  clear(): void {
    this.slots.length = 0;
    this.recording = false;
    this.nacked = 0;
  }
}

/** Sends the load as plain RTP datagrams, at the same rates and with the same payloads as the werift publishers. */
function udpPublisher(socket: Socket, port: number): Record<MediaKind, SyntheticSource> & { stop(): void } {
  const startedAt = performance.now();
  const sent = { video: 0, audio: 0 };
  const timer = setInterval(() => {
    for (const kind of mediaKinds) {
      const due = Math.floor(((performance.now() - startedAt) * load[kind].rate) / 1_000);
      for (; sent[kind] < due; sent[kind]++) {
        const index = sent[kind];
        const header = new RtpHeader({ payloadType: load[kind].payloadType, sequenceNumber: index & 0xffff, timestamp: index * 960, ssrc: 1 });
        socket.send(new RtpPacket(header, stampedPayload(kind, index)).serialize(), port, '127.0.0.1');
      }
    }
  }, TICK_MS);
  const source = (kind: MediaKind): SyntheticSource => ({ get sent() { return sent[kind]; }, stop: () => clearInterval(timer) });
  return { video: source('video'), audio: source('audio'), stop: () => clearInterval(timer) };
}

const recorder = new Recorder();
const clients: ConferenceClient[] = [];
const peers: MediaPeer[] = [];
const sockets: Socket[] = [];
/** Peers waiting for the forwarder's answer, with where their packets go once they are counted. */
let pendingPeers: Array<{ peer: MediaPeer; subscriber: boolean; sink: Sink }> = [];
let sources: Record<MediaKind, SyntheticSource> | undefined;
let marked: Record<MediaKind, number> | undefined;

async function joined(portalUrl: string, token: string): Promise<MediaClient> {
  const client = new ConferenceClient(portalUrl, { socket: { transports: ['websocket'] } });
  clients.push(client);
  const notifications: Notification[] = [];
  client.on('notification', (notification: Notification) => notifications.push(notification));
  const result = await client.join(token);
  const media = new MediaClient({ client, id: result['id'] as string, result, notifications });
  peers.push(media.peer);
  return media;
}

/** Counts the NACKs a subscriber's peer sends. */
function watchPeer(peer: MediaPeer): void {
  for (const transceiver of peer.pc.getTransceivers()) {
    transceiver.receiver.onPacketLost.subscribe((nack) => recorder.nack(nack.lost.length));
  }
}

function sourcesOf(senders: Array<{ kind: MediaKind; source: SyntheticSource }>): Record<MediaKind, SyntheticSource> {
  return { video: senders.find((sender) => sender.kind === 'video')!.source, audio: senders.find((sender) => sender.kind === 'audio')!.source };
}

const methods: MediaLoadMethods = {
  usage: () => usageOf(false),
  conclavePublish: async (portalUrl, token) => {
    const media = await joined(portalUrl, token);
    const published = await media.publish([...mediaKinds], {}, pumpOf);
    sources = sourcesOf(published.senders);
    return published.id;
  },
  conclaveSubscribe: async (portalUrl, tokens, publication) => {
    const failures: string[] = [];
    // A subscriber whose set-up fails is left out of the counts rather than ending the run.
    await inPool(tokens, SETUP_CONCURRENCY, async (token) => {
      try {
        const media = await joined(portalUrl, token);
        let sink = uncounted;
        await media.subscribe(publication, [...mediaKinds], (kind, packet) => sink(kind, packet.payload));
        sink = recorder.slot();
        watchPeer(media.peer);
      } catch (error) {
        failures.push(messageOf(error));
      }
    });
    return failures;
  },
  peerOffers: async (role, count) => {
    pendingPeers = Array.from({ length: count }, () => ({ peer: new MediaPeer(), subscriber: role === 'subscriber', sink: uncounted }));
    peers.push(...pendingPeers.map(({ peer }) => peer));
    return Promise.all(
      pendingPeers.map((pending) => {
        const { peer } = pending;
        if (!pending.subscriber) {
          sources = sourcesOf(mediaKinds.map((kind) => ({ kind, source: peer.pump(peer.addSender(kind).track, pumpOf(kind)) })));
        } else {
          for (const kind of mediaKinds) {
            peer.addReceiver(kind).onTrack.subscribe((track) => track.onReceiveRtp.subscribe((packet) => pending.sink(kind, packet.payload)));
          }
        }
        return peer.offer();
      }),
    ) satisfies Promise<Offer[]>;
  },
  peerAnswers: async (answers) => {
    const answered = pendingPeers;
    pendingPeers = [];
    const failures: string[] = [];
    await inPool(answered, SETUP_CONCURRENCY, async (pending, index) => {
      try {
        await pending.peer.accept(answers[index]!);
        await waitFor('a bare werift connection', () => pending.peer.connected || pending.peer.pc.connectionState, CONNECT_WAIT);
        if (!pending.subscriber) return;
        pending.sink = recorder.slot();
        watchPeer(pending.peer);
      } catch (error) {
        failures.push(messageOf(error));
      }
    });
    return failures;
  },
  udpSubscribers: async (count) =>
    Promise.all(
      Array.from({ length: count }, async () => {
        const socket = createSocket('udp4');
        sockets.push(socket);
        const sink = recorder.slot();
        socket.on('message', (message) => {
          const kind = kindOfPayloadType(message[1]! & 0x7f);
          // A datagram without extensions or CSRCs: the payload follows the 12-byte header.
          if (kind) sink(kind, message.subarray(12));
        });
        await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
        return socket.address().port;
      }),
    ),
  udpPublish: (port) => {
    const socket = createSocket('udp4');
    sockets.push(socket);
    const publisher = udpPublisher(socket, port);
    sources = publisher;
    socket.once('close', () => publisher.stop());
  },
  record: () => recorder.start(),
  markStart: () => {
    if (!sources) throw new Error('this generator publishes nothing');
    marked = { video: sources.video.sent, audio: sources.audio.sent };
  },
  markEnd: () => {
    if (!sources || !marked) throw new Error('no measurement was started');
    return { video: [marked.video, sources.video.sent], audio: [marked.audio, sources.audio.sent] };
  },
  collect: (ranges) => recorder.collect(ranges),
  closeAll: async () => {
    sources?.video.stop();
    sources?.audio.stop();
    sources = undefined;
    marked = undefined;
    recorder.clear();
    await Promise.all(peers.splice(0).map((peer) => peer.close()));
    for (const client of clients.splice(0)) client.close();
    for (const socket of sockets.splice(0)) socket.close();
  },
};

serveParent<MediaLoadMethods>(methods, () => methods.closeAll());

/**
 * Bench child of the media bench: the two baselines Conclave's forwarding is compared with. A bare
 * Node `dgram` relay (plain RTP, no ICE, DTLS or SRTP: what the transport costs), and a minimal
 * werift forwarder (one bare RTCPeerConnection per peer, each packet copied to every subscriber
 * track: what the library costs).
 */
import { createSocket, type Socket } from 'node:dgram';
import {
  RTCPeerConnection,
  RtpHeader,
  RtpPacket,
  useAbsSendTime,
  useNACK,
  useOPUS,
  usePLI,
  useREMB,
  useSdesMid,
  useVP8,
  type RTCRtpTransceiver,
} from 'werift';
import type { MediaKind } from '../src/webrtc/media.js';
import type { Offer } from '../test/support/media-peer.js';
import { serveParent } from './ipc.js';
import type { RelayMethods } from './media-api.js';
import { usageOf } from './usage.js';

/** The payload types the bench's clients offer, so that packets pass unchanged but for the copy. */
const codecs = {
  audio: [useOPUS({ payloadType: 111 })],
  video: [useVP8({ payloadType: 96, rtcpFeedback: [useNACK(), usePLI(), useREMB()] })],
};
const headerExtensions = { audio: [useSdesMid(), useAbsSendTime()], video: [useSdesMid(), useAbsSendTime()] };

const peerConnection = () =>
  new RTCPeerConnection({
    codecs,
    headerExtensions,
    bundlePolicy: 'max-bundle',
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
  });

let publisherSocket: Socket | undefined;
const relaySockets: Array<{ socket: Socket; port: number }> = [];
const connections: RTCPeerConnection[] = [];
const subscriberTracks: Record<MediaKind, RTCRtpTransceiver[]> = { video: [], audio: [] };

function forward(kind: MediaKind, packet: RtpPacket): void {
  for (const transceiver of subscriberTracks[kind]) {
    // werift's sender rewrites the packet it is given: one copy each.
    const copy = new RtpPacket(new RtpHeader({ ...packet.header, extensions: [] }), packet.payload);
    transceiver.sender.sendRtp(copy).catch(() => undefined);
  }
}

async function answer(offer: Offer, receive: boolean): Promise<string> {
  const pc = peerConnection();
  connections.push(pc);
  pc.onRemoteTransceiverAdded.subscribe((transceiver) => transceiver.setDirection(receive ? 'recvonly' : 'sendonly'));
  if (receive) {
    pc.onTransceiverAdded.subscribe((transceiver) => {
      transceiver.onTrack.subscribe((track) => {
        const kind = track.kind as MediaKind;
        track.onReceiveRtp.subscribe((packet) => forward(kind, packet));
      });
    });
  }
  await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
  await pc.setLocalDescription(await pc.createAnswer());
  for (const { candidate, sdpMid, sdpMLineIndex } of offer.candidates) {
    await pc.addIceCandidate({ candidate: candidate.replace(/^a=/, ''), sdpMid: sdpMid ?? undefined, sdpMLineIndex: sdpMLineIndex ?? undefined });
  }
  if (!receive) {
    for (const transceiver of pc.getTransceivers()) subscriberTracks[transceiver.kind as MediaKind].push(transceiver);
  }
  return pc.localDescription!.sdp;
}

const methods: RelayMethods = {
  usage: (collectGarbage) => usageOf(collectGarbage),
  udpRelay: async (subscriberPorts) => {
    for (const port of subscriberPorts) {
      const socket = createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      relaySockets.push({ socket, port });
    }
    if (!publisherSocket) {
      const socket = createSocket('udp4');
      socket.on('message', (message) => {
        for (const relay of relaySockets) relay.socket.send(message, relay.port, '127.0.0.1');
      });
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      publisherSocket = socket;
    }
    return publisherSocket.address().port;
  },
  weriftAnswer: (role, offers) => Promise.all(offers.map((offer) => answer(offer, role === 'publisher'))),
  weriftStates: () => {
    const states: Record<string, number> = {};
    for (const pc of connections) states[pc.connectionState] = (states[pc.connectionState] ?? 0) + 1;
    return states;
  },
  closeAll: async () => {
    for (const { socket } of relaySockets.splice(0)) socket.close();
    publisherSocket?.close();
    publisherSocket = undefined;
    subscriberTracks.video.length = 0;
    subscriberTracks.audio.length = 0;
    await Promise.all(connections.splice(0).map((pc) => pc.close()));
  },
};

serveParent<RelayMethods>(methods, () => methods.closeAll());

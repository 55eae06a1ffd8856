/** The webrtc node's media layer on each engine, client to client through it (werift clients), on 127.0.0.1 only. */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  GenericNack,
  RTCRtpCodecParameters,
  RtcpRrPacket,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  useAbsSendTime,
  useAudioLevelIndication,
  useNACK,
  usePLI,
  useSdesMid,
  type RTCRtpHeaderExtensionParameters,
  type RTCRtpTransceiver,
  type RtpPacket,
} from 'werift';
import { createDatachannelEngine } from '../../src/webrtc/datachannel/index.js';
import { parseOffer } from '../../src/webrtc/datachannel/offer.js';
import { createWeriftEngine } from '../../src/webrtc/werift/index.js';
import { admittedBy } from '../../src/webrtc/codecs.js';
import { TransportStates, type MediaEngine, type MediaEngineOptions, type MediaTransport, type MLinePlan, type ReceiveTrack } from '../../src/webrtc/media.js';
import { WebrtcErrors } from '../../src/webrtc/errors.js';
import { MediaPeer, openUdpSockets, type Offer } from '../support/media-peer.js';
import { waitFor } from '../support/wait.js';

const settle = { timeoutMs: 10_000, intervalMs: 10 };

const engines: Record<string, (options: MediaEngineOptions) => MediaEngine> = {
  werift: createWeriftEngine,
  datachannel: createDatachannelEngine,
};

/** The engine of the suite under way. */
let engine: MediaEngine;
let socketsBefore: number;

const receiveAny = (kind: 'audio' | 'video'): MLinePlan => ({ direction: 'receive', kind, accepts: () => true });

async function negotiate(peer: MediaPeer, transport: MediaTransport, plan: Map<string, MLinePlan>, offer?: Offer) {
  const { sdp, candidates } = offer ?? (await peer.offer());
  const negotiation = await transport.negotiate(sdp, plan);
  await peer.accept(negotiation.sdp);
  for (const candidate of candidates) await transport.addCandidate(candidate);
  return negotiation;
}

/** Keeps every packet the client receives on the transceiver (werift makes its track when the answer is applied). */
function record(transceiver: RTCRtpTransceiver, packets: RtpPacket[]): void {
  transceiver.onTrack.subscribe((track) => track.onReceiveRtp.subscribe((packet) => packets.push(packet)));
}

function midsOf(peer: MediaPeer): string[] {
  return peer.pc.getTransceivers().map((transceiver) => transceiver.mid!);
}

/** The m-line of `mid` is answered inactive on the bundle's port (9), not rejected with port 0. */
function assertInactiveOnBundlePort(sdp: string, mid: string): void {
  const section = sdp.split(/\r\n(?=m=)/).find((candidate) => candidate.includes(`\r\na=mid:${mid}\r\n`));
  assert.ok(section, `no m-line for mid ${mid}`);
  assert.match(section, /^m=\S+ 9 /);
  assert.match(section, /\r\na=inactive\r\n/);
}

/** A publisher with a video and an audio track, connected and sending. */
async function publisher() {
  const peer = new MediaPeer();
  const video = peer.addSender('video');
  const audio = peer.addSender('audio');
  const transport = engine.createTransport();
  const offer = await peer.offer();
  const [videoMid, audioMid] = midsOf(peer) as [string, string];
  const negotiation = await negotiate(peer, transport, new Map([[videoMid, receiveAny('video')], [audioMid, receiveAny('audio')]]), offer);
  const pumps = [peer.pump(video.track), peer.pump(audio.track)];
  await waitFor('the publisher to connect', () => transport.state === 'connected' || transport.state, settle);
  const videoTrack = transport.receiveTrack(videoMid)!;
  const audioTrack = transport.receiveTrack(audioMid)!;
  await waitFor('packets from the publisher', () => (videoTrack.receiving && audioTrack.receiving) || 'not yet', settle);
  return {
    peer, transport, negotiation, video, videoTrack, audioTrack, videoPump: pumps[0]!,
    stop: async () => {
      for (const pump of pumps) pump.stop();
      await transport.close();
      await peer.close();
    },
  };
}

/** A subscriber to the given source tracks, connected; it records what arrives per kind. */
async function subscriber(
  sources: ReceiveTrack[],
  codecs = MediaPeer.codecs(),
  headerExtensions?: { audio: RTCRtpHeaderExtensionParameters[]; video: RTCRtpHeaderExtensionParameters[] },
) {
  const peer = new MediaPeer({ codecs, ...(headerExtensions ? { headerExtensions } : {}) });
  const receivers = sources.map((source) => peer.addReceiver(source.kind));
  const received = new Map<string, RtpPacket[]>([['audio', []], ['video', []]]);
  for (const receiver of receivers) record(receiver, received.get(receiver.kind)!);
  const transport = engine.createTransport();
  const offer = await peer.offer();
  const plan = new Map<string, MLinePlan>(
    receivers.map((receiver, index) => [receiver.mid!, { direction: 'send', kind: sources[index]!.kind, codec: sources[index]!.codec, streamId: 'subscription-1' }]),
  );
  const negotiation = await negotiate(peer, transport, plan, offer);
  receivers.forEach((receiver, index) => transport.sendTrack(receiver.mid!)!.forward(sources[index]!));
  await waitFor('the subscriber to connect', () => transport.state === 'connected' || transport.state, settle);
  return { peer, transport, negotiation, receivers, received, stop: async () => {
    await transport.close();
    await peer.close();
  } };
}

describe('reading an offer for node-datachannel', () => {
  test('values that are not well formed are left out, as if their line were absent', () => {
    const sdp = [
      'v=0', 'o=- 1 0 IN IP4 0.0.0.0', 's=-', 't=0 0',
      'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 300 x',
      'a=mid:0', 'a=sendonly',
      'a=rtpmap:96 VP8/90000', 'a=rtpmap:97 VP8/x', 'a=rtpmap:98 H264/90000/0x2', 'a=rtpmap:99 VP9 /90000', 'a=rtpmap:300 VP8/90000',
      'a=fmtp:96 max-fr=30\u0001', 'a=rtcp-fb:96 nack',
      'a=extmap:1/sendrecv urn:ietf:params:rtp-hdrext:sdes:mid', 'a=extmap:NaN urn:a', 'a=extmap:0 urn:b', 'a=extmap:256 urn:c',
      ' a=extmap:2 urn:ietf:params:rtp-hdrext:sdes:mid',
      'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:1', 'a=rtpmap:111 opus/48000/two',
    ].join('\r\n');
    const [video, audio] = parseOffer(sdp);
    assert.deepEqual(video!.codecs.map(({ payloadType, mimeType, clockRate, parameters }) => ({ payloadType, mimeType, clockRate, parameters })), [
      { payloadType: 96, mimeType: 'video/VP8', clockRate: 90_000, parameters: undefined },
    ]);
    assert.deepEqual(video!.codecs[0]!.feedback, ['nack']);
    assert.deepEqual([...video!.extensions], [[1, 'urn:ietf:params:rtp-hdrext:sdes:mid']]);
    assert.deepEqual(audio!.codecs, []);
  });
});

/** Loopback only, ports of this file's range, no ICE server, no bitrate cap or packet-rate limit, but for `overrides`. */
function engineOptions(overrides: Partial<MediaEngineOptions>): MediaEngineOptions {
  return {
    listenIp: '127.0.0.1',
    announcedIp: '127.0.0.1',
    portRange: [21_000, 21_999],
    iceServers: [],
    iceUsername: '',
    iceCredential: '',
    maxBitrate: 0,
    maxPacketRate: 0,
    ...overrides,
  };
}

for (const [name, createEngine] of Object.entries(engines)) describe(`the ${name} media layer`, () => {
  before(() => {
    socketsBefore = openUdpSockets();
    engine = createEngine(engineOptions({ maxBitrate: 1_000_000 }));
  });
  // A test that fails halfway leaves no peer behind to disturb the next ones.
  afterEach(() => MediaPeer.closeAll());
  after(async () => {
    await MediaPeer.closeAll();
    await engine.close();
  });

  test('an answer carries the server candidates (127.0.0.1 only), no transport-cc, one codec per m-line', async () => {
    const pub = await publisher();
    try {
      const { sdp } = pub.negotiation;
      const candidates = sdp.split('\r\n').filter((line) => line.startsWith('a=candidate:'));
      assert.ok(candidates.length > 0);
      for (const line of candidates) assert.match(line, / 127\.0\.0\.1 \d+ typ host/);
      assert.doesNotMatch(sdp, /transport-cc|transport-wide-cc/);
      assert.match(sdp, /a=rtcp-fb:96 nack\r\n/);
      assert.match(sdp, /a=rtcp-fb:96 nack pli/);
      assert.match(sdp, /a=rtcp-fb:96 goog-remb/);
      const videoSection = sdp.slice(sdp.indexOf('m=video'), sdp.indexOf('m=audio'));
      assert.match(videoSection, /^m=video \d+ UDP\/TLS\/RTP\/SAVPF 96 97\r\n/m);
      assert.deepEqual(pub.videoTrack.codec.mimeType.toLowerCase(), 'video/vp8');
      assert.equal(pub.audioTrack.codec.mimeType.toLowerCase(), 'audio/opus');
    } finally {
      await pub.stop();
    }
  });

  test('an offer line the media library ignores is ignored here too, and the media flows', async () => {
    const peer = new MediaPeer();
    const video = peer.addSender('video');
    const transport = engine.createTransport();
    const offer = await peer.offer();
    const [videoMid] = midsOf(peer) as [string];
    // Not an attribute line (it begins with a space), so the library skips it; read as one, its id
    // would reach the library's own parser, which aborts the process on what is not a number.
    const hostile = offer.sdp.replace(/^(a=mid:.*)$/m, '$1\r\n a=extmap:x urn:ietf:params:rtp-hdrext:sdes:mid');
    const pump = peer.pump(video.track);
    try {
      const negotiation = await negotiate(peer, transport, new Map([[videoMid, receiveAny('video')]]), { ...offer, sdp: hostile });
      assert.deepEqual([...negotiation.refused], []);
      assert.doesNotMatch(negotiation.sdp, /extmap:(x|NaN)/);
      await waitFor('packets from the publisher', () => transport.receiveTrack(videoMid)?.receiving || 'not yet', settle);
    } finally {
      pump.stop();
      await transport.close();
      await peer.close();
    }
  });

  test('a subscriber receives the publisher packets, in its own payload type, with continuous sequence numbers', async () => {
    const pub = await publisher();
    const vp8 = new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90_000, payloadType: 100, rtcpFeedback: [useNACK(), usePLI()] });
    const sub = await subscriber([pub.videoTrack, pub.audioTrack], { audio: MediaPeer.codecs().audio, video: [vp8] });
    try {
      await waitFor('video and audio at the subscriber', () =>
        (sub.received.get('video')!.length >= 20 && sub.received.get('audio')!.length >= 20) || `${sub.received.get('video')!.length} video`, settle);
      const video = sub.received.get('video')!;
      assert.match(video[5]!.payload.subarray(2).toString(), /^frame \d+$/);
      assert.equal(video[5]!.header.payloadType, 100);
      for (let index = 1; index < video.length; index++) {
        assert.equal(video[index]!.header.sequenceNumber, (video[index - 1]!.header.sequenceNumber + 1) & 0xffff);
      }
      assert.match(sub.received.get('audio')![3]!.payload.toString(), /^opus \d+$/);
    } finally {
      await sub.stop();
      await pub.stop();
    }
  });

  test('a subscriber offering only another codec is refused that m-line, answered inactive inside the BUNDLE group', async () => {
    const pub = await publisher();
    const peer = new MediaPeer({ codecs: { audio: MediaPeer.codecs().audio, video: [MediaPeer.codecs().video[2]!] } });
    const video = peer.addReceiver('video');
    const audio = peer.addReceiver('audio');
    const heard: RtpPacket[] = [];
    record(audio, heard);
    const transport = engine.createTransport();
    try {
      const offer = await peer.offer();
      const plan = new Map<string, MLinePlan>([
        [video.mid!, { direction: 'send', kind: 'video', codec: pub.videoTrack.codec, streamId: 's' }],
        [audio.mid!, { direction: 'send', kind: 'audio', codec: pub.audioTrack.codec, streamId: 's' }],
      ]);
      const negotiation = await negotiate(peer, transport, plan, offer);
      assert.deepEqual([...negotiation.refused.keys()], [video.mid]);
      assert.doesNotMatch(negotiation.sdp, /transport-cc|transport-wide-cc/);
      assert.match(negotiation.sdp, new RegExp(`a=group:BUNDLE ${video.mid} ${audio.mid}\r\n`));
      assertInactiveOnBundlePort(negotiation.sdp, video.mid!);
      assert.equal(transport.sendTrack(video.mid!), undefined);
      transport.sendTrack(audio.mid!)!.forward(pub.audioTrack);
      await waitFor('audio beside the refused m-line', () => heard.length >= 5 || `${heard.length}`, settle);
    } finally {
      await transport.close();
      await peer.close();
      await pub.stop();
    }
  });

  test('a later offer adds m-lines to the same transport; an unplanned one is answered inactive', async () => {
    const pub = await publisher();
    const peer = new MediaPeer();
    const transport = engine.createTransport();
    try {
      const first = peer.addReceiver('video');
      await negotiate(peer, transport, new Map([[first.mid ?? '0', { direction: 'send', kind: 'video', codec: pub.videoTrack.codec, streamId: 'a' }]]));
      await waitFor('the subscriber to connect', () => transport.state === 'connected' || transport.state, settle);
      const second = peer.addReceiver('audio');
      const heard: RtpPacket[] = [];
      record(second, heard);
      const unplanned = peer.addReceiver('video');
      const offer = await peer.offer();
      const plan = new Map<string, MLinePlan>([
        [first.mid!, { direction: 'send', kind: 'video', codec: pub.videoTrack.codec, streamId: 'a' }],
        [second.mid!, { direction: 'send', kind: 'audio', codec: pub.audioTrack.codec, streamId: 'b' }],
      ]);
      const negotiation = await negotiate(peer, transport, plan, offer);
      assert.equal(negotiation.refused.size, 0);
      assert.match(negotiation.sdp, new RegExp(`a=group:BUNDLE ${first.mid} ${second.mid} ${unplanned.mid}\r\n`));
      assertInactiveOnBundlePort(negotiation.sdp, unplanned.mid!);
      assert.equal(transport.sendTrack(unplanned.mid!), undefined);
      transport.sendTrack(second.mid!)!.forward(pub.audioTrack);
      await waitFor('audio over the added m-line', () => heard.length >= 5 || `${heard.length}`, settle);
    } finally {
      await transport.close();
      await peer.close();
      await pub.stop();
    }
  });

  test('a later offer whose first m-lines are no longer wanted keeps them in the BUNDLE group, inactive, and the new ones flow', async () => {
    const pub = await publisher();
    const peer = new MediaPeer();
    const transport = engine.createTransport();
    try {
      const ended = peer.addReceiver('video');
      const first = await peer.offer();
      await negotiate(peer, transport, new Map([[ended.mid!, { direction: 'send', kind: 'video', codec: pub.videoTrack.codec, streamId: 'a' }]]), first);
      await waitFor('the subscriber to connect', () => transport.state === 'connected' || transport.state, settle);
      const next = peer.addReceiver('audio');
      const heard: RtpPacket[] = [];
      record(next, heard);
      const later = await peer.offer();
      // The subscription on the first m-line has ended: the plan no longer names it.
      const negotiation = await negotiate(peer, transport, new Map([[next.mid!, { direction: 'send', kind: 'audio', codec: pub.audioTrack.codec, streamId: 'b' }]]), later);
      assert.match(negotiation.sdp, new RegExp(`a=group:BUNDLE ${ended.mid} ${next.mid}\r\n`));
      assertInactiveOnBundlePort(negotiation.sdp, ended.mid!);
      assert.equal(transport.sendTrack(ended.mid!), undefined);
      transport.sendTrack(next.mid!)!.forward(pub.audioTrack);
      await waitFor('audio over the new m-line', () => heard.length >= 5 || `${heard.length}`, settle);
    } finally {
      await transport.close();
      await peer.close();
      await pub.stop();
    }
  });

  test('a subscriber PLI reaches the server, which asks the publisher for a keyframe', async () => {
    const pub = await publisher();
    const sub = await subscriber([pub.videoTrack]);
    try {
      let publisherAsked = 0;
      pub.video.transceiver.sender.onPictureLossIndication.subscribe(() => publisherAsked++);
      let serverAsked = 0;
      sub.transport.sendTrack(sub.receivers[0]!.mid!)!.onKeyframeRequest(() => {
        serverAsked++;
        pub.videoTrack.requestKeyframe();
      });
      await waitFor('video at the subscriber', () => sub.received.get('video')!.length > 0 || 'none', settle);
      const ssrc = sub.received.get('video')![0]!.header.ssrc;
      const countedBefore = engine.counters.keyframeRequestsReceived;
      await sub.receivers[0]!.receiver.sendRtcpPLI(ssrc);
      await waitFor('the keyframe request to reach the publisher', () => (serverAsked > 0 && publisherAsked > 0) || `${serverAsked}/${publisherAsked}`, settle);
      assert.ok(engine.counters.keyframeRequestsReceived > countedBefore, 'the engine counts the request');
    } finally {
      await sub.stop();
      await pub.stop();
    }
  });

  test('a publisher gets receiver reports and a REMB at the bitrate cap', async () => {
    const pub = await publisher();
    try {
      const { sender } = pub.video.transceiver;
      let reports = 0;
      sender.onRtcp.subscribe((packet) => {
        if (packet instanceof RtcpRrPacket) reports++;
      });
      await waitFor('a receiver report and a REMB', () => (reports > 0 && sender.receiverEstimatedMaxBitrate > 0) || `${reports} reports, REMB ${sender.receiverEstimatedMaxBitrate}`, settle);
      assert.ok(Math.abs(Number(sender.receiverEstimatedMaxBitrate) - 1_000_000) < 1_000_000 / 64, `REMB ${sender.receiverEstimatedMaxBitrate}`);
    } finally {
      await pub.stop();
    }
  });

  test('a subscriber gets sender reports of what it is sent', async () => {
    const pub = await publisher();
    const sub = await subscriber([pub.videoTrack]);
    try {
      const reports: RtcpSrPacket[] = [];
      sub.receivers[0]!.receiver.onRtcp.subscribe((packet) => {
        if (packet instanceof RtcpSrPacket) reports.push(packet);
      });
      await waitFor('a sender report', () => reports.length > 0 || 'none', settle);
      const video = sub.received.get('video')!;
      assert.equal(reports[0]!.ssrc, video[0]!.header.ssrc);
      assert.ok(reports[0]!.senderInfo.packetCount > 0);
    } finally {
      await sub.stop();
      await pub.stop();
    }
  });

  test('a subscriber NACK is counted and answered with the packet again', async () => {
    const pub = await publisher();
    const sub = await subscriber([pub.videoTrack]);
    try {
      const video = sub.received.get('video')!;
      await waitFor('video at the subscriber', () => video.length >= 5 || `${video.length}`, settle);
      const { ssrc, sequenceNumber } = video[2]!.header;
      const copies = () => video.filter((packet) => packet.header.sequenceNumber === sequenceNumber).length;
      const nacksBefore = engine.counters.nacksReceived;
      const [receiver] = sub.receivers as [RTCRtpTransceiver];
      const nack = new GenericNack({ senderSsrc: receiver.receiver.rtcpSsrc, mediaSourceSsrc: ssrc, lost: [sequenceNumber] });
      await receiver.dtlsTransport.sendRtcp([new RtcpTransportLayerFeedback({ feedback: nack })]);
      await waitFor('the packet again', () => copies() >= 2 || `${copies()} copies`, settle);
      assert.ok(engine.counters.nacksReceived > nacksBefore, 'the engine counts the NACK');
    } finally {
      await sub.stop();
      await pub.stop();
    }
  });

  test('forwarding stopped and resumed continues the sequence numbers without a gap', async () => {
    const pub = await publisher();
    const sub = await subscriber([pub.videoTrack]);
    try {
      const video = sub.received.get('video')!;
      await waitFor('video', () => video.length >= 5 || `${video.length}`, settle);
      const sendTrack = sub.transport.sendTrack(sub.receivers[0]!.mid!)!;
      sendTrack.forward(null);
      const stoppedAt = video.length;
      const sentAtStop = pub.videoPump.sent;
      await waitFor('the publisher to send ten more packets', () => pub.videoPump.sent >= sentAtStop + 10 || `${pub.videoPump.sent - sentAtStop}`, settle);
      // Only packets already in flight when forwarding stopped may land.
      const before = video.length;
      assert.ok(before - stoppedAt <= 2, `${before - stoppedAt} packets after the stop`);
      sendTrack.forward(pub.videoTrack);
      await waitFor('video again', () => video.length >= before + 5 || `${video.length - before}`, settle);
      const last = video[before - 1]!.header;
      const next = video[before]!.header;
      assert.equal(next.sequenceNumber, (last.sequenceNumber + 1) & 0xffff);
      assert.ok(((next.timestamp - last.timestamp) >>> 0) > 0);
    } finally {
      await sub.stop();
      await pub.stop();
    }
  });

  test("a publisher's header extension reaches the subscriber under the subscriber's id; those the sender writes are the subscriber's own", async () => {
    const audioLevel = useAudioLevelIndication().uri;
    const peer = new MediaPeer({ headerExtensions: { audio: [useSdesMid(), useAbsSendTime(), useAudioLevelIndication()], video: [useSdesMid()] } });
    const audio = peer.addSender('audio');
    const transport = engine.createTransport();
    const offer = await peer.offer();
    const [audioMid] = midsOf(peer) as [string];
    await negotiate(peer, transport, new Map([[audioMid, receiveAny('audio')]]), offer);
    const publisherId = audio.transceiver.headerExtensions.find((extension) => extension.uri === audioLevel)!.id;
    const pump = peer.pump(audio.track, { extensions: (index) => [{ id: publisherId, payload: Buffer.from([index & 0x7f]) }] });
    await waitFor('the publisher to connect', () => transport.state === 'connected' || transport.state, settle);
    const source = transport.receiveTrack(audioMid)!;
    const sub = await subscriber([source], MediaPeer.codecs(), { audio: [useAudioLevelIndication(), useSdesMid()], video: [useSdesMid()] });
    try {
      const heard = sub.received.get('audio')!;
      await waitFor('audio at the subscriber', () => heard.length >= 10 || `${heard.length}`, settle);
      const [receiver] = sub.receivers as [RTCRtpTransceiver];
      const idOf = (uri: string) => receiver.headerExtensions.find((extension) => extension.uri === uri)!.id;
      assert.notEqual(idOf(audioLevel), publisherId);
      for (const packet of heard) {
        const index = Number(/^opus (\d+)$/.exec(packet.payload.toString())![1]);
        const extensions = new Map(packet.header.extensions.map((extension) => [extension.id, extension.payload]));
        assert.deepEqual(extensions.get(idOf(audioLevel)), Buffer.from([index & 0x7f]));
        assert.equal(extensions.get(idOf(useSdesMid().uri))?.toString(), receiver.mid);
        assert.deepEqual([...extensions.keys()].sort(), [idOf(audioLevel), idOf(useSdesMid().uri)].sort());
      }
    } finally {
      pump.stop();
      await sub.stop();
      await transport.close();
      await peer.close();
    }
  });

  test('a client sending more packets a second than the limit has its transport failed, saying why; one below it does not', async () => {
    const limited = createEngine(engineOptions({ maxPacketRate: 200 }));
    const peer = new MediaPeer();
    const video = peer.addSender('video');
    const transport = limited.createTransport();
    let pump = peer.pump(video.track, { rate: 100 });
    try {
      const offer = await peer.offer();
      const [videoMid] = midsOf(peer) as [string];
      await negotiate(peer, transport, new Map([[videoMid, receiveAny('video')]]), offer);
      await waitFor('packets from the publisher', () => transport.receiveTrack(videoMid)?.receiving || 'not yet', settle);
      const steadyFrom = pump.sent;
      await waitFor('two seconds of packets below the limit', () => pump.sent - steadyFrom >= 200 || `${pump.sent - steadyFrom} sent`, settle);
      assert.equal(transport.state, TransportStates.connected);
      assert.equal(transport.failure, undefined);
      pump.stop();
      pump = peer.pump(video.track, { rate: 2_000 });
      await waitFor('the flooded transport to fail', () => transport.state === TransportStates.failed || transport.state, settle);
      assert.equal(transport.failure, WebrtcErrors.tooManyPackets);
    } finally {
      pump.stop();
      await transport.close();
      await peer.close();
      await limited.close();
    }
  });

  test('bound to every interface, the answer announces only the configured address', async () => {
    const announcing = createEngine(engineOptions({ listenIp: '0.0.0.0', announcedIp: '203.0.113.10' }));
    const peer = new MediaPeer();
    peer.addSender('video');
    const transport = announcing.createTransport();
    try {
      const { sdp } = await transport.negotiate((await peer.offer()).sdp, new Map([['0', receiveAny('video')]]));
      const candidates = sdp.split('\r\n').filter((line) => line.startsWith('a=candidate:'));
      assert.ok(candidates.length > 0);
      for (const line of candidates) assert.match(line, / 203\.0\.113\.10 \d+ typ host/);
    } finally {
      await transport.close();
      await peer.close();
      await announcing.close();
    }
  });

  test('a room format list admits codecs by name and H.264 profile', () => {
    const h264 = { mimeType: 'video/H264', clockRate: 90_000, parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' };
    assert.equal(admittedBy([{ codec: 'h264', profile: 'CB' }], h264), true);
    assert.equal(admittedBy([{ codec: 'h264', profile: 'H' }], h264), false);
    assert.equal(admittedBy([{ codec: 'h264' }], h264), true);
    assert.equal(admittedBy([{ codec: 'vp8' }], h264), false);
  });

  test('a transport closed while it answers ends that negotiation and keeps no timer', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    const timersBefore = timers();
    // Closes land before, during and after the answer is made (candidate gathering takes a few ms).
    for (let delayMs = 0; delayMs <= 8; delayMs++) {
      const peer = new MediaPeer();
      peer.addSender('video');
      const transport = engine.createTransport();
      const { sdp } = await peer.offer();
      const negotiation = transport.negotiate(sdp, new Map([['0', receiveAny('video')]]));
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      await transport.close();
      const outcome = await negotiation.then(() => 'answered', (error: Error) => error.message);
      assert.match(outcome, /^(answered|Transport closed|No local ICE candidate could be gathered)$/);
      await peer.close();
    }
    await waitFor('the transports\' timers to stop', () => timers() <= timersBefore || `${timers() - timersBefore} more timers`, settle);
  });

  test('closing every transport frees every UDP socket', async () => {
    const pub = await publisher();
    const sub = await subscriber([pub.videoTrack, pub.audioTrack]);
    assert.ok(openUdpSockets() > socketsBefore);
    await sub.stop();
    await pub.stop();
    assert.equal(engine.transports, 0);
    await waitFor('every UDP socket to close', () => openUdpSockets() === socketsBefore || `${openUdpSockets() - socketsBefore} open`, settle);
  });
});

/**
 * Publish and subscribe through the embedded server on 127.0.0.1: werift peer connections for
 * media, real Socket.IO clients for signaling (SPEC-MEDIA M3–M6).
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { ClientStates } from '../../src/client/conference-client.js';
import { leaveAll, mediaParticipant, mediaWait, progressOf, streamEvents } from '../support/media-client.js';
import { MediaPeer, openUdpSockets } from '../support/media-peer.js';
import { received, startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { mediaEngines } from '../support/engines.js';

for (const engine of mediaEngines) describe(`on the ${engine} engine`, () => {
  let t: TestServer;
  let socketsBefore: number;

  before(async () => {
    socketsBefore = openUdpSockets();
    // Every keyframe request reaches the publisher here; the rate limit is the media node's to apply.
    t = await startTestServer({ webrtc: { engine, portRange: '24000-24999', keyframeInterval: 0 } });
  });
  // A test that fails halfway leaves no peer behind to disturb the next ones.
  afterEach(() => MediaPeer.closeAll());
  after(async () => {
    await MediaPeer.closeAll();
    await t.stop();
  });

  async function freshRoom(name: string): Promise<string> {
    return (await t.management.createRoom(name))._id;
  }

  const participant = (room: string, user: string, role?: string) => mediaParticipant(t, room, user, role);

  describe('media through the embedded server', () => {
    test('a publication reaches a later participant in room.streams, and its subscription receives the packets', async () => {
      const room = await freshRoom('publish-subscribe');
      const alice = await participant(room, 'alice');
      const published = await alice.publish(['video', 'audio'], { label: 'front door' });
      assert.equal(published.transportId, published.id);
      try {
        const [added] = await received(alice.participant.notifications, 'stream');
        const info = (added!.data as { data: Record<string, any> }).data;
        const [video, audio] = published.senders.map(({ transceiver }) => transceiver.mid!);
        assert.deepEqual(info, {
          id: published.id,
          type: 'forward',
          media: {
            tracks: [
              { id: `${published.transportId}-${video}`, type: 'video', source: 'camera', format: { codec: 'vp8' }, optional: {}, status: 'active', mid: video },
              { id: `${published.transportId}-${audio}`, type: 'audio', source: 'mic', format: { codec: 'opus', sampleRate: 48000, channelNum: 2 }, optional: {}, status: 'active', mid: audio },
            ],
          },
          data: null,
          info: { owner: alice.id, type: 'webrtc', inViews: [], attributes: { label: 'front door' }, activeInput: 'unknown' },
        });

        const bob = await participant(room, 'bob');
        assert.deepEqual((bob.participant.result['room'] as { streams: unknown[] }).streams, [info]);
        const subscribed = await bob.subscribe(published.id, ['video', 'audio']);
        assert.notEqual(subscribed.transportId, published.transportId);
        await waitFor('video and audio at bob', () => {
          const counts = ['video', 'audio'].map((kind) => subscribed.received.get(kind as 'video')!.length);
          return counts.every((count) => count >= 10) || `${counts}`;
        }, mediaWait);
        const payload = subscribed.received.get('video')!.at(-1)!.payload;
        assert.match(payload.subarray(2).toString(), /^alice frame \d+$/);
        await bob.close();
        bob.participant.client.close();
      } finally {
        await alice.close();
        alice.participant.client.close();
      }
    });

    test('the management API\'s metrics give each webrtc node\'s transports, sessions and RTP figures', async () => {
      const room = await freshRoom('metrics');
      const alice = await participant(room, 'alice');
      const bob = await participant(room, 'bob');
      try {
        const published = await alice.publish(['video', 'audio']);
        const subscribed = await bob.subscribe(published.id, ['video']);
        await waitFor('video at bob', () => subscribed.received.get('video')!.length >= 10 || 'not yet', mediaWait);
        const node = `node="${t.server.webrtcAgent.nodes.snapshot().find((each) => each.room === room)!.id}"`;
        const figures = async () => {
          const text = await (await fetch(`http://127.0.0.1:${t.server.management.port}/metrics`)).text();
          const ofNode = (name: string) => Number(new RegExp(`^${name}\\{[^}]*${node}[^}]*\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
          return {
            transports: ofNode('conclave_webrtc_transports'),
            publications: ofNode('conclave_webrtc_publications'),
            subscriptions: ofNode('conclave_webrtc_subscriptions'),
            packetsIn: ofNode('conclave_webrtc_rtp_packets_received_total'),
            bytesIn: ofNode('conclave_webrtc_rtp_bytes_received_total'),
            packetsOut: ofNode('conclave_webrtc_rtp_packets_sent_total'),
            bytesOut: ofNode('conclave_webrtc_rtp_bytes_sent_total'),
          };
        };
        const first = await figures();
        assert.deepEqual([first.transports, first.publications, first.subscriptions], [2, 1, 1]);
        assert.ok(first.packetsIn >= 10 && first.packetsOut >= 10, JSON.stringify(first));
        assert.ok(first.bytesIn > first.packetsIn * 12 && first.bytesOut > first.packetsOut * 12, JSON.stringify(first));
        await waitFor('the counters to grow', async () => {
          const later = await figures();
          return (later.packetsIn > first.packetsIn && later.packetsOut > first.packetsOut) || JSON.stringify(later);
        }, mediaWait);
      } finally {
        await leaveAll(alice, bob);
      }
    });

    test('a dropped signaling connection that relogs in keeps the media flowing', async () => {
      const room = await freshRoom('relogin');
      const alice = await participant(room, 'alice');
      const published = await alice.publish(['video']);
      const bob = await participant(room, 'bob');
      try {
        const subscribed = await bob.subscribe(published.id, ['video']);
        const video = subscribed.received.get('video')!;
        await waitFor('video at bob', () => video.length >= 5 || `${video.length}`, mediaWait);
        alice.participant.client.socket.io.engine.close();
        bob.participant.client.socket.io.engine.close();
        await waitFor('both to resume', () =>
          (alice.participant.client.state === ClientStates.resumed && bob.participant.client.state === ClientStates.resumed) || 'not yet', mediaWait);
        const before = video.length;
        await waitFor('video to keep flowing', () => video.length >= before + 20 || `${video.length - before}`, mediaWait);
        assert.equal(t.server.webrtcAgent.nodes.snapshot().filter((node) => node.room === room).length, 1);
      } finally {
        await bob.close();
        await alice.close();
        bob.participant.client.close();
        alice.participant.client.close();
      }
    });

    test('pause and play reach every subscriber; unpublish ends their subscriptions with "Source stream loss"', async () => {
      const room = await freshRoom('controls');
      const alice = await participant(room, 'alice');
      const published = await alice.publish(['video']);
      const pump = published.senders[0]!.source;
      const bob = await participant(room, 'bob');
      try {
        const subscribed = await bob.subscribe(published.id, ['video']);
        const video = subscribed.received.get('video')!;
        await waitFor('video at bob', () => video.length >= 5 || `${video.length}`, mediaWait);

        await alice.send('stream-control', { id: published.id, operation: 'pause', data: 'video' });
        await waitFor('the update at bob', () => streamEvents(bob, 'update').length === 1 || 'none', mediaWait);
        assert.deepEqual(streamEvents(bob, 'update')[0], { id: published.id, status: 'update', data: { field: 'video.status', value: 'inactive' } });
        const pausedAt = video.length;
        const sentAtPause = pump.sent;
        await waitFor('ten more packets sent', () => pump.sent >= sentAtPause + 10 || 'not yet', mediaWait);
        assert.ok(video.length - pausedAt <= 2, `${video.length - pausedAt} packets forwarded while paused`);

        await alice.send('stream-control', { id: published.id, operation: 'play', data: 'video' });
        await waitFor('video again', () => video.length >= pausedAt + 10 || `${video.length - pausedAt}`, mediaWait);
        assert.deepEqual(streamEvents(bob, 'update')[1]!['data'], { field: 'video.status', value: 'active' });

        await alice.send('unpublish', { id: published.id });
        await waitFor('the removal at bob', () => streamEvents(bob, 'remove').length === 1 || 'none', mediaWait);
        assert.deepEqual(streamEvents(bob, 'remove')[0], { id: published.id, status: 'remove' });
        const [lost] = progressOf(bob.notifications, (data) => data['status'] === 'error');
        assert.deepEqual(lost, { id: subscribed.transportId, sessionId: subscribed.id, status: 'error', data: 'Source stream loss' });
        await assert.rejects(bob.send('unsubscribe', { id: subscribed.id }), { message: 'Subscription does NOT exist' });
      } finally {
        await bob.close();
        await alice.close();
        bob.participant.client.close();
        alice.participant.client.close();
      }
    });

    test('a subscription starting, and a stream played again, ask its publisher for a keyframe', async () => {
      const room = await freshRoom('keyframes');
      const alice = await participant(room, 'alice');
      const published = await alice.publish(['video']);
      let asked = 0;
      published.senders[0]!.transceiver.sender.onPictureLossIndication.subscribe(() => asked++);
      const bob = await participant(room, 'bob');
      try {
        await bob.subscribe(published.id, ['video']);
        await waitFor('a keyframe request for the new subscription', () => asked >= 1 || 'none', mediaWait);
        const before = asked;
        await alice.send('stream-control', { id: published.id, operation: 'pause', data: 'video' });
        await alice.send('stream-control', { id: published.id, operation: 'play', data: 'video' });
        await waitFor('a keyframe request on play', () => asked > before || 'none', mediaWait);
      } finally {
        await leaveAll(alice, bob);
      }
    });

    test('subscription-control switches a subscription to another stream without renegotiating, and pauses it alone', async () => {
      const room = await freshRoom('switch');
      const alice = await participant(room, 'alice');
      const carol = await participant(room, 'carol');
      const fromAlice = await alice.publish(['video']);
      const fromCarol = await carol.publish(['video']);
      const bob = await participant(room, 'bob');
      const dave = await participant(room, 'dave');
      try {
        const subscribed = await bob.subscribe(fromAlice.id, ['video']);
        const watching = await dave.subscribe(fromAlice.id, ['video']);
        const video = subscribed.received.get('video')!;
        const text = (index: number) => video[index]!.payload.subarray(2).toString();
        await waitFor('alice at bob', () => video.length >= 5 || `${video.length}`, mediaWait);
        const answers = progressOf(bob.notifications, (data) => data['status'] === 'soac').length;
        await bob.send('subscription-control', { id: subscribed.id, operation: 'update', data: { video: { from: fromCarol.id } } });
        await waitFor('carol at bob', () => video.some((_, index) => text(index).startsWith('carol')) || 'not yet', mediaWait);
        assert.equal(progressOf(bob.notifications, (data) => data['status'] === 'soac').length, answers);
        const first = video.findIndex((_, index) => text(index).startsWith('carol'));
        assert.equal(video[first]!.header.sequenceNumber, (video[first - 1]!.header.sequenceNumber + 1) & 0xffff);
        assert.ok(video.slice(first).every((_, index) => text(first + index).startsWith('carol')));

        await bob.send('subscription-control', { id: subscribed.id, operation: 'pause', data: 'video' });
        const pausedAt = video.length;
        const davesAtPause = watching.received.get('video')!.length;
        const sent = fromCarol.senders[0]!.source.sent;
        await waitFor('ten more packets sent', () => fromCarol.senders[0]!.source.sent >= sent + 10 || 'not yet', mediaWait);
        assert.ok(video.length - pausedAt <= 2, `${video.length - pausedAt} packets forwarded while paused`);
        await waitFor('dave still receiving', () => watching.received.get('video')!.length >= davesAtPause + 5 || 'not yet', mediaWait);
        assert.deepEqual(streamEvents(dave, 'update'), []);
        await bob.send('subscription-control', { id: subscribed.id, operation: 'play', data: 'video' });
        await waitFor('carol again at bob', () => video.length >= pausedAt + 5 || `${video.length - pausedAt}`, mediaWait);
      } finally {
        await leaveAll(alice, carol, bob, dave);
      }
    });

    test('a participant that leaves takes its streams with it: the others see them removed', async () => {
      const room = await freshRoom('leave');
      const alice = await participant(room, 'alice');
      const bob = await participant(room, 'bob');
      const published = await alice.publish(['audio']);
      await waitFor('the stream at bob', () => streamEvents(bob, 'add').length === 1 || 'none', mediaWait);
      await alice.participant.client.leave();
      await waitFor('the removal at bob', () => streamEvents(bob, 'remove').length === 1 || 'none', mediaWait);
      assert.equal(streamEvents(bob, 'remove')[0]!['id'], published.id);
      await alice.close();
      const carol = await participant(room, 'carol');
      assert.deepEqual((carol.participant.result['room'] as { streams: unknown[] }).streams, []);
      bob.participant.client.close();
      carol.participant.client.close();
    });

    test('once every client has gone, no transport, UDP socket or busy webrtc node is left', async () => {
      await waitFor('the webrtc nodes to give their rooms up', () => {
        const busy = t.server.webrtcAgent.nodes.snapshot().filter((node) => node.room !== null);
        return busy.length === 0 || `busy: ${JSON.stringify(busy)}`;
      }, mediaWait);
      await waitFor('every UDP socket to close', () => openUdpSockets() <= socketsBefore || `${openUdpSockets() - socketsBefore} open`, mediaWait);
      assert.deepEqual([...t.server.webrtcAgent.worker.tasks], []);
    });
  });
});

/**
 * The media controller's rules (SPEC-MEDIA M4–M6) through the embedded server: permissions, limits,
 * owner checks, every error string, notifications, and cleanup whichever way a participant goes.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { rpcClient } from '../../src/bus/index.js';
import type { NodeRpc } from '../../src/conference/api.js';
import { leaveAll, MediaClient, mediaParticipant, type MediaRequest, mediaWait, progressOf, streamEvents } from '../support/media-client.js';
import { MediaPeer } from '../support/media-peer.js';
import { ask, rawSocket } from '../support/raw-socket.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { mediaEngines } from '../support/engines.js';

for (const engine of mediaEngines) describe(`on the ${engine} engine`, () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer({
      webrtc: {
        engine,
        portRange: '25000-25999',
        maxPublicationsPerParticipant: 2,
        maxSubscriptionsPerParticipant: 2,
        maxTracksPerPublication: 2,
        connectTimeout: 3_000,
      },
      // Some tests send many requests at once; the rate limit has its own tests.
      portal: { eventsPerSecond: 10_000 },
    });
  });
  // A test that fails halfway leaves no peer behind to disturb the next ones.
  afterEach(() => MediaPeer.closeAll());
  after(async () => {
    await MediaPeer.closeAll();
    await t.stop();
  });

  const mediaEvents: MediaRequest[] = ['publish', 'unpublish', 'subscribe', 'unsubscribe', 'soac', 'stream-control', 'subscription-control'];

  const track = (type: 'audio' | 'video', mid: string) => ({ type, mid, source: type === 'audio' ? 'mic' : 'camera' });
  const webrtc = { type: 'webrtc' as const };
  const publishing = (...tracks: Array<ReturnType<typeof track>>) => ({ media: { tracks }, transport: webrtc });
  /** One track per kind, mids counted from `firstMid`. */
  const subscribing = (from: string, ...types: Array<'audio' | 'video'>) => subscribingFrom(0, from, ...types);
  const subscribingFrom = (firstMid: number, from: string, ...types: Array<'audio' | 'video'>) => ({
    media: { tracks: types.map((type, index) => ({ type, mid: String(firstMid + index), from })) },
    transport: webrtc,
  });

  async function freshRoom(name: string, options: Parameters<TestServer['management']['createRoom']>[1] = {}): Promise<string> {
    return (await t.management.createRoom(name, options))._id;
  }

  const participant = (room: string, user: string, role?: string) => mediaParticipant(t, room, user, role);

  /** A participant with a ready publication of the given kinds, sending synthetic media. */
  async function publisher(room: string, kinds: Array<'audio' | 'video'> = ['video', 'audio']) {
    const client = await participant(room, 'publisher');
    const published = await client.publish(kinds);
    return { client, published };
  }

  describe('media requests at the portal', () => {
    test('every media request before login is answered "Illegal request"', async () => {
      const socket = await rawSocket(t.portalUrl);
      for (const event of mediaEvents) assert.deepEqual(await ask(socket, event, { id: 'x' }), { status: 'error', data: 'Illegal request' });
      socket.close();
    });

    test('a malformed payload of each media request is answered with its error, and the client stays', async () => {
      const room = await freshRoom('malformed');
      const alice = await participant(room, 'alice');
      const bad = [null, 'text', 42, [], { id: 5 }, { media: { tracks: [] } }, { id: 'a', operation: 'explode' }, { id: 'a', signaling: { type: 'answer', sdp: 'v=0' } }];
      for (const event of mediaEvents) {
        for (const payload of bad) {
          await assert.rejects(alice.send(event, payload), { message: `Invalid ${event} request` }, `${event} ${JSON.stringify(payload)}`);
        }
      }
      await alice.participant.client.send('all', 'still here');
      await leaveAll(alice);
    });

    test('a legacy client is told the media plane is not available to it', async () => {
      const room = await freshRoom('legacy');
      const old = await t.join({ room, user: 'old', protocol: 'legacy' });
      await assert.rejects(old.client.request('publish', publishing(track('audio', '0'))), { message: 'Media plane is not available' });
      old.client.close();
    });
  });

  describe('publish', () => {
    test('the role must allow every published kind: "unauthorized"', async () => {
      const room = await freshRoom('roles');
      const viewer = await participant(room, 'viewer', 'viewer');
      await assert.rejects(viewer.request('publish', publishing(track('audio', '0'))), { message: 'unauthorized' });
      const audioOnly = await participant(room, 'audio only', 'audio_only_presenter');
      await assert.rejects(audioOnly.request('publish', publishing(track('audio', '0'), track('video', '1'))), { message: 'unauthorized' });
      const session = await audioOnly.request('publish', publishing(track('audio', '0')));
      assert.equal(session.transportId, session.id);
      await leaveAll(viewer, audioOnly);
    });

    test('a permission taken away by the REST API applies to the next publish', async () => {
      const room = await freshRoom('permission');
      const alice = await participant(room, 'alice');
      await t.management.updateParticipant(room, alice.id, [{ op: 'replace', path: '/permission/publish/video', value: false }]);
      await assert.rejects(alice.request('publish', publishing(track('video', '0'))), { message: 'unauthorized' });
      await leaveAll(alice);
    });

    test('the room\'s inputLimit counts every publication, ready or not: "Too many inputs"', async () => {
      const room = await freshRoom('input-limit', { inputLimit: 1 });
      const alice = await participant(room, 'alice');
      const bob = await participant(room, 'bob');
      await alice.request('publish', publishing(track('audio', '0')));
      await assert.rejects(bob.request('publish', publishing(track('audio', '0'))), { message: 'Too many inputs' });
      await leaveAll(alice, bob);
    });

    test('a room whose mediaIn has no audio or no video refuses it with OWT\'s words', async () => {
      const noAudio = await freshRoom('no-audio', { mediaIn: { audio: [], video: [{ codec: 'vp8' }] } });
      const noVideo = await freshRoom('no-video', { mediaIn: { audio: [{ codec: 'opus' }], video: [] } });
      const alice = await participant(noAudio, 'alice');
      const bob = await participant(noVideo, 'bob');
      await assert.rejects(alice.request('publish', publishing(track('audio', '0'))), { message: 'Audio is forbiden' });
      await assert.rejects(bob.request('publish', publishing(track('video', '0'))), { message: 'Video is forbiden' });
      await leaveAll(alice, bob);
    });

    test('limits: tracks per publication, publications per participant', async () => {
      const room = await freshRoom('limits');
      const alice = await participant(room, 'alice');
      await assert.rejects(alice.request('publish', publishing(track('audio', '0'), track('video', '1'), track('video', '2'))), { message: 'Too many tracks' });
      const first = await alice.request('publish', publishing(track('audio', '0')));
      const second = await alice.request('publish', { ...publishing(track('audio', '1')), transport: { id: first.transportId, type: 'webrtc' } });
      assert.equal(second.transportId, first.transportId);
      assert.notEqual(second.id, first.id);
      await assert.rejects(alice.request('publish', publishing(track('audio', '0'))), { message: 'Too many publications' });
      await leaveAll(alice);
    });

    test('a transport is one participant\'s, and a mid is used once on it', async () => {
      const room = await freshRoom('transports');
      const alice = await participant(room, 'alice');
      const bob = await participant(room, 'bob');
      const session = await alice.request('publish', publishing(track('audio', '0')));
      const onAlices = { ...publishing(track('audio', '1')), transport: { id: session.transportId, type: 'webrtc' } };
      await assert.rejects(bob.request('publish', onAlices), { message: 'Transport does NOT exist' });
      await assert.rejects(bob.request('publish', { ...onAlices, transport: { id: 'nowhere', type: 'webrtc' } }), { message: 'Transport does NOT exist' });
      const offer = { id: session.transportId, signaling: { type: 'offer', sdp: 'v=0' } };
      await assert.rejects(bob.send('soac', offer), { message: 'Transport does NOT exist' });
      await assert.rejects(
        alice.request('publish', { ...publishing(track('audio', '0')), transport: { id: session.transportId, type: 'webrtc' } }),
        { message: 'Track mid is in use: 0' },
      );
      await leaveAll(alice, bob);
    });

    test('an offer the media node cannot answer fails the transport\'s waiting sessions and is answered "error"', async () => {
      const room = await freshRoom('bad-offer');
      const alice = await participant(room, 'alice');
      const session = await alice.request('publish', publishing(track('audio', '0')));
      await assert.rejects(alice.send('soac', { id: session.transportId, signaling: { type: 'offer', sdp: 'not an sdp' } }));
      const [failed] = progressOf(alice.notifications, (data) => data['sessionId'] === session.id);
      assert.equal(failed!['status'], 'error');
      await assert.rejects(alice.send('unpublish', { id: session.id }), { message: 'Stream does NOT exist' });
      await leaveAll(alice);
    });

    test('"Stream exists" and "Subscription exists" for an id already in use; "Participant has not joined" for a stranger', async () => {
      const room = await freshRoom('ids');
      const { client, published } = await publisher(room, ['audio']);
      const bob = await participant(room, 'bob');
      const subscription = await bob.request('subscribe', subscribing(published.id, 'audio'));
      const node = t.server.agent.nodes.snapshot().find((candidate) => candidate.room === room)!.id;
      const rpc = rpcClient<NodeRpc>(t.server.bus, node, 2_000);
      await assert.rejects(rpc.call('publish', [client.id, published.id, publishing(track('audio', '5'))]), { message: 'Stream exists' });
      await assert.rejects(rpc.call('subscribe', [bob.id, subscription.id, subscribing(published.id, 'audio')]), { message: 'Subscription exists' });
      for (const [method, args] of [
        ['publish', ['stranger', 'stream-x', publishing(track('audio', '0'))]],
        ['subscribe', ['stranger', 'subscription-x', subscribing(published.id, 'audio')]],
        ['unpublish', ['stranger', published.id]],
        ['unsubscribe', ['stranger', subscription.id]],
        ['soac', ['stranger', { id: published.transportId, signaling: { type: 'offer', sdp: 'v=0' } }]],
        ['streamControl', ['stranger', { id: published.id, operation: 'pause', data: 'av' }]],
        ['subscriptionControl', ['stranger', { id: subscription.id, operation: 'pause', data: 'av' }]],
      ] as const) {
        await assert.rejects(rpc.call(method, args as never), { message: 'Participant has not joined' }, method);
      }
      await leaveAll(client, bob);
    });
  });

  describe('subscribe', () => {
    test('the role must allow every subscribed kind, and the source must be a ready stream', async () => {
      const room = await freshRoom('subscribe-rules');
      const { client, published } = await publisher(room);
      const videoOnly = await participant(room, 'video only', 'video_only_viewer');
      await assert.rejects(videoOnly.request('subscribe', subscribing(published.id, 'audio')), { message: 'unauthorized' });
      await videoOnly.request('subscribe', subscribing(published.id, 'video'));
      await assert.rejects(videoOnly.request('subscribe', subscribing('no-such-stream', 'video')), { message: 'Stream does NOT exist' });
      const pending = await client.request('publish', { ...publishing(track('video', '9')), transport: { id: published.transportId, type: 'webrtc' } });
      await assert.rejects(videoOnly.request('subscribe', subscribing(pending.id, 'video')), { message: 'Stream does NOT exist' });
      await leaveAll(client, videoOnly);
    });

    test('a track id selects that track; a stream without the kind does not satisfy', async () => {
      const room = await freshRoom('tracks');
      const { client, published } = await publisher(room, ['audio']);
      const bob = await participant(room, 'bob');
      const audioMid = published.senders[0]!.transceiver.mid!;
      await bob.request('subscribe', subscribing(`${published.transportId}-${audioMid}`, 'audio'));
      await assert.rejects(bob.request('subscribe', subscribing(published.id, 'video')), { message: 'Target video stream does NOT satisfy:No video track' });
      await assert.rejects(bob.request('subscribe', subscribing(`${published.transportId}-${audioMid}`, 'video')), {
        message: 'Target video stream does NOT satisfy:No video track',
      });
      await leaveAll(client, bob);
    });

    test('what needs a transcoder or a mixer is refused, never ignored', async () => {
      const room = await freshRoom('no-transcoding');
      const { client, published } = await publisher(room);
      const bob = await participant(room, 'bob');
      const asking = (parameters: Record<string, unknown>, format?: Record<string, unknown>) => ({
        media: { tracks: [{ type: 'video', mid: '0', from: published.id, parameters, ...(format ? { format } : {}) }] },
        transport: { type: 'webrtc' },
      });
      for (const parameters of [{ framerate: 15 }, { bitrate: 'x0.5' }, { keyFrameInterval: 2 }]) {
        await assert.rejects(bob.request('subscribe', asking(parameters)), { message: 'Transcoding is not supported' }, JSON.stringify(parameters));
      }
      await assert.rejects(bob.request('subscribe', asking({}, { codec: 'h264' })), { message: 'Transcoding is not supported' });
      // The source's own format and bitrate, and a resolution (the source's, as far as the SFU knows), are fine.
      const accepted = await bob.request('subscribe', asking({ bitrate: 'x1.0', resolution: { width: 640, height: 480 } }, { codec: 'vp8' }));
      for (const operation of ['mix', 'unmix', 'set-region', 'get-region']) {
        await assert.rejects(client.send('stream-control', { id: published.id, operation, data: 'common' }), { message: 'Mixing is not supported' });
      }
      const update = { id: accepted.id, operation: 'update', data: { video: { parameters: { framerate: 5 } } } };
      await assert.rejects(bob.send('subscription-control', update), { message: 'Transcoding is not supported' });
      await leaveAll(client, bob);
    });

    test('a source in a format the room\'s mediaOut lacks does not satisfy', async () => {
      const room = await freshRoom('media-out', { mediaOut: { audio: [{ codec: 'opus', sampleRate: 48000, channelNum: 2 }], video: { format: [{ codec: 'h264' }] } } });
      const { client, published } = await publisher(room);
      const bob = await participant(room, 'bob');
      await assert.rejects(bob.request('subscribe', subscribing(published.id, 'video')), { message: 'Target video stream does NOT satisfy:Format is not acceptable' });
      await bob.request('subscribe', subscribing(published.id, 'audio'));
      await leaveAll(client, bob);
    });

    test('subscriptions per participant are limited: "Too many subscriptions"', async () => {
      const room = await freshRoom('subscription-limit');
      const { client, published } = await publisher(room);
      const bob = await participant(room, 'bob');
      const first = await bob.request('subscribe', subscribing(published.id, 'audio'));
      await bob.request('subscribe', { ...subscribingFrom(1, published.id, 'video'), transport: { id: first.transportId, type: 'webrtc' } });
      await assert.rejects(bob.request('subscribe', subscribing(published.id, 'audio')), { message: 'Too many subscriptions' });
      await leaveAll(client, bob);
    });
  });

  describe('owners and unknown ids', () => {
    test('only the owner may unpublish, control a stream or end and control a subscription', async () => {
      const room = await freshRoom('owners');
      const { client, published } = await publisher(room);
      const bob = await participant(room, 'bob');
      const subscription = await bob.request('subscribe', subscribing(published.id, 'audio'));
      const request = (who: MediaClient, event: MediaRequest, payload: unknown) => who.send(event, payload);
      await assert.rejects(request(bob, 'unpublish', { id: published.id }), { message: 'unauthorized' });
      await assert.rejects(request(bob, 'stream-control', { id: published.id, operation: 'pause', data: 'av' }), { message: 'unauthorized' });
      await assert.rejects(request(client, 'unsubscribe', { id: subscription.id }), { message: 'unauthorized' });
      await assert.rejects(request(client, 'subscription-control', { id: subscription.id, operation: 'pause', data: 'audio' }), { message: 'unauthorized' });
      await assert.rejects(request(bob, 'unpublish', { id: 'nothing' }), { message: 'Stream does NOT exist' });
      await assert.rejects(request(bob, 'stream-control', { id: 'nothing', operation: 'play', data: 'av' }), { message: 'Stream does NOT exist' });
      await assert.rejects(request(bob, 'unsubscribe', { id: 'nothing' }), { message: 'Subscription does NOT exist' });
      await assert.rejects(request(bob, 'subscription-control', { id: 'nothing', operation: 'play', data: 'av' }), { message: 'Subscription does NOT exist' });
      await request(bob, 'subscription-control', { id: subscription.id, operation: 'pause', data: 'audio' });
      await request(bob, 'unsubscribe', { id: subscription.id });
      await request(client, 'unpublish', { id: published.id });
      await leaveAll(client, bob);
    });
  });

  describe('stream notifications and cleanup', () => {
    test('stream add reaches everyone, the publisher included, after its "ready"', async () => {
      const room = await freshRoom('announce');
      const bob = await participant(room, 'bob');
      const { client, published } = await publisher(room, ['audio']);
      for (const who of [client, bob]) {
        await waitFor('the stream add', () => streamEvents(who, 'add').length === 1 || 'none', mediaWait);
        assert.equal((streamEvents(who, 'add')[0]!['data'] as { id: string }).id, published.id);
      }
      const events = client.notifications.map((notification) => `${notification.event}:${(notification.data as { status?: string }).status}`);
      assert.ok(events.indexOf('progress:ready') < events.indexOf('stream:add'), events.join(' '));
      await leaveAll(client, bob);
    });

    test('a room that does not notify stream changes keeps quiet, but still lists its streams', async () => {
      const room = await freshRoom('quiet', { notifying: { participantActivities: true, streamChange: false } });
      const bob = await participant(room, 'bob');
      const { client, published } = await publisher(room, ['audio']);
      const carol = await participant(room, 'carol');
      assert.deepEqual(((carol.participant.result['room'] as { streams: Array<{ id: string }> }).streams).map((stream) => stream.id), [published.id]);
      assert.deepEqual(streamEvents(bob, 'add'), []);
      await leaveAll(client, bob, carol);
    });

    test('a transport that does not connect in time fails: its owner hears it, its streams go', async () => {
      const room = await freshRoom('connect-timeout');
      const bob = await participant(room, 'bob');
      const alice = await participant(room, 'alice');
      alice.peer.addSender('audio');
      const offer = await alice.peer.offer();
      const session = await alice.request('publish', publishing(track('audio', alice.peer.pc.getTransceivers()[0]!.mid!)));
      // The answer comes, but the client never applies it nor sends its candidates.
      await alice.send('soac', { id: session.transportId, signaling: { type: 'offer', sdp: offer.sdp } });
      await waitFor('the transport error', () => progressOf(alice.notifications, (data) => data['status'] === 'error').length > 0 || 'none', mediaWait);
      assert.deepEqual(progressOf(alice.notifications, (data) => data['status'] === 'error'), [
        { id: session.transportId, status: 'error', data: 'ICE/DTLS did not complete in time' },
      ]);
      await assert.rejects(alice.send('unpublish', { id: session.id }), { message: 'Stream does NOT exist' });
      assert.deepEqual(streamEvents(bob, 'add'), []);
      // The participant stays in the room and may publish again, on a new transport.
      const again = await alice.request('publish', publishing(track('audio', '7')));
      assert.notEqual(again.transportId, session.transportId);
      await leaveAll(alice, bob);
    });

    test('a participant dropped by the REST API, or gone past the reconnection timeout, takes its streams along', async () => {
      const room = await freshRoom('cleanup');
      const bob = await participant(room, 'bob');
      const dropped = await publisher(room, ['audio']);
      await t.management.dropParticipant(room, dropped.client.id);
      await waitFor('the dropped stream to go', () => streamEvents(bob, 'remove').length === 1 || 'none', mediaWait);

      const vanishing = new MediaClient(await t.join({ room, user: 'vanishing', socket: { reconnection: false } }));
      const published = await vanishing.publish(['audio']);
      vanishing.participant.client.socket.io.engine.close();
      await waitFor('the vanished stream to go', () => streamEvents(bob, 'remove').length === 2 || 'not yet', mediaWait);
      assert.equal(streamEvents(bob, 'remove')[1]!['id'], published.id);
      await leaveAll(dropped.client, vanishing, bob);
    });
  });
});

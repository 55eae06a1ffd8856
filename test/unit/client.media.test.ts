import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MediaStreamTrack, useH264, useOPUS } from 'werift';
import { ConferenceRequestError, MediaError, type ConferenceClient, type MediaTrackLike } from '../../src/client/conference-client.js';
import { MediaPeer, type SyntheticSource } from '../support/media-peer.js';
import { received, startTestServer, type JoinedClient, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { mediaEngines } from '../support/engines.js';

/** ICE, DTLS and a first packet on a busy machine. */
const mediaWait = { timeoutMs: 15_000, intervalMs: 20 };

for (const engine of mediaEngines) describe(`on the ${engine} engine`, () => {
  let t: TestServer;
  /** Writes the synthetic RTP; its own connection is never used. */
  const pump = new MediaPeer();
  const sources: SyntheticSource[] = [];
  before(async () => {
    t = await startTestServer({ webrtc: { engine } });
  });
  after(async () => {
    for (const source of sources.splice(0)) source.stop();
    await pump.close();
    await t.stop();
  });

  /** A client whose peer connection is werift's, configured as the SDK-like test peer is. */
  async function joinWithMedia(room: string, user: string, role = 'presenter'): Promise<JoinedClient> {
    return t.join({ room, user, role, createPeerConnection: () => new MediaPeer().pc, mediaTimeoutMs: 15_000 });
  }

  /** A synthetic microphone and camera, sending from the start. */
  function camera(): { audio: MediaTrackLike; video: MediaTrackLike } {
    const [audio, video] = (['audio', 'video'] as const).map((kind) => {
      const track = new MediaStreamTrack({ kind });
      sources.push(pump.pump(track));
      return track;
    });
    return { audio: audio!, video: video! };
  }

  /** Counts the RTP packets a received track delivers. */
  function countRtp(track: MediaTrackLike | undefined): { readonly count: number } {
    const counter = { count: 0 };
    (track as MediaStreamTrack).onReceiveRtp.subscribe(() => {
      counter.count += 1;
    });
    return counter;
  }

  /** Waits until the counter has moved on by `packets` from where it is now. */
  async function flowing(description: string, counter: { readonly count: number }, packets = 20): Promise<void> {
    const from = counter.count;
    await waitFor(description, () => counter.count >= from + packets || `${counter.count - from} packets`, mediaWait);
  }

  async function subscribeAndCount(client: ConferenceClient, streamId: string) {
    const subscription = await client.subscribe(streamId);
    return { subscription, audio: countRtp(subscription.tracks.audio), video: countRtp(subscription.tracks.video) };
  }

  /** A new room where the first client publishes and the second, joined after, subscribes. */
  async function published(roomName: string, [first, second]: [string, string]) {
    const room = (await t.management.createRoom(roomName))._id;
    const publisher = await joinWithMedia(room, first);
    const publication = await publisher.client.publish(camera());
    const subscriber = await joinWithMedia(room, second);
    return { publisher, subscriber, publication, ...(await subscribeAndCount(subscriber.client, publication.id)) };
  }

  describe('the conference client with a werift peer connection', () => {
    test('a publication reaches a client that joins later and subscribes, and media flows both ways over one connection each', async () => {
      const room = (await t.management.createRoom('client-media'))._id;
      const alice = await joinWithMedia(room, 'alice');
      const publication = await alice.client.publish(camera());
      assert.equal(alice.client.transportId, publication.id, 'the transport id is the first publication id');
      const [added] = await received(alice.notifications, 'stream');
      assert.deepEqual(added!.data, { id: publication.id, status: 'add', data: alice.client.streams.get(publication.id) });

      const bob = await joinWithMedia(room, 'bob');
      const stream = bob.client.streams.get(publication.id);
      assert.equal(stream?.info.owner, alice.id);
      // Track ids are `${transportId}-${mid}`, and alice's transport id is her publication's.
      assert.deepEqual(
        stream?.media.tracks.map((track) => [track.type, track.id.startsWith(`${publication.id}-`)]),
        [['audio', true], ['video', true]],
      );
      const toBob = await subscribeAndCount(bob.client, publication.id);
      assert.equal(bob.client.transportId, toBob.subscription.id, 'the transport id is the first subscription id');
      await flowing('bob receiving alice’s video', toBob.video);
      await flowing('bob receiving alice’s audio', toBob.audio);

      const back = await bob.client.publish(camera());
      assert.equal(bob.client.transportId, toBob.subscription.id, 'a later publication rides the same transport');
      await received(alice.notifications, 'stream', 2);
      const toAlice = await subscribeAndCount(alice.client, back.id);
      await flowing('alice receiving bob’s video', toAlice.video);
      await flowing('bob still receiving alice’s video after renegotiating', toBob.video);
      alice.client.close();
      bob.client.close();
    });

    test('pausing a publication’s video stops it at the subscriber and announces it; play resumes it', async () => {
      const { publisher: carol, subscriber: dave, publication, ...toDave } = await published('client-pause', ['carol', 'dave']);
      await flowing('dave receiving video', toDave.video);

      await carol.client.controlStream(publication.id, 'pause', 'video');
      const updates = await received(dave.notifications, 'stream');
      assert.deepEqual(updates.at(-1)!.data, { id: publication.id, status: 'update', data: { field: 'video.status', value: 'inactive' } });
      assert.equal(dave.client.streams.get(publication.id)?.media.tracks.find((track) => track.type === 'video')?.status, 'inactive');
      let last = toDave.video.count;
      let stillSince = Date.now();
      await waitFor(
        'dave’s video to stop',
        () => {
          if (toDave.video.count !== last) {
            last = toDave.video.count;
            stillSince = Date.now();
          }
          return Date.now() - stillSince >= 1_000 || `${toDave.video.count} packets`;
        },
        mediaWait,
      );
      await flowing('dave still receiving audio', toDave.audio);

      await carol.client.controlStream(publication.id, 'play', 'video');
      await flowing('dave receiving video again', toDave.video);
      carol.client.close();
      dave.client.close();
    });

    test('unpublish ends the subscription at the subscriber with Source stream loss', async () => {
      const { publisher: erin, subscriber: frank, publication, subscription } = await published('client-unpublish', ['erin', 'frank']);
      const ended: Array<{ id: string; reason: string }> = [];
      frank.client.on('media-ended', (end) => ended.push(end));

      await erin.client.unpublish(publication.id);
      await waitFor('frank’s subscription ended', () => ended.length > 0 || 'not yet', mediaWait);
      assert.deepEqual(ended, [{ id: subscription.id, reason: 'Source stream loss' }]);
      await waitFor('the stream gone from frank’s list', () => !frank.client.streams.has(publication.id) || 'still listed');
      erin.client.close();
      frank.client.close();
    });

    test('an answer that arrives after a reconnection lost the soac ack still completes the publication', async () => {
      const room = (await t.management.createRoom('client-lost-ack'))._id;
      // A 1.2 client that is not the OWT JavaScript SDK gets the relogin buffer: nothing sent meanwhile is lost.
      const ivan = await t.join({ room, user: 'ivan', protocol: '1.2', sdk: { type: 'C++', version: '5.0' }, createPeerConnection: () => new MediaPeer().pc, mediaTimeoutMs: 15_000 });
      let cut = false;
      ivan.client.socket.onAnyOutgoing((event: string) => {
        if (event !== 'soac' || cut) return;
        cut = true;
        // After the offer is written, before its ack can come back.
        setTimeout(() => ivan.client.socket.io.engine.close(), 0);
      });
      const publication = await ivan.client.publish(camera());
      assert.ok(cut);
      assert.equal(ivan.client.state, 'resumed');
      assert.equal(ivan.client.transportId, publication.id);
      ivan.client.close();
    });

    test('a subscriber that cannot receive the publisher’s codec fails with the portal’s reason and can subscribe again', async () => {
      const room = (await t.management.createRoom('client-codec'))._id;
      const judy = await joinWithMedia(room, 'judy');
      const publication = await judy.client.publish(camera());
      // Offers H.264 only, where judy sends VP8.
      const h264Only = () => new MediaPeer({ codecs: { audio: [useOPUS()], video: [useH264()] } }).pc;
      const mallory = await t.join({ room, user: 'mallory', createPeerConnection: h264Only, mediaTimeoutMs: 15_000 });
      const started = Date.now();
      await assert.rejects(mallory.client.subscribe(publication.id), (error: Error) => {
        assert.ok(error instanceof MediaError, String(error));
        assert.doesNotMatch(error.message, /within/, 'the portal’s reason, not a timeout');
        return true;
      });
      assert.ok(Date.now() - started < 10_000, 'without waiting for a timeout');
      const audioOnly = await mallory.client.subscribe(publication.id, ['audio']);
      await flowing('mallory receiving audio', countRtp(audioOnly.tracks.audio));
      judy.client.close();
      mallory.client.close();
    });

    test('a viewer’s publish is refused as unauthorized and leaves its connection usable for a subscription', async () => {
      const room = (await t.management.createRoom('client-viewer'))._id;
      const grace = await joinWithMedia(room, 'grace');
      const publication = await grace.client.publish(camera());
      const viewer = await joinWithMedia(room, 'heidi', 'viewer');

      await assert.rejects(viewer.client.publish(camera()), new ConferenceRequestError('unauthorized'));
      assert.equal(viewer.client.transportId, undefined);
      await assert.rejects(viewer.client.subscribe('no-such-stream'), MediaError);
      const toViewer = await subscribeAndCount(viewer.client, publication.id);
      assert.equal(viewer.client.transportId, toViewer.subscription.id);
      await flowing('the viewer receiving video', toViewer.video);
      grace.client.close();
      viewer.client.close();
    });
  });
});

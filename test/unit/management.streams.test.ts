/**
 * The management API's streams (SPEC-MEDIA M7) through the embedded server: werift clients publish
 * and subscribe, the REST calls pause, play and stop their streams, and the clients see it.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { StreamUpdate } from '../../src/client/management-client.js';
import { createMAuthHeader } from '../../src/management/index.js';
import { leaveAll, MediaClient, mediaParticipant, mediaWait, progressOf, streamEvents } from '../support/media-client.js';
import { MediaPeer } from '../support/media-peer.js';
import { refusal, type Tenant } from '../support/management-api.js';
import { received, startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

let t: TestServer;
let tenant: Tenant;

before(async () => {
  t = await startTestServer({ webrtc: { portRange: '29000-29999' } });
  tenant = await t.tenant('other service');
});
afterEach(() => MediaPeer.closeAll());
after(async () => {
  await MediaPeer.closeAll();
  await t.stop();
});

async function freshRoom(name: string): Promise<string> {
  return (await t.management.createRoom(name))._id;
}

const participant = (room: string, user: string, role?: string) => mediaParticipant(t, room, user, role);

/** A request signed as the super service, for paths the project's client does not call. */
async function raw(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://127.0.0.1:${t.server.management.port}${path}`, {
    method,
    headers: { authorization: createMAuthHeader(t.superService), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const pause = (kind: 'audio' | 'video'): StreamUpdate => ({ op: 'replace', path: `/media/${kind}/status`, value: 'inactive' });
const play = (kind: 'audio' | 'video'): StreamUpdate => ({ op: 'replace', path: `/media/${kind}/status`, value: 'active' });

describe('management API streams', () => {
  test('a room nobody is in has no streams: the list is empty, and a stream is 404/1004 to GET, PATCH and DELETE', async () => {
    const room = await freshRoom('quiet');
    assert.deepEqual(await t.management.getStreams(room), []);
    const notFound = { status: 404, code: 1004, message: 'Stream not found' };
    assert.deepEqual(await refusal(t.management.getStream(room, 'nothing')), notFound);
    assert.deepEqual(await refusal(t.management.updateStream(room, 'nothing', [pause('video')])), notFound);
    assert.deepEqual(await refusal(t.management.deleteStream(room, 'nothing')), notFound);
  });

  test('an unknown room, and another service\'s room, are 404/1003 on every streams route; an unsigned request is 401', async () => {
    const theirs = await freshRoom('not the tenant\'s');
    const alice = await participant(theirs, 'alice');
    const published = await alice.publish(['audio']);
    try {
      for (const [client, room] of [[t.management, 'no-such-room'], [tenant.client, theirs]] as const) {
        for (const request of [
          () => client.getStreams(room),
          () => client.getStream(room, published.id),
          () => client.updateStream(room, published.id, [pause('audio')]),
          () => client.deleteStream(room, published.id),
        ]) {
          assert.deepEqual(await refusal(request()), { status: 404, code: 1003, message: 'Room not found' });
        }
      }
      const unsigned = await fetch(`http://127.0.0.1:${t.server.management.port}/v1/rooms/${theirs}/streams`);
      assert.deepEqual([unsigned.status, ((await unsigned.json()) as { error: { code: number } }).error.code], [401, 1101]);
      assert.equal((await t.management.getStream(theirs, published.id)).media.tracks[0]!.status, 'active');
      assert.deepEqual(await tenant.client.getStreams((await tenant.client.createRoom('own'))._id), []);
    } finally {
      await leaveAll(alice);
    }
  });

  test('the list and each stream are the StreamInfo that "stream add" and the login answer carry, under /v1 and /v1.1', async () => {
    const room = await freshRoom('listed');
    const alice = await participant(room, 'alice');
    const published = await alice.publish(['video', 'audio'], { label: 'front door' });
    const bob = await participant(room, 'bob');
    try {
      const [added] = await received(alice.notifications, 'stream');
      const info = (added!.data as { data: unknown }).data;
      assert.deepEqual((bob.participant.result['room'] as { streams: unknown[] }).streams, [info]);
      assert.deepEqual(await t.management.getStreams(room), [info]);
      assert.deepEqual(await t.management.getStream(room, published.id), info);
      assert.deepEqual(await raw('GET', `/v1.1/rooms/${room}/streams`), { status: 200, body: [info] });
      assert.deepEqual(await raw('GET', `/v1.1/rooms/${room}/streams/${published.id}`), { status: 200, body: info });
      assert.deepEqual(await refusal(t.management.getStream(room, 'unknown')), { status: 404, code: 1004, message: 'Stream not found' });
    } finally {
      await leaveAll(alice, bob);
    }
  });

  test('a publication not ready yet is not listed', async () => {
    const room = await freshRoom('pending');
    const alice = await participant(room, 'alice');
    try {
      // Published but never negotiated: it never becomes ready.
      const session = await alice.request('publish', { media: { tracks: [{ type: 'audio', mid: '0', source: 'mic' }] }, transport: { type: 'webrtc' } });
      assert.deepEqual(await t.management.getStreams(room), []);
      assert.equal((await refusal(t.management.getStream(room, session.id))).code, 1004);
      assert.equal((await refusal(t.management.deleteStream(room, session.id))).code, 1004);
    } finally {
      await leaveAll(alice);
    }
  });

  test('PATCH pauses and plays tracks as stream-control does: everyone sees each update and the subscriber gets nothing while paused', async () => {
    const room = await freshRoom('patched');
    const alice = await participant(room, 'alice');
    const published = await alice.publish(['video', 'audio']);
    const pump = published.senders[0]!.source;
    const bob = await participant(room, 'bob');
    try {
      const subscribed = await bob.subscribe(published.id, ['video']);
      const video = subscribed.received.get('video')!;
      await waitFor('video at bob', () => video.length >= 5 || `${video.length}`, mediaWait);

      const paused = await t.management.updateStream(room, published.id, [pause('video'), pause('audio')]);
      assert.deepEqual(paused.media.tracks.map((track) => [track.type, track.status]), [['video', 'inactive'], ['audio', 'inactive']]);
      for (const client of [alice, bob]) {
        await waitFor(`the updates at ${client.user}`, () => streamEvents(client, 'update').length === 2 || `${streamEvents(client, 'update').length}`, mediaWait);
        assert.deepEqual(streamEvents(client, 'update'), [
          { id: published.id, status: 'update', data: { field: 'video.status', value: 'inactive' } },
          { id: published.id, status: 'update', data: { field: 'audio.status', value: 'inactive' } },
        ]);
      }
      const pausedAt = video.length;
      const sentAtPause = pump.sent;
      await waitFor('ten more packets sent', () => pump.sent >= sentAtPause + 10 || 'not yet', mediaWait);
      assert.ok(video.length - pausedAt <= 2, `${video.length - pausedAt} packets forwarded while paused`);

      // The same status again changes nothing and tells nobody; the last of two updates of a kind counts.
      const played = await t.management.updateStream(room, published.id, [pause('audio'), play('video'), pause('video'), play('video')]);
      assert.deepEqual(played.media.tracks.map((track) => track.status), ['active', 'inactive']);
      await waitFor('video again at bob', () => video.length >= pausedAt + 10 || `${video.length - pausedAt}`, mediaWait);
      assert.deepEqual(streamEvents(bob, 'update').slice(2), [{ id: published.id, status: 'update', data: { field: 'video.status', value: 'active' } }]);
      assert.deepEqual(await t.management.getStream(room, published.id), played);

      const v11 = await raw('PATCH', `/v1.1/rooms/${room}/streams/${published.id}`, [play('audio')]);
      assert.equal(v11.status, 200);
      await waitFor('the audio update at bob', () => streamEvents(bob, 'update').length === 4 || `${streamEvents(bob, 'update').length}`, mediaWait);
    } finally {
      await leaveAll(alice, bob);
    }
  });

  test('PATCH refuses mixing with 400/1301 and other operations with 400/1301 saying what is wrong, and changes nothing', async () => {
    const room = await freshRoom('refused');
    const alice = await participant(room, 'alice');
    const published = await alice.publish(['video']);
    try {
      const refusals: Array<[unknown, string | RegExp]> = [
        [[{ op: 'add', path: '/info/inViews', value: 'common' }], 'Mixing is not supported'],
        [[{ op: 'remove', path: '/info/inViews', value: 'common' }], 'Mixing is not supported'],
        [[{ op: 'replace', path: '/info/layout/0/stream', value: published.id }], 'Mixing is not supported'],
        [[pause('video'), { op: 'replace', path: '/info/layout', value: [] }], 'Mixing is not supported'],
        [[{ op: 'add', path: '/media/video/status', value: 'inactive' }], 'Invalid json op'],
        [[{ op: 'replace', path: '/media/video/format', value: 'inactive' }], 'Invalid json path'],
        [[pause('video'), { op: 'replace', path: '/media/audio', value: 'inactive' }], 'Invalid json path'],
        [[{ op: 'replace', path: '/media/video/status', value: 'paused' }], 'Invalid json value'],
        [[{ op: 'replace', path: '/media/video/status' }], 'Invalid json value'],
        [[], /^body must NOT have fewer than 1 items$/],
        [{ op: 'replace', path: '/media/video/status', value: 'inactive' }, /^body must be array$/],
        [[{ op: 'replace', path: '/media/video/status', value: 'inactive', from: 'x' }], 'body/0/from is not allowed'],
        [[{ path: '/media/video/status', value: 'inactive' }], 'body/0/op is required'],
      ];
      for (const [body, message] of refusals) {
        const refused = await refusal(t.management.updateStream(room, published.id, body as StreamUpdate[]));
        assert.deepEqual([refused.status, refused.code], [400, 1301], JSON.stringify(body));
        if (typeof message === 'string') assert.equal(refused.message, message, JSON.stringify(body));
        else assert.match(refused.message, message, JSON.stringify(body));
      }
      assert.equal((await t.management.getStream(room, published.id)).media.tracks[0]!.status, 'active');
      assert.deepEqual(streamEvents(alice, 'update'), []);
    } finally {
      await leaveAll(alice);
    }
  });

  test('DELETE stops the stream as an unpublish: everyone sees it removed, its subscription ends, its owner is told', async () => {
    const room = await freshRoom('stopped');
    const alice = await participant(room, 'alice');
    const published = await alice.publish(['video']);
    const bob = await participant(room, 'bob');
    const carol = await participant(room, 'carol');
    try {
      const subscribed = await bob.subscribe(published.id, ['video']);
      await t.management.deleteStream(room, published.id);
      for (const client of [alice, bob, carol]) {
        await waitFor(`the removal at ${client.user}`, () => streamEvents(client, 'remove').length === 1 || 'none', mediaWait);
        assert.deepEqual(streamEvents(client, 'remove'), [{ id: published.id, status: 'remove' }]);
      }
      assert.deepEqual(progressOf(bob.notifications, (data) => data['status'] === 'error'), [
        { id: subscribed.transportId, sessionId: subscribed.id, status: 'error', data: 'Source stream loss' },
      ]);
      assert.deepEqual(progressOf(alice.notifications, (data) => data['status'] === 'error'), [
        { id: published.transportId, sessionId: published.id, status: 'error', data: 'Stream stopped by the service' },
      ]);
      assert.deepEqual(await t.management.getStreams(room), []);
      assert.deepEqual(await refusal(t.management.deleteStream(room, published.id)), { status: 404, code: 1004, message: 'Stream not found' });
      await assert.rejects(alice.send('unpublish', { id: published.id }), { message: 'Stream does NOT exist' });
      await assert.rejects(bob.send('unsubscribe', { id: subscribed.id }), { message: 'Subscription does NOT exist' });

      // Everyone stays in the room, and the owner may publish again on the same transport.
      const again = await alice.publish(['audio']);
      assert.deepEqual((await t.management.getStreams(room)).map((stream) => stream.id), [again.id]);
      const v11 = await raw('DELETE', `/v1.1/rooms/${room}/streams/${again.id}`);
      assert.deepEqual(v11, { status: 200, body: undefined });
      await waitFor('the second removal at carol', () => streamEvents(carol, 'remove').length === 2 || 'one', mediaWait);
    } finally {
      await leaveAll(alice, bob, carol);
    }
  });

  test('streaming-ins, streaming-outs, recordings and sipcalls answer 501/2002 under /v1 and /v1.1, after the room is checked', async () => {
    const room = await freshRoom('unsupported');
    for (const version of ['/v1', '/v1.1']) {
      for (const resource of ['streaming-ins', 'streaming-outs', 'recordings', 'sipcalls']) {
        for (const [method, suffix, body] of [
          ['GET', '', undefined],
          ['POST', '', { url: 'rtsp://camera.example/stream' }],
          ['GET', '/some-id', undefined],
          ['PATCH', '/some-id', [{ op: 'replace', path: '/x', value: 1 }]],
          ['DELETE', '/some-id', undefined],
        ] as const) {
          const path = `${version}/rooms/${room}/${resource}${suffix}`;
          assert.deepEqual(await raw(method, path, body), {
            status: 501,
            body: { error: { code: 2002, message: `${resource} are not supported: this server only forwards WebRTC streams` } },
          }, `${method} ${path}`);
        }
        assert.deepEqual(await raw('GET', `${version}/rooms/no-such-room/${resource}`), {
          status: 404,
          body: { error: { code: 1003, message: 'Room not found' } },
        });
      }
    }
    const tenantsView = await fetch(`http://127.0.0.1:${t.server.management.port}/v1/rooms/${room}/recordings`, {
      headers: { authorization: createMAuthHeader(tenant.credentials) },
    });
    assert.deepEqual([tenantsView.status, await tenantsView.json()], [404, { error: { code: 1003, message: 'Room not found' } }]);
  });

  test('the super service lists and stops the streams of any service\'s room; a tenant may not', async () => {
    const room = (await tenant.client.createRoom('tenant room'))._id;
    const token = await tenant.client.createToken(room, 'alice', 'presenter');
    const joined = t.client();
    const notifications: Array<{ event: string; data: unknown }> = [];
    joined.on('notification', (notification) => notifications.push(notification));
    const result = await joined.join(token);
    const alice = new MediaClient({ client: joined, id: result['id'] as string, result, notifications });
    const published = await alice.publish(['audio']);
    try {
      assert.deepEqual((await t.management.getClusterStreams(room)).map((stream) => [stream.id, stream.info.owner]), [[published.id, alice.id]]);
      assert.deepEqual(await refusal(tenant.client.getClusterStreams(room)), { status: 403, code: 1102, message: 'Permission denied' });
      assert.equal((await refusal(tenant.client.deleteClusterStream(room, published.id))).code, 1102);
      assert.equal((await refusal(t.management.getClusterStreams('no-such-room'))).code, 1003);
      await t.management.deleteClusterStream(room, published.id);
      await waitFor('the removal at alice', () => streamEvents(alice, 'remove').length === 1 || 'none', mediaWait);
      assert.deepEqual(await tenant.client.getStreams(room), []);
      assert.equal((await refusal(t.management.deleteClusterStream(room, published.id))).code, 1004);
    } finally {
      await leaveAll(alice);
    }
  });
});

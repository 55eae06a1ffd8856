/**
 * The media plane when its webrtc agent goes away (SPEC-MEDIA M6): the room's streams are removed,
 * every transport on it ends with a `progress` error, the participants stay, and once a webrtc
 * agent is back they publish again on a new transport.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Agent } from '../../src/agent/index.js';
import { inProcessNodes, startAgentOf } from '../../src/components.js';
import { createLogger } from '../../src/logger.js';
import { MediaClient, mediaWait, progressOf } from '../support/media-client.js';
import { MediaPeer, openUdpSockets } from '../support/media-peer.js';
import { received, startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { mediaEngines } from '../support/engines.js';

for (const engine of mediaEngines) describe(`on the ${engine} engine`, () => {
  let t: TestServer;
  let socketsBefore: number;
  let replacement: Agent | undefined;

  before(async () => {
    socketsBefore = openUdpSockets();
    t = await startTestServer({ webrtc: { engine, portRange: '27000-27999' } });
  });
  afterEach(() => MediaPeer.closeAll());
  after(async () => {
    await MediaPeer.closeAll();
    await replacement?.close();
    await t.stop();
  });

  describe('media faults', () => {
    test('a webrtc agent that quits takes its streams along; the participants stay and publish again on another', async () => {
      const room = (await t.management.createRoom('agent-quits'))._id;
      const alice = new MediaClient(await t.join({ room, user: 'alice' }));
      const bob = new MediaClient(await t.join({ room, user: 'bob' }));
      const published = await alice.publish(['video']);
      const subscribed = await bob.subscribe(published.id, ['video']);
      const video = subscribed.received.get('video')!;
      await waitFor('video at bob', () => video.length >= 5 || `${video.length}`, mediaWait);

      await t.server.webrtcAgent.close();
      const transportError = (client: MediaClient, transportId: string) =>
        progressOf(client.notifications, (data) => data['id'] === transportId && data['sessionId'] === undefined && data['status'] === 'error');
      await waitFor('the transport errors', () =>
        (transportError(alice, published.transportId).length === 1 && transportError(bob, subscribed.transportId).length === 1) || 'not yet', mediaWait);
      assert.equal(transportError(alice, published.transportId)[0]!['data'], 'Media node lost');
      const removals = (await received(bob.notifications, 'stream', 2)).map((notice) => notice.data as { status: string; id: string });
      assert.deepEqual(removals.at(-1), { id: published.id, status: 'remove' });
      await assert.rejects(alice.send('unpublish', { id: published.id }), { message: 'Stream does NOT exist' });
      await bob.participant.client.send('all', 'still here');
      await received(alice.notifications, 'text');

      const { config, store, bus } = t.server;
      const infrastructure = { config, store, bus, logger: createLogger('silent') };
      replacement = await startAgentOf('webrtc', infrastructure, inProcessNodes('webrtc', infrastructure));
      const again = new MediaClient(alice.participant);
      const republished = await again.publish(['audio']);
      assert.notEqual(republished.transportId, published.transportId);

      for (const client of [alice, bob, again]) await client.close();
      for (const client of [alice, bob]) client.participant.client.close();
      await waitFor('the new webrtc node to give the room up', () => {
        const busy = replacement!.nodes.snapshot().filter((node) => node.room !== null);
        return busy.length === 0 || `busy: ${JSON.stringify(busy)}`;
      }, mediaWait);
      await waitFor('every UDP socket to close', () => openUdpSockets() <= socketsBefore || `${openUdpSockets() - socketsBefore} open`, mediaWait);
    });
  });
});

/**
 * The media plane across a cluster of real processes (SPEC-MEDIA M2, M6): two portals, two
 * conference agents and two webrtc agents; two library clients on different portals publish to
 * and subscribe to each other. A webrtc agent or node killed with -9 takes its streams and
 * transports along, the participants stay, and media flows again through what is left.
 */
import assert from 'node:assert/strict';
import { afterEach, describe } from 'node:test';
import { MediaClient, progressOf, type Published, type Subscribed } from '../support/media-client.js';
import { MediaPeer } from '../support/media-peer.js';
import { clusterTest, notified, slow, type Participant, type ProcessCluster } from '../support/process-cluster.js';
import { waitFor } from '../support/wait.js';

afterEach(() => MediaPeer.closeAll());

const enough = 5;

function arrived(subscribed: Subscribed): string {
  return [...subscribed.received].map(([kind, packets]) => `${packets.length} ${kind}`).join(', ');
}

function flowing(subscribed: Subscribed): boolean {
  return [...subscribed.received.values()].every((packets) => packets.length >= enough);
}

/** Alice publishes video and audio, Bob video; each subscribes to the other's; waits for packets both ways. */
async function talking(alice: Participant, bob: Participant) {
  const aliceMedia = new MediaClient(alice);
  const bobMedia = new MediaClient(bob);
  const fromAlice = await aliceMedia.publish(['video', 'audio']);
  const fromBob = await bobMedia.publish(['video']);
  const atBob = await bobMedia.subscribe(fromAlice.id, ['video', 'audio']);
  const atAlice = await aliceMedia.subscribe(fromBob.id, ['video']);
  await waitFor('media both ways', () => (flowing(atBob) && flowing(atAlice)) || `bob: ${arrived(atBob)}; alice: ${arrived(atAlice)}`, slow);
  return { aliceMedia, bobMedia, fromAlice, fromBob };
}

/** Both transports ended with `Media node lost`, both streams removed for both, and both still talk. */
async function assertMediaLostParticipantsStay(
  [alice, bob]: [Participant, Participant],
  [aliceMedia, bobMedia]: [MediaClient, MediaClient],
  streams: Published[],
): Promise<void> {
  for (const media of [aliceMedia, bobMedia]) {
    const transportErrors = () =>
      progressOf(media.notifications, (data) => data['id'] === media.transportId && data['sessionId'] === undefined && data['status'] === 'error');
    await waitFor(`${media.user}'s transport to end`, () => transportErrors().length === 1 || `${transportErrors().length} transport errors`, slow);
    assert.equal(transportErrors()[0]!['data'], 'Media node lost');
  }
  for (const participant of [alice, bob]) {
    for (const { id } of streams) {
      await notified(participant, 'stream', (data) => JSON.stringify(data) === JSON.stringify({ id, status: 'remove' }));
    }
  }
  await alice.client.send('all', 'still here');
  await notified(bob, 'text', (data) => (data as { message?: string }).message === 'still here');
  assert.equal(alice.notifications.some(({ event }) => event === 'drop'), false);
  assert.equal(bob.notifications.some(({ event }) => event === 'drop'), false);
}

/** New transports for both: Alice publishes again and Bob receives it. */
async function flowsAgain(alice: Participant, bob: Participant, lostTransports: string[]): Promise<void> {
  const aliceAgain = new MediaClient(alice);
  const bobAgain = new MediaClient(bob);
  const republished = await aliceAgain.publish(['video', 'audio']);
  assert.ok(!lostTransports.includes(republished.transportId), 'a new transport');
  const atBob = await bobAgain.subscribe(republished.id, ['video', 'audio']);
  await waitFor('media again at bob', () => flowing(atBob) || arrived(atBob), slow);
}

async function twoOnDifferentPortals(cluster: ProcessCluster): Promise<[Participant, Participant]> {
  await cluster.start({ portals: 2, agents: 2, webrtcAgents: 2 });
  const alice = await cluster.join('alice');
  const bob = await cluster.join('bob');
  assert.notEqual(alice.portalUrl, bob.portalUrl);
  return [alice, bob];
}

describe('cluster mode: media', () => {
  clusterTest('kill -9 of the webrtc agent holding a room: its streams and transports end, the participants stay, and media flows again through the other agent', async (cluster) => {
    const [alice, bob] = await twoOnDifferentPortals(cluster);
    const room = await cluster.sampleRoom();
    const { aliceMedia, bobMedia, fromAlice, fromBob } = await talking(alice, bob);
    const lost = await cluster.nodeOf(room, 'webrtc');

    await lost.agent.kill();
    await assertMediaLostParticipantsStay([alice, bob], [aliceMedia, bobMedia], [fromAlice, fromBob]);
    await flowsAgain(alice, bob, [aliceMedia.transportId!, bobMedia.transportId!]);
    const again = await cluster.nodeOf(room, 'webrtc');
    assert.notEqual(again.agent, lost.agent);
  });

  clusterTest('kill -9 of a webrtc node alone: the same, and its agent serves the room again', async (cluster) => {
    const [alice, bob] = await twoOnDifferentPortals(cluster);
    const room = await cluster.sampleRoom();
    const { aliceMedia, bobMedia, fromAlice, fromBob } = await talking(alice, bob);
    const lost = await cluster.nodeOf(room, 'webrtc');

    process.kill(lost.process.pid, 'SIGKILL');
    await assertMediaLostParticipantsStay([alice, bob], [aliceMedia, bobMedia], [fromAlice, fromBob]);
    await flowsAgain(alice, bob, [aliceMedia.transportId!, bobMedia.transportId!]);
    const again = await cluster.nodeOf(room, 'webrtc');
    assert.notEqual(again.node, lost.node);
  });
});

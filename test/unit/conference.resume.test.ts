import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CLUSTER_EVENTS, type ClusterEvent } from '../../src/cluster/api.js';
import { ConferenceErrors } from '../../src/conference/index.js';
import { participant, startConferenceHarness, type ConferenceHarness, type Recorder } from '../support/conference.js';

const RECONNECTION_TIMEOUT = 300;

describe('conference node: participants of a portal that is gone', () => {
  let h: ConferenceHarness;
  let portalA: Recorder;
  let portalB: Recorder;

  beforeEach(async () => {
    h = await startConferenceHarness({ portal: { reconnectionTimeout: RECONNECTION_TIMEOUT, messageBufferSize: 5 } });
    portalA = await h.portal('portal-a');
    portalB = await h.portal('portal-b');
    await h.createRoom('room-1');
    await h.rpc.call('join', ['room-1', participant('stays', { portal: 'portal-b' })]);
    await h.rpc.call('join', ['room-1', participant('moves', { portal: 'portal-a' })]);
    await portalB.waitForCalls(1);
    portalA.calls.length = 0;
    portalB.calls.length = 0;
  });
  afterEach(() => h.close());

  const quit = (id: string) =>
    h.bus.publish(CLUSTER_EVENTS, { type: 'worker-quit', purpose: 'portal', id } satisfies ClusterEvent);

  it('holds what a participant misses after its portal quit and hands it over on resume elsewhere', async () => {
    quit('portal-a');
    await new Promise((resolve) => setImmediate(resolve));
    await h.rpc.call('text', ['stays', 'moves', 'one']);
    await h.rpc.call('text', ['stays', 'all', 'two']);
    const held = await h.rpc.call('resume', ['moves', 'portal-b']);
    assert.deepEqual(held, [
      { event: 'text', data: { from: 'stays', to: 'me', message: 'one' } },
      { event: 'text', data: { from: 'stays', to: 'all', message: 'two' } },
    ]);
    assert.equal(portalA.calls.length, 0);
    await h.rpc.call('text', ['stays', 'moves', 'three']);
    await portalB.waitForCalls(1, 'notify');
    assert.deepEqual(portalB.argsOf('notify'), [['moves', 'text', { from: 'stays', to: 'me', message: 'three' }]]);
    assert.equal((await h.rpc.call('getParticipant', ['room-1', 'moves'])).portal, 'portal-b');
  });

  it('a delivery to a portal that stopped serving holds the lost message too', async () => {
    await h.killPortal('portal-a');
    await h.rpc.call('text', ['stays', 'moves', 'lost in transit']);
    // Nothing outside the node shows that the failed delivery came back; give it a moment.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await h.rpc.call('text', ['stays', 'moves', 'after']);
    assert.deepEqual(await h.rpc.call('resume', ['moves', 'portal-b']), [
      { event: 'text', data: { from: 'stays', to: 'me', message: 'lost in transit' } },
      { event: 'text', data: { from: 'stays', to: 'me', message: 'after' } },
    ]);
  });

  it('a participant not resumed within the reconnection timeout leaves and the others are told', async () => {
    quit('portal-a');
    const [leave] = await portalB.waitForCalls(1, 'broadcast');
    assert.deepEqual(leave!.args, ['room-1', ['moves'], 'participant', { action: 'leave', data: 'moves' }]);
    await assert.rejects(h.rpc.call('resume', ['moves', 'portal-b']), { message: ConferenceErrors.notJoined });
  });

  it('a portal that only looked gone (a broker blip) is told to drop the participant it gave up', async () => {
    quit('portal-a');
    await portalA.waitForCalls(1, 'drop');
    assert.deepEqual(portalA.argsOf('drop'), [['moves']]);
  });

  it('a participant that misses more than the buffer holds is given up at once', async () => {
    quit('portal-a');
    await new Promise((resolve) => setImmediate(resolve));
    for (let index = 0; index < 6; index++) await h.rpc.call('text', ['stays', 'moves', `m${index}`]);
    await portalB.waitForCalls(1, 'broadcast');
    await assert.rejects(h.rpc.call('resume', ['moves', 'portal-b']), { message: ConferenceErrors.notJoined });
  });

  it('a resume while the old portal is alive moves the participant and tells the old portal to release it', async () => {
    assert.deepEqual(await h.rpc.call('resume', ['moves', 'portal-b']), []);
    await portalA.waitForCalls(1, 'release');
    assert.deepEqual(portalA.argsOf('release'), [['moves']]);
    // The old portal's leave arrives late and is ignored: the participant lives on portal B now.
    await h.rpc.call('leave', ['moves', 'portal-a']);
    assert.equal((await h.rpc.call('getParticipant', ['room-1', 'moves'])).portal, 'portal-b');
    await h.rpc.call('leave', ['moves', 'portal-b']);
    await assert.rejects(h.rpc.call('getParticipant', ['room-1', 'moves']), { message: ConferenceErrors.participantNotFound });
  });
});

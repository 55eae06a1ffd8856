import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ConferenceErrors } from '../../src/conference/index.js';
import { participant, startConferenceHarness, type ConferenceHarness, type Recorder } from '../support/conference.js';

const joined = (id: string) => ({ action: 'join', data: { id, user: `user-${id}`, role: 'presenter' } });
const left = (id: string) => ({ action: 'leave', data: id });

describe('conference node notifications', () => {
  let h: ConferenceHarness;
  let portalA: Recorder;
  let portalB: Recorder;

  beforeEach(async () => {
    h = await startConferenceHarness();
    portalA = await h.portal('portal-a');
    portalB = await h.portal('portal-b');
  });
  afterEach(() => h.close());

  /** p1 and p3 on portal A, p2 on portal B; returns once their join notifications have arrived. */
  async function joinThree(): Promise<void> {
    await h.rpc.call('join', ['room-1', participant('p1', { portal: 'portal-a' })]);
    await h.rpc.call('join', ['room-1', participant('p2', { portal: 'portal-b' })]);
    await h.rpc.call('join', ['room-1', participant('p3', { portal: 'portal-a' })]);
    await portalA.waitForCalls(2);
    await portalB.waitForCalls(1);
  }

  function forget(): void {
    portalA.calls.length = 0;
    portalB.calls.length = 0;
  }

  it('a join is broadcast once to each portal holding someone else, with the joiner excluded', async () => {
    await h.createRoom('room-1');
    await joinThree();

    // p1's own join concerned nobody else, but it was numbered too.
    assert.deepEqual(portalA.calls, [
      { method: 'broadcast', args: ['room-1', ['p2'], 'participant', joined('p2'), 2] },
      { method: 'broadcast', args: ['room-1', ['p3'], 'participant', joined('p3'), 3] },
    ]);
    assert.deepEqual(portalB.calls, [{ method: 'broadcast', args: ['room-1', ['p3'], 'participant', joined('p3'), 3] }]);
  });

  it('a leave is broadcast to the portals of the remaining participants only', async () => {
    await h.createRoom('room-1');
    await joinThree();
    forget();

    await h.rpc.call('leave', ['p3']);
    await h.rpc.call('leave', ['p2']);
    await portalA.waitForCalls(2);
    await portalB.waitForCalls(1);

    assert.deepEqual(portalA.calls, [
      { method: 'broadcast', args: ['room-1', ['p3'], 'participant', left('p3'), 4] },
      { method: 'broadcast', args: ['room-1', ['p2'], 'participant', left('p2'), 5] },
    ]);
    assert.deepEqual(portalB.calls, [{ method: 'broadcast', args: ['room-1', ['p3'], 'participant', left('p3'), 4] }]);
  });

  it("leaving twice, or without having joined, fails with 'Participant has not joined'", async () => {
    await assert.rejects(h.rpc.call('leave', ['p1']), { message: ConferenceErrors.notJoined });
    await h.createRoom('room-1');
    await h.rpc.call('join', ['room-1', participant('p1')]);
    await h.rpc.call('leave', ['p1']);
    await assert.rejects(h.rpc.call('leave', ['p1']), { message: ConferenceErrors.notJoined });
  });

  it('with participantActivities off, joins and leaves are not announced', async () => {
    await h.createRoom('room-1', { notifying: { participantActivities: false, streamChange: true } });
    await h.rpc.call('join', ['room-1', participant('p1', { portal: 'portal-a' })]);
    await h.rpc.call('join', ['room-1', participant('p2', { portal: 'portal-b' })]);
    await h.rpc.call('join', ['room-1', participant('p3', { portal: 'portal-b' })]);
    await h.rpc.call('leave', ['p3']);

    // Casts arrive in order, so once this text is in, any announcement would be in too.
    await h.rpc.call('text', ['p1', 'all', 'marker']);
    await portalA.waitForCalls(1, 'broadcast');
    await portalB.waitForCalls(1, 'broadcast');
    const marker = { method: 'broadcast', args: ['room-1', [], 'text', { from: 'p1', to: 'all', message: 'marker' }, 1] };
    assert.deepEqual(portalA.calls, [marker]);
    assert.deepEqual(portalB.calls, [marker]);
  });

  it("a text to 'all' is broadcast once per portal to everyone, the sender included", async () => {
    await h.createRoom('room-1');
    await joinThree();
    forget();

    await h.rpc.call('text', ['p2', 'all', 'hello']);
    await portalA.waitForCalls(1);
    await portalB.waitForCalls(1);

    const expected = { method: 'broadcast', args: ['room-1', [], 'text', { from: 'p2', to: 'all', message: 'hello' }, 4] };
    assert.deepEqual(portalA.calls, [expected]);
    assert.deepEqual(portalB.calls, [expected]);
  });

  it("a text to one participant reaches only that participant's portal, addressed to 'me'", async () => {
    await h.createRoom('room-1');
    await joinThree();
    forget();

    await h.rpc.call('text', ['p1', 'p3', 'psst']);
    await h.rpc.call('text', ['p3', 'p2', 'marker']);
    await portalB.waitForCalls(1);
    await portalA.waitForCalls(1);

    assert.deepEqual(portalA.calls, [{ method: 'notify', args: ['p3', 'text', { from: 'p1', to: 'me', message: 'psst' }, 4] }]);
    assert.deepEqual(portalB.calls, [{ method: 'notify', args: ['p2', 'text', { from: 'p3', to: 'me', message: 'marker' }, 5] }]);
  });

  it('a text from someone who has not joined, or to someone absent, is refused', async () => {
    await assert.rejects(h.rpc.call('text', ['p1', 'all', 'hi']), { message: ConferenceErrors.notJoined });
    await h.createRoom('room-1');
    await h.rpc.call('join', ['room-1', participant('p1')]);

    await assert.rejects(h.rpc.call('text', ['ghost', 'all', 'hi']), { message: ConferenceErrors.notJoined });
    await assert.rejects(h.rpc.call('text', ['p1', 'ghost', 'hi']), { message: 'Target participant does NOT exist: ghost' });
  });

  it("a text longer than maxTextLength fails with 'Text is too long' and one at the limit goes through", async () => {
    await h.createRoom('room-1');
    await h.rpc.call('join', ['room-1', participant('p1')]);
    const limit = h.config.conference.maxTextLength;
    assert.equal(limit, 2048);

    await assert.rejects(h.rpc.call('text', ['p1', 'all', 'x'.repeat(limit + 1)]), { message: ConferenceErrors.textTooLong });
    await h.rpc.call('text', ['p1', 'all', 'x'.repeat(limit)]);
    const [call] = await portalA.waitForCalls(1);
    assert.equal((call!.args[3] as { message: string }).message.length, limit);
  });

  it('dropping a participant asks its portal to drop it and tells the others it left', async () => {
    await h.createRoom('room-1');
    await joinThree();
    forget();

    const dropped = await h.rpc.call('dropParticipant', ['room-1', 'p2']);
    await portalB.waitForCalls(1);
    await portalA.waitForCalls(1);

    assert.deepEqual(
      { id: dropped.id, user: dropped.user, role: dropped.role, portal: dropped.portal },
      { id: 'p2', user: 'user-p2', role: 'presenter', portal: 'portal-b' },
    );
    assert.deepEqual(portalB.calls, [{ method: 'drop', args: ['p2'] }]);
    assert.deepEqual(portalA.calls, [{ method: 'broadcast', args: ['room-1', ['p2'], 'participant', left('p2'), 4] }]);
    const remaining = await h.rpc.call('getParticipants', ['room-1']);
    assert.deepEqual(remaining.map((p) => p.id), ['p1', 'p3']);
  });

  it("dropping someone absent fails with 'Participant does NOT exist', and in another room with 'Room not found'", async () => {
    await h.createRoom('room-1');
    await h.rpc.call('join', ['room-1', participant('p1')]);

    await assert.rejects(h.rpc.call('dropParticipant', ['room-1', 'ghost']), { message: ConferenceErrors.participantNotFound });
    await assert.rejects(h.rpc.call('dropParticipant', ['room-2', 'p1']), { message: ConferenceErrors.roomNotFound });
  });
});

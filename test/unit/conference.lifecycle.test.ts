import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BusErrors } from '../../src/bus/index.js';
import { ConferenceErrors } from '../../src/conference/index.js';
import {
  NODE_ID,
  participant,
  roomDocument,
  startConferenceHarness,
  type ConferenceHarness,
} from '../support/conference.js';

const IDLE_MS = 100;
const recycled = (room: string) => [NODE_ID, { room, task: room }];

describe('conference node room lifecycle', () => {
  let h: ConferenceHarness;

  beforeEach(async () => {
    h = await startConferenceHarness({ conference: { idleRoomTimeout: IDLE_MS } });
    await h.portal('portal-a');
  });
  afterEach(() => h.close());

  it('an empty room is destroyed after the idle timeout, the agent recycles it, and the next join reloads the stored room', async () => {
    await h.createRoom('room-1');
    await h.rpc.call('join', ['room-1', participant('p1')]);
    const emptiedAt = Date.now();
    await h.rpc.call('leave', ['p1']);

    await h.agent.waitForCalls(1, 'recycleNode');
    assert.ok(Date.now() - emptiedAt >= IDLE_MS, 'destroyed before the idle timeout');
    assert.deepEqual(h.agent.argsOf('recycleNode'), [recycled('room-1')]);
    await assert.rejects(h.rpc.call('getParticipants', ['room-1']), { message: ConferenceErrors.roomNotFound });

    const stored = roomDocument('room-1');
    await h.store.updateRoom({ ...stored, roles: stored.roles.filter((role) => role.role !== 'viewer') });
    await assert.rejects(h.rpc.call('join', ['room-1', participant('p2', { role: 'viewer' })]), {
      message: ConferenceErrors.invalidRole,
    });
    const rejoined = await h.rpc.call('join', ['room-1', participant('p2')]);
    assert.deepEqual(rejoined.room.participants.map((p) => p.id), ['p2']);
    assert.equal(h.roomLoads(), 2);
  });

  it('a join during the idle window cancels the destruction', async () => {
    await h.createRoom('room-1');
    await h.rpc.call('join', ['room-1', participant('p1')]);
    await h.rpc.call('leave', ['p1']);
    await h.rpc.call('join', ['room-1', participant('p2')]);

    // Nothing to wait for when nothing should happen: let the cancelled countdown's deadline pass.
    await sleep(IDLE_MS * 3);
    assert.deepEqual(h.agent.argsOf('recycleNode'), []);
    const listed = await h.rpc.call('getParticipants', ['room-1']);
    assert.deepEqual(listed.map((p) => p.id), ['p2']);
    assert.equal(h.roomLoads(), 1);
  });

  it('a room whose only join was refused is destroyed when idle too', async () => {
    await h.createRoom('room-1');
    await assert.rejects(h.rpc.call('join', ['room-1', participant('p1', { role: 'nobody' })]), {
      message: ConferenceErrors.invalidRole,
    });

    await h.agent.waitForCalls(1, 'recycleNode');
    assert.deepEqual(h.agent.argsOf('recycleNode'), [recycled('room-1')]);
  });

  it('a room missing from the store is given back to the agent at once, so the node is not kept for it', async () => {
    await assert.rejects(h.rpc.call('join', ['room-1', participant('p1')]), { message: ConferenceErrors.roomNotFound });

    await h.agent.waitForCalls(1, 'recycleNode');
    assert.deepEqual(h.agent.argsOf('recycleNode'), [recycled('room-1')]);
  });

  it('once its room is destroyed, the node can host another room', async () => {
    await h.createRoom('room-1');
    await h.createRoom('room-2');
    await h.rpc.call('join', ['room-1', participant('p1')]);
    await h.rpc.call('dropParticipant', ['room-1', 'p1']);
    await h.agent.waitForCalls(1, 'recycleNode');

    const joined = await h.rpc.call('join', ['room-2', participant('p2')]);
    assert.equal(joined.room.id, 'room-2');
    await assert.rejects(h.rpc.call('join', ['room-1', participant('p3')]), { message: ConferenceErrors.roomClash });
  });

  it('close can be called again, stops serving and cancels the idle countdown', async () => {
    await h.createRoom('room-1');
    await h.rpc.call('join', ['room-1', participant('p1')]);
    await h.rpc.call('leave', ['p1']);

    await Promise.all([h.node.close(), h.node.close()]);
    await h.node.close();
    await assert.rejects(h.rpc.call('getParticipants', ['room-1']), { message: BusErrors.unreachable(NODE_ID) });
    await sleep(IDLE_MS * 3);
    assert.deepEqual(h.agent.argsOf('recycleNode'), []);
  });
});

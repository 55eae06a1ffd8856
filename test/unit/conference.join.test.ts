import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { BusErrors } from '../../src/bus/index.js';
import { ConferenceErrors } from '../../src/conference/index.js';
import { participant, startConferenceHarness, type ConferenceHarness } from '../support/conference.js';
import { waitFor } from '../support/wait.js';

const both = { audio: true, video: true };

describe('conference node join', () => {
  let h: ConferenceHarness;

  beforeEach(async () => {
    h = await startConferenceHarness();
    await h.portal('portal-a');
  });
  afterEach(() => h.close());

  it('a join returns the role permission and the room with every participant, the joiner included', async () => {
    await h.createRoom('room-1');
    const first = await h.rpc.call('join', ['room-1', participant('p1')]);
    const second = await h.rpc.call('join', ['room-1', participant('p2', { role: 'viewer' })]);

    assert.deepEqual(first.permission, { publish: both, subscribe: both });
    assert.deepEqual(second, {
      permission: { publish: false, subscribe: both },
      room: {
        id: 'room-1',
        views: [],
        participants: [
          { id: 'p1', user: 'user-p1', role: 'presenter' },
          { id: 'p2', user: 'user-p2', role: 'viewer' },
        ],
        streams: [],
      },
    });
  });

  it('a role that allows one medium gets exactly that medium and false where it allows nothing', async () => {
    await h.createRoom('room-1');
    const audioOnly = await h.rpc.call('join', ['room-1', participant('p1', { role: 'audio_only_presenter' })]);
    const videoViewer = await h.rpc.call('join', ['room-1', participant('p2', { role: 'video_only_viewer' })]);

    assert.deepEqual(audioOnly.permission, {
      publish: { audio: true, video: false },
      subscribe: { audio: true, video: false },
    });
    assert.deepEqual(videoViewer.permission, { publish: false, subscribe: { audio: false, video: true } });
  });

  it("a join at the participant limit fails with 'Room is full' until someone leaves", async () => {
    await h.createRoom('room-1', { participantLimit: 2 });
    await h.rpc.call('join', ['room-1', participant('p1')]);
    await h.rpc.call('join', ['room-1', participant('p2')]);

    await assert.rejects(h.rpc.call('join', ['room-1', participant('p3')]), { message: ConferenceErrors.roomFull });
    await h.rpc.call('leave', ['p1']);
    const joined = await h.rpc.call('join', ['room-1', participant('p3')]);
    assert.deepEqual(joined.room.participants.map((p) => p.id), ['p2', 'p3']);
  });

  it("a join with a role the room does not define fails with 'Invalid role' and adds nobody", async () => {
    await h.createRoom('room-1');
    await assert.rejects(h.rpc.call('join', ['room-1', participant('p1', { role: 'admin' })]), {
      message: ConferenceErrors.invalidRole,
    });
    assert.deepEqual(await h.rpc.call('getParticipants', ['room-1']), []);
  });

  it("a join to a room missing from the store fails with 'Room not found', and a later join loads it once created", async () => {
    await assert.rejects(h.rpc.call('join', ['room-1', participant('p1')]), { message: ConferenceErrors.roomNotFound });
    await h.createRoom('room-1');
    const joined = await h.rpc.call('join', ['room-1', participant('p1')]);
    assert.equal(joined.room.id, 'room-1');
    assert.equal(h.roomLoads(), 2);
  });

  it('concurrent joins to a fresh room all wait for one store load', async () => {
    await h.createRoom('room-1');
    const gate = h.holdRoomLoads();
    const joins = ['p1', 'p2', 'p3'].map((id) => h.rpc.call('join', ['room-1', participant(id)]));
    await waitFor('the first join to start loading the room', () => h.roomLoads() === 1);
    gate.release();

    const results = await Promise.all(joins);
    assert.equal(h.roomLoads(), 1);
    assert.deepEqual(results[2]!.room.participants.map((p) => p.id), ['p1', 'p2', 'p3']);
  });

  it('a store failure during initialisation fails every waiting join, and the next join loads the room again', async () => {
    await h.createRoom('room-1');
    const gate = h.holdRoomLoads();
    const joins = ['p1', 'p2'].map((id) => h.rpc.call('join', ['room-1', participant(id)]));
    await waitFor('the first join to start loading the room', () => h.roomLoads() === 1);
    gate.fail(new Error('database is locked'));

    for (const join of joins) await assert.rejects(join, { message: 'database is locked' });
    assert.equal(h.roomLoads(), 1);
    const joined = await h.rpc.call('join', ['room-1', participant('p1')]);
    assert.deepEqual(joined.room.participants.map((p) => p.id), ['p1']);
    assert.equal(h.roomLoads(), 2);
  });

  it('a leave that arrives while the room loads follows the join waiting on that load, so nobody is left behind', async () => {
    await h.createRoom('room-1');
    const gate = h.holdRoomLoads();
    const join = h.rpc.call('join', ['room-1', participant('p1')]);
    await waitFor('the join to start loading the room', () => h.roomLoads() === 1);
    // As from a portal that gave up on the join; the in-process bus delivers it on the next turn.
    const leave = h.rpc.call('leave', ['p1', 'portal-a']);
    await nextTurn();
    gate.release();

    await Promise.all([join, leave]);
    assert.deepEqual(await h.rpc.call('getParticipants', ['room-1']), []);
  });

  it("a join to another room fails with 'room id clash' while the first room loads and once it is live", async () => {
    await h.createRoom('room-1');
    await h.createRoom('room-2');
    const gate = h.holdRoomLoads();
    const firstJoin = h.rpc.call('join', ['room-1', participant('p1')]);
    await waitFor('the first join to start loading the room', () => h.roomLoads() === 1);

    await assert.rejects(h.rpc.call('join', ['room-2', participant('p2')]), { message: ConferenceErrors.roomClash });
    gate.release();
    await firstJoin;
    await assert.rejects(h.rpc.call('join', ['room-2', participant('p2')]), { message: ConferenceErrors.roomClash });
    assert.equal(h.roomLoads(), 1);
  });

  it('a participant id that has already joined is refused and stays listed once', async () => {
    await h.createRoom('room-1');
    await h.rpc.call('join', ['room-1', participant('p1')]);
    await assert.rejects(h.rpc.call('join', ['room-1', participant('p1', { role: 'viewer' })]), {
      message: ConferenceErrors.alreadyJoined,
    });

    const listed = await h.rpc.call('getParticipants', ['room-1']);
    assert.deepEqual(listed.map(({ id, role }) => ({ id, role })), [{ id: 'p1', role: 'presenter' }]);
  });

  it('arguments of the wrong type are refused with a clear error and leave the room intact', async () => {
    await h.createRoom('room-1');
    await h.rpc.call('join', ['room-1', participant('p1')]);
    const invalid = BusErrors.invalidArgument;
    const calls: Array<[string, unknown[], string]> = [
      ['join', [42, participant('p2')], invalid('room', 'a non-empty string')],
      ['join', ['room-1', null], invalid('participant', 'an object')],
      ['join', ['room-1', 'p2'], invalid('participant', 'an object')],
      ['join', ['room-1', { ...participant('p2'), id: '' }], invalid('participant.id', 'a non-empty string')],
      ['join', ['room-1', { ...participant('p2'), user: undefined }], invalid('participant.user', 'a non-empty string')],
      ['join', ['room-1', { ...participant('p2'), role: ['presenter'] }], invalid('participant.role', 'a non-empty string')],
      ['join', ['room-1', { ...participant('p2'), portal: {} }], invalid('participant.portal', 'a non-empty string')],
      ['join', ['room-1', { ...participant('p2'), origin: 'north' }], invalid('participant.origin', 'an object with optional string isp and region')],
      ['join', ['room-1', { ...participant('p2'), origin: { isp: 7 } }], invalid('participant.origin', 'an object with optional string isp and region')],
      ['leave', [{ id: 'p1' }], invalid('participantId', 'a non-empty string')],
      ['text', [null, 'all', 'hi'], invalid('from', 'a non-empty string')],
      ['text', ['p1', 5, 'hi'], invalid('to', 'a non-empty string')],
      ['text', ['p1', 'all', { toString: 'hi' }], invalid('message', 'a string')],
      ['getParticipants', [], invalid('room', 'a non-empty string')],
      ['getParticipant', ['room-1', 1], invalid('participantId', 'a non-empty string')],
      ['controlParticipant', ['room-1', 'p1', { op: 'replace' }], invalid('updates', 'a list')],
      ['dropParticipant', [['room-1'], 'p1'], invalid('room', 'a non-empty string')],
    ];

    for (const [method, args, message] of calls) {
      await assert.rejects(h.rpc.call(method as 'join', args as never), { message }, `${method}(${JSON.stringify(args)})`);
    }
    const listed = await h.rpc.call('getParticipants', ['room-1']);
    assert.deepEqual(listed.map((p) => p.id), ['p1']);
  });

  it('the participant details keep only the known fields of what the portal sent', async () => {
    await h.createRoom('room-1');
    await h.rpc.call('join', ['room-1', { ...participant('p1'), extra: 'ignored', origin: { region: 'eu', other: 1 } } as never]);

    assert.deepEqual(await h.rpc.call('getParticipant', ['room-1', 'p1']), {
      id: 'p1',
      user: 'user-p1',
      role: 'presenter',
      permission: { publish: both, subscribe: both },
      portal: 'portal-a',
      origin: { region: 'eu' },
    });
  });
});

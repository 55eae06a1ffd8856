import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ConferenceErrors, type Permission } from '../../src/conference/index.js';
import { applyPermissionUpdates, copyOfPermission } from '../../src/conference/permission.js';
import { participant, startConferenceHarness, type ConferenceHarness, type Recorder } from '../support/conference.js';

const both = { audio: true, video: true };
const replace = (path: string, value: unknown) => ({ op: 'replace', path, value });

describe('conference node participant control', () => {
  let h: ConferenceHarness;
  let portal: Recorder;

  beforeEach(async () => {
    h = await startConferenceHarness();
    portal = await h.portal('portal-a');
    await h.createRoom('room-1');
    await h.rpc.call('join', ['room-1', participant('presenter')]);
    await h.rpc.call('join', ['room-1', participant('viewer', { role: 'viewer' })]);
  });
  afterEach(() => h.close());

  async function control(id: string, updates: unknown[]): Promise<Permission> {
    const detail = await h.rpc.call('controlParticipant', ['room-1', id, updates as never]);
    assert.deepEqual(detail.permission, (await h.rpc.call('getParticipant', ['room-1', id])).permission);
    return detail.permission;
  }

  it('getParticipants and getParticipant describe each participant with permission, portal and origin', async () => {
    const listed = await h.rpc.call('getParticipants', ['room-1']);
    assert.deepEqual(listed, [
      {
        id: 'presenter', user: 'user-presenter', role: 'presenter',
        permission: { publish: both, subscribe: both },
        portal: 'portal-a', origin: { isp: 'isp', region: 'region' },
      },
      {
        id: 'viewer', user: 'user-viewer', role: 'viewer',
        permission: { publish: false, subscribe: both },
        portal: 'portal-a', origin: { isp: 'isp', region: 'region' },
      },
    ]);
    assert.deepEqual(await h.rpc.call('getParticipant', ['room-1', 'viewer']), listed[1]);
  });

  it('replacing /permission/publish or /permission/subscribe sets the whole direction, false included', async () => {
    assert.deepEqual(await control('presenter', [replace('/permission/publish', false)]), {
      publish: false,
      subscribe: both,
    });
    assert.deepEqual(await control('viewer', [replace('/permission/publish', { audio: true, video: false })]), {
      publish: { audio: true, video: false },
      subscribe: both,
    });
    assert.deepEqual(await control('viewer', [replace('/permission/subscribe', { audio: false, video: true })]), {
      publish: { audio: true, video: false },
      subscribe: { audio: false, video: true },
    });
    assert.deepEqual(await control('presenter', [replace('/permission/subscribe', false)]), {
      publish: false,
      subscribe: false,
    });
  });

  it('replacing one medium changes only that medium, starting from nothing where the direction was false', async () => {
    assert.deepEqual(await control('presenter', [replace('/permission/publish/audio', false)]), {
      publish: { audio: false, video: true },
      subscribe: both,
    });
    assert.deepEqual(await control('presenter', [replace('/permission/subscribe/video', false)]), {
      publish: { audio: false, video: true },
      subscribe: { audio: true, video: false },
    });
    assert.deepEqual(await control('viewer', [replace('/permission/publish/video', true)]), {
      publish: { audio: false, video: true },
      subscribe: both,
    });
    assert.deepEqual(
      await control('viewer', [replace('/permission/publish/audio', true), replace('/permission/subscribe/audio', false)]),
      { publish: both, subscribe: { audio: false, video: true } },
    );
  });

  it("an op other than replace fails with 'Invalid json op'", async () => {
    for (const update of [{ op: 'add', path: '/permission/publish', value: false }, { path: '/permission/publish', value: false }, null]) {
      await assert.rejects(h.rpc.call('controlParticipant', ['room-1', 'presenter', [update as never]]), {
        message: ConferenceErrors.invalidOp,
      });
    }
  });

  it("a path outside the permission paths fails with 'Invalid json path'", async () => {
    const paths = ['/permission', '/permission/text', '/permission/publish/data', '/role', '/permission/publish/audio/x', 7];
    for (const path of paths) {
      await assert.rejects(h.rpc.call('controlParticipant', ['room-1', 'presenter', [replace(path as string, true)]]), {
        message: ConferenceErrors.invalidPath,
      }, String(path));
    }
  });

  it("a value of the wrong shape fails with 'Invalid json value'", async () => {
    const updates = [
      replace('/permission/publish', true),
      replace('/permission/publish', null),
      replace('/permission/publish', { audio: true }),
      replace('/permission/subscribe', { audio: true, video: 'yes' }),
      replace('/permission/subscribe', { audio: true, video: true, data: true }),
      replace('/permission/publish/audio', 'true'),
      replace('/permission/subscribe/video', { video: true }),
      { op: 'replace', path: '/permission/publish/video' },
    ];
    for (const update of updates) {
      await assert.rejects(h.rpc.call('controlParticipant', ['room-1', 'presenter', [update as never]]), {
        message: ConferenceErrors.invalidValue,
      }, JSON.stringify(update));
    }
  });

  it('a list with one bad update applies none of it', async () => {
    await assert.rejects(
      h.rpc.call('controlParticipant', [
        'room-1',
        'presenter',
        [replace('/permission/publish', false), replace('/permission/subscribe/audio', 'no')],
      ]),
      { message: ConferenceErrors.invalidValue },
    );
    const detail = await h.rpc.call('getParticipant', ['room-1', 'presenter']);
    assert.deepEqual(detail.permission, { publish: both, subscribe: both });
  });

  it("controlling or reading someone absent fails with 'Participant does NOT exist', another room with 'Room not found'", async () => {
    await assert.rejects(h.rpc.call('getParticipant', ['room-1', 'ghost']), { message: ConferenceErrors.participantNotFound });
    await assert.rejects(h.rpc.call('controlParticipant', ['room-1', 'ghost', []]), {
      message: ConferenceErrors.participantNotFound,
    });
    await assert.rejects(h.rpc.call('getParticipants', ['room-2']), { message: ConferenceErrors.roomNotFound });
    await assert.rejects(h.rpc.call('getParticipant', ['room-2', 'presenter']), { message: ConferenceErrors.roomNotFound });
    await assert.rejects(h.rpc.call('controlParticipant', ['room-2', 'presenter', []]), {
      message: ConferenceErrors.roomNotFound,
    });
  });

  it('a permission change is not announced to anyone', async () => {
    await h.rpc.call('controlParticipant', ['room-1', 'viewer', [replace('/permission/publish', both)]]);
    await h.rpc.call('text', ['presenter', 'viewer', 'marker']);

    const calls = await portal.waitForCalls(2);
    assert.deepEqual(calls.map((call) => [call.method, call.args[2]]), [
      ['broadcast', 'participant'],
      ['notify', { from: 'presenter', to: 'me', message: 'marker' }],
    ]);
  });
});

describe('permission values', () => {
  it('an update makes a new permission and leaves the one it started from as it was', () => {
    const current: Permission = { publish: { audio: true, video: false }, subscribe: false };
    const next = applyPermissionUpdates(current, [replace('/permission/publish/video', true), replace('/permission/subscribe', both)]);
    assert.deepEqual(next, { publish: both, subscribe: both });
    assert.deepEqual(current, { publish: { audio: true, video: false }, subscribe: false });
  });

  it('a copy shares no object with the original', () => {
    const original: Permission = { publish: { audio: true, video: false }, subscribe: false };
    const copy = copyOfPermission(original);
    assert.deepEqual(copy, original);
    assert.notEqual(copy.publish, original.publish);
  });
});

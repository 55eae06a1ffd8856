import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PermissionUpdate } from '../../src/conference/api.js';
import { createMAuthHeader } from '../../src/management/index.js';
import { refusal } from '../support/management-api.js';
import { startTestServer, type TestServer } from '../support/server.js';

const everything = { publish: { audio: true, video: true }, subscribe: { audio: true, video: true } };

describe('management API participants', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer();
  });
  after(() => t.stop());

  const freshRoom = async (name: string) => (await t.management.createRoom(name))._id;

  it('a room that no node holds live has no participants', async () => {
    assert.deepEqual(await t.management.getParticipants(await freshRoom('quiet')), []);
  });

  it('a participant of a room that no node holds live is 404/1005', async () => {
    const room = await freshRoom('quiet');
    assert.deepEqual(await refusal(t.management.getParticipant(room, 'anyone')), {
      status: 404,
      code: 1005,
      message: 'Participant not found',
    });
    assert.equal((await refusal(t.management.dropParticipant(room, 'anyone'))).code, 1005);
  });

  it('the live room\'s participants are listed with id, user, role and permission, not where they connect', async () => {
    const room = await freshRoom('listed');
    const ann = await t.join({ room, user: 'ann' });
    const ben = await t.join({ room, user: 'ben', role: 'viewer' });
    const listed = await t.management.getParticipants(room);
    assert.deepEqual(
      listed.map((entry) => [entry.id, entry.user, entry.role]),
      [[ann.id, 'ann', 'presenter'], [ben.id, 'ben', 'viewer']],
    );
    assert.deepEqual(Object.keys(listed[0]!).sort(), ['id', 'permission', 'role', 'user']);
  });

  it('one participant is answered by id, and an unknown one is 404/1005', async () => {
    const room = await freshRoom('one');
    const ann = await t.join({ room, user: 'ann' });
    const found = await t.management.getParticipant(room, ann.id);
    assert.equal(found.user, 'ann');
    assert.deepEqual(found.permission, everything);
    assert.equal((await refusal(t.management.getParticipant(room, 'nobody'))).code, 1005);
  });

  it('PATCH changes a participant\'s permission, by one kind or both, and answers the participant', async () => {
    const room = await freshRoom('patched');
    const ann = await t.join({ room, user: 'ann' });
    const updated = await t.management.updateParticipant(room, ann.id, [
      { op: 'replace', path: '/permission/publish/video', value: false },
    ]);
    assert.deepEqual(updated.permission.publish, { audio: true, video: false });
    await t.management.updateParticipant(room, ann.id, [
      { op: 'replace', path: '/permission/subscribe', value: { audio: false, video: true } },
    ]);
    assert.deepEqual((await t.management.getParticipant(room, ann.id)).permission, {
      publish: { audio: true, video: false },
      subscribe: { audio: false, video: true },
    });
  });

  it('a PATCH the node finds invalid is 400/1301 with the node\'s message', async () => {
    const room = await freshRoom('invalid');
    const ann = await t.join({ room, user: 'ann' });
    assert.deepEqual(
      await refusal(t.management.updateParticipant(room, ann.id, [{ op: 'replace', path: '/permission/publish', value: true }])),
      { status: 400, code: 1301, message: 'Invalid json value' },
    );
    assert.deepEqual((await t.management.getParticipant(room, ann.id)).permission, everything);
  });

  it('PATCH bodies that are not a list of permission replacements are 400/1301 without asking the node', async () => {
    const room = await freshRoom('bodies');
    await t.join({ room, user: 'ann' });
    // The node would answer 404/1005 for this participant: a 400 shows it was not asked.
    for (const body of [
      {},
      [],
      [{ op: 'add', path: '/permission/publish', value: true }],
      [{ op: 'replace', path: '/role', value: 'viewer' }],
      [{ op: 'replace', path: '/permission/publish' }],
      [{ op: 'replace', path: '/permission/publish', value: true, from: 'x' }],
      [{ op: 'replace', path: '/permission/publish/audio', value: 'yes' }],
      [{ op: 'replace', path: '/permission/publish', value: { audio: true, video: true, screen: true } }],
    ]) {
      const refused = await refusal(t.management.updateParticipant(room, 'nobody', body as PermissionUpdate[]));
      assert.deepEqual([refused.status, refused.code], [400, 1301], JSON.stringify(body));
    }
  });

  it('a deeply nested value is 400/1301 with a plain message, and the permission is unchanged', async () => {
    const room = await freshRoom('nested');
    const ann = await t.join({ room, user: 'ann' });
    const nested = (open: string, close: string) => `${open.repeat(10_000)}true${close.repeat(10_000)}`;
    for (const value of [nested('[', ']'), nested('{"a":', '}')]) {
      const body = `[{"op":"replace","path":"/permission/publish/audio","value":${value}}]`;
      const response = await fetch(`http://127.0.0.1:${t.server.management.port}/v1/rooms/${room}/participants/${ann.id}`, {
        method: 'PATCH',
        headers: { authorization: createMAuthHeader(t.superService), 'content-type': 'application/json' },
        body,
      });
      assert.deepEqual(await response.json(), { error: { code: 1301, message: 'Request body is nested too deeply' } });
      assert.equal(response.status, 400);
    }
    const shallow = [{ op: 'replace', path: '/permission/publish/audio', value: [[[true]]] }] as unknown as PermissionUpdate[];
    const refused = await refusal(t.management.updateParticipant(room, ann.id, shallow));
    assert.deepEqual([refused.status, refused.code], [400, 1301]);
    assert.match(refused.message, /^body\/0\/value /);
    assert.deepEqual((await t.management.getParticipant(room, ann.id)).permission, everything);
  });

  it('DELETE drops the participant; dropping it again is 404/1005', async () => {
    const room = await freshRoom('dropped');
    const ann = await t.join({ room, user: 'ann' });
    const ben = await t.join({ room, user: 'ben' });
    await t.management.dropParticipant(room, ann.id);
    assert.deepEqual((await t.management.getParticipants(room)).map((entry) => entry.id), [ben.id]);
    assert.equal((await refusal(t.management.dropParticipant(room, ann.id))).code, 1005);
  });

  // Last: it leaves the server without a cluster manager.
  it('a cluster manager that cannot be reached fails the request with 503/1201', async () => {
    const room = await freshRoom('cut off');
    await t.join({ room, user: 'ann' });
    await t.server.manager.close();
    const refused = await refusal(t.management.getParticipants(room));
    assert.deepEqual([refused.status, refused.code], [503, 1201]);
    assert.match(refused.message, /unreachable/);
  });
});

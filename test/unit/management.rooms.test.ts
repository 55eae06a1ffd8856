import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ManagementClient } from '../../src/client/management-client.js';
import { errorOf, refusal, startManagementHarness, type Credentials, type ManagementHarness } from '../support/management-api.js';

const defaultRoleNames = ['presenter', 'viewer', 'audio_only_presenter', 'video_only_viewer', 'sip'];

describe('management API rooms', () => {
  let harness: ManagementHarness;
  let tenant: Credentials;
  let client: ManagementClient;

  before(async () => {
    harness = await startManagementHarness();
    ({ credentials: tenant, client } = await harness.tenant('rooms-tenant'));
  });
  after(() => harness.close());

  it('a room created without options gets the OWT defaults', async () => {
    const room = await client.createRoom('plain');
    assert.match(room._id, /^[0-9a-f]{24}$/);
    assert.equal(room.name, 'plain');
    assert.equal(room.participantLimit, -1);
    assert.equal(room.inputLimit, -1);
    assert.deepEqual(room.roles.map((role) => role.role), defaultRoleNames);
    assert.deepEqual(room.roles[1], { role: 'viewer', publish: { audio: false, video: false }, subscribe: { audio: true, video: true } });
    assert.deepEqual(room.notifying, { participantActivities: true, streamChange: true });
    assert.deepEqual(room.views.map((view) => view.label), ['common']);
    assert.equal(room.selectActiveAudio, false);
    assert.equal(room.sip, false);
  });

  it('given options are kept and the missing ones take their defaults', async () => {
    const room = await client.createRoom('custom', {
      participantLimit: 3,
      roles: [{ role: 'guest', publish: { audio: true, video: false }, subscribe: { audio: true, video: true } }],
      views: [{ label: 'main' }, { label: 'audio', video: false }],
      notifying: { participantActivities: false, streamChange: true },
    });
    assert.equal(room.participantLimit, 3);
    assert.deepEqual(room.roles, [{ role: 'guest', publish: { audio: true, video: false }, subscribe: { audio: true, video: true } }]);
    assert.deepEqual(room.views.map((view) => view.label), ['main', 'audio']);
    assert.equal(room.views[1]!['video'], false);
    assert.deepEqual(room.notifying, { participantActivities: false, streamChange: true });
    assert.equal(room.inputLimit, -1);
    assert.deepEqual(await client.getRoom(room._id), room);
  });

  it('unknown fields, at the top or deep in the options, are refused with 400/1301 and not stored', async () => {
    const before = (await client.getRooms()).length;
    for (const body of [
      { name: 'x', colour: 'red' },
      { name: 'x', options: { colour: 'red' } },
      { name: 'x', options: { roles: [{ role: 'a', publish: { audio: true, smell: true } }] } },
      { name: 'x', options: { views: [{ label: 'a', video: { sparkle: 1 } }] } },
    ]) {
      const response = await harness.request('POST', '/v1/rooms', { auth: tenant, body: JSON.stringify(body) });
      const error = await errorOf(response);
      assert.equal(error.status, 400, JSON.stringify(body));
      assert.equal(error.code, 1301);
      assert.match(error.message, /is not allowed$/);
    }
    assert.equal((await client.getRooms()).length, before);
  });

  it('wrong types and missing names are refused with 400/1301', async () => {
    for (const body of [
      {},
      { name: '' },
      { name: 42 },
      { name: 'x', options: { participantLimit: '5' } },
      { name: 'x', options: { participantLimit: -2 } },
      { name: 'x', options: { roles: 'presenter' } },
      { name: 'x', options: { sip: true } },
      { name: 'x', options: { notifying: { participantActivities: 'yes' } } },
    ]) {
      const response = await harness.request('POST', '/v1/rooms', { auth: tenant, body: JSON.stringify(body) });
      const error = await errorOf(response);
      assert.deepEqual([error.status, error.code], [400, 1301], JSON.stringify(body));
    }
  });

  it('a body that is not JSON is refused with 400/1301', async () => {
    const error = await errorOf(await harness.request('POST', '/v1/rooms', { auth: tenant, body: '{"name": ' }));
    assert.deepEqual([error.status, error.code], [400, 1301]);
  });

  it('a body above the configured limit is refused with 413/1301', async () => {
    const body = JSON.stringify({ name: 'x'.repeat(harness.config.management.bodyLimit) });
    const error = await errorOf(await harness.request('POST', '/v1/rooms', { auth: tenant, body }));
    assert.deepEqual([error.status, error.code], [413, 1301]);
  });

  it('a role defined twice is refused with 400/1301', async () => {
    const role = { role: 'twin', publish: { audio: true, video: true }, subscribe: { audio: true, video: true } };
    assert.deepEqual(await refusal(client.createRoom('twins', { roles: [role, role] })), {
      status: 400,
      code: 1301,
      message: 'Invalid room option: role "twin" is defined twice',
    });
  });

  it('rooms are listed in creation order, page by page (1-based)', async () => {
    const pager = (await harness.tenant('pager')).client;
    const ids: string[] = [];
    for (const name of ['a', 'b', 'c', 'd', 'e']) ids.push((await pager.createRoom(name))._id);
    assert.deepEqual((await pager.getRooms()).map((room) => room._id), ids);
    assert.deepEqual((await pager.getRooms({ page: 1, perPage: 2 })).map((room) => room._id), ids.slice(0, 2));
    assert.deepEqual((await pager.getRooms({ page: 3, perPage: 2 })).map((room) => room._id), ids.slice(4));
    assert.deepEqual(await pager.getRooms({ page: 4, perPage: 2 }), []);
    const badPage = await errorOf(await harness.request('GET', '/v1/rooms?page=0', { auth: tenant }));
    assert.deepEqual([badPage.status, badPage.code], [400, 1301]);
    const unknownQuery = await errorOf(await harness.request('GET', '/v1/rooms?sort=name', { auth: tenant }));
    assert.deepEqual([unknownQuery.status, unknownQuery.code], [400, 1301]);
  });

  it('PUT replaces the options: given ones are set, left-out ones return to their defaults', async () => {
    const room = await client.createRoom('to-update', { participantLimit: 5, selectActiveAudio: true });
    const updated = await client.updateRoom(room._id, { inputLimit: 2 });
    assert.equal(updated._id, room._id);
    assert.equal(updated.name, 'to-update');
    assert.equal(updated.inputLimit, 2);
    assert.equal(updated.participantLimit, -1);
    assert.equal(updated.selectActiveAudio, false);
    assert.deepEqual(await client.getRoom(room._id), updated);

    const renamed = await client.updateRoom(room._id, { name: 'renamed' });
    assert.equal(renamed.name, 'renamed');
  });

  it('PUT validates like creation: unknown fields and wrong types are 400/1301 and change nothing', async () => {
    const room = await client.createRoom('strict-update');
    for (const body of [{ colour: 'red' }, { participantLimit: 'many' }, { _id: 'other' }]) {
      const response = await harness.request('PUT', `/v1/rooms/${room._id}`, { auth: tenant, body: JSON.stringify(body) });
      assert.deepEqual((await errorOf(response)).code, 1301, JSON.stringify(body));
    }
    assert.deepEqual(await client.getRoom(room._id), room);
  });

  it('DELETE removes the room', async () => {
    const room = await client.createRoom('to-delete');
    await client.deleteRoom(room._id);
    assert.deepEqual(await refusal(client.getRoom(room._id)), { status: 404, code: 1003, message: 'Room not found' });
  });

  it('an unknown room is 404/1003 for every room route', async () => {
    const missing = '0123456789abcdef01234567';
    assert.equal((await refusal(client.getRoom(missing))).code, 1003);
    assert.equal((await refusal(client.updateRoom(missing, {}))).code, 1003);
    assert.equal((await refusal(client.deleteRoom(missing))).code, 1003);
    assert.equal((await refusal(client.createToken(missing, 'u', 'presenter'))).code, 1003);
    assert.equal((await refusal(client.getParticipants(missing))).code, 1003);
  });

  it('a service sees only its own rooms: another service\'s room is 404/1003', async () => {
    const mine = await client.createRoom('private');
    const neighbour = (await harness.tenant('neighbour')).client;
    assert.deepEqual(await neighbour.getRooms(), []);
    for (const attempt of [
      () => neighbour.getRoom(mine._id),
      () => neighbour.updateRoom(mine._id, { participantLimit: 1 }),
      () => neighbour.deleteRoom(mine._id),
      () => neighbour.createToken(mine._id, 'intruder', 'presenter'),
      () => neighbour.getParticipants(mine._id),
    ]) {
      assert.equal((await refusal(attempt())).code, 1003);
    }
    assert.deepEqual(await client.getRoom(mine._id), mine);
  });
});

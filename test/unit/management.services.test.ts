import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { errorOf, refusal, startManagementHarness, type ManagementHarness } from '../support/management-api.js';

const serviceNotFound = { status: 404, code: 1002, message: 'Service not found' };

describe('management API services', () => {
  let harness: ManagementHarness;

  before(async () => {
    harness = await startManagementHarness();
  });
  after(() => harness.close());

  it('the super service creates a service with a random key, shown only in the creation answer', async () => {
    const first = await harness.superClient.createService('alpha');
    const second = await harness.superClient.createService('beta');
    assert.match(first._id, /^[0-9a-f]{24}$/);
    assert.ok(first.key.length >= 32);
    assert.notEqual(first.key, second.key);
    assert.deepEqual(first.rooms, []);

    const listed = await harness.superClient.getServices();
    const alpha = listed.find((service) => service._id === first._id);
    assert.deepEqual(alpha, { _id: first._id, name: 'alpha', rooms: [] });
    assert.ok(listed.every((service) => !('key' in service)));
  });

  it('a created service can authenticate with its key and owns the rooms it creates', async () => {
    const { credentials, client } = await harness.tenant('owner');
    const room = await client.createRoom('owned');
    assert.deepEqual(await harness.superClient.getService(credentials.serviceId), { _id: credentials.serviceId, name: 'owner', rooms: [room._id] });
  });

  it('deleting a service deletes its rooms and its access', async () => {
    const { credentials, client } = await harness.tenant('leaving');
    const room = await client.createRoom('gone-with-it');
    await harness.superClient.deleteService(credentials.serviceId);
    assert.deepEqual(await refusal(harness.superClient.getService(credentials.serviceId)), serviceNotFound);
    assert.equal(await harness.store.getRoom(room._id), undefined);
    const refused = await refusal(client.getRooms());
    assert.deepEqual([refused.status, refused.code], [401, 1101]);
  });

  it('an unknown service is 404/1002', async () => {
    assert.deepEqual(await refusal(harness.superClient.getService('ffffffffffffffffffffffff')), serviceNotFound);
    const refused = await refusal(harness.superClient.deleteService('ffffffffffffffffffffffff'));
    assert.deepEqual([refused.status, refused.code], [404, 1002]);
  });

  it('the super service cannot delete itself', async () => {
    assert.deepEqual(await refusal(harness.superClient.deleteService(harness.superService.serviceId)), {
      status: 403,
      code: 1102,
      message: 'Super service not permitted to be deleted',
    });
    assert.ok(await harness.store.getService(harness.superService.serviceId));
  });

  it('a service body with unknown fields or no name is 400/1301', async () => {
    for (const body of [{}, { name: '' }, { name: 'x', key: 'chosen-by-me' }, { name: ['x'] }]) {
      const error = await errorOf(await harness.request('POST', '/services', { body: JSON.stringify(body) }));
      assert.deepEqual([error.status, error.code], [400, 1301], JSON.stringify(body));
    }
  });
});

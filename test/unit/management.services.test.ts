import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManagementApiError } from '../../src/client/management-client.js';
import { errorOf, startManagementHarness, type ManagementHarness } from '../support/management-api.js';

describe('management API services', () => {
  let harness: ManagementHarness;

  before(async () => {
    harness = await startManagementHarness();
  });
  after(() => harness.close());

  const codeOf = (promise: Promise<unknown>) =>
    promise.then(
      () => assert.fail('the request should have been refused'),
      (error: unknown) => {
        assert.ok(error instanceof ManagementApiError);
        return [error.status, error.code, error.message];
      },
    );

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
    const created = await harness.superClient.createService('owner');
    const room = await harness.client({ serviceId: created._id, key: created.key }).createRoom('owned');
    assert.deepEqual(await harness.superClient.getService(created._id), { _id: created._id, name: 'owner', rooms: [room._id] });
  });

  it('deleting a service deletes its rooms and its access', async () => {
    const created = await harness.superClient.createService('leaving');
    const client = harness.client({ serviceId: created._id, key: created.key });
    const room = await client.createRoom('gone-with-it');
    await harness.superClient.deleteService(created._id);
    assert.deepEqual(await codeOf(harness.superClient.getService(created._id)), [404, 1002, 'Service not found']);
    assert.equal(await harness.store.getRoom(room._id), undefined);
    assert.deepEqual((await codeOf(client.getRooms())).slice(0, 2), [401, 1101]);
  });

  it('an unknown service is 404/1002', async () => {
    assert.deepEqual(await codeOf(harness.superClient.getService('ffffffffffffffffffffffff')), [404, 1002, 'Service not found']);
    assert.deepEqual((await codeOf(harness.superClient.deleteService('ffffffffffffffffffffffff'))).slice(0, 2), [404, 1002]);
  });

  it('the super service cannot delete itself', async () => {
    assert.deepEqual(await codeOf(harness.superClient.deleteService(harness.superService.serviceId)), [
      403,
      1102,
      'Super service not permitted to be deleted',
    ]);
    assert.ok(await harness.store.getService(harness.superService.serviceId));
  });

  it('a service body with unknown fields or no name is 400/1301', async () => {
    for (const body of [{}, { name: '' }, { name: 'x', key: 'chosen-by-me' }, { name: ['x'] }]) {
      const error = await errorOf(await harness.request('POST', '/services', { body: JSON.stringify(body) }));
      assert.deepEqual([error.status, error.code], [400, 1301], JSON.stringify(body));
    }
  });
});

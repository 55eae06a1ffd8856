import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ManagementClient } from '../../src/client/management-client.js';
import { refusal } from '../support/management-api.js';
import { received, startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

describe('the super service watches the whole cluster', () => {
  let t: TestServer;
  let tenant: ManagementClient;
  let tenantId: string;

  before(async () => {
    t = await startTestServer();
    const created = await t.tenant('tenant');
    tenantId = created.credentials.serviceId;
    tenant = created.client;
  });

  after(() => t.stop());

  async function joinTenantRoom(room: string, user: string) {
    const client = t.client();
    const notifications: Array<{ event: string; data: unknown }> = [];
    client.on('notification', (notification) => notifications.push(notification));
    const result = await client.join(await tenant.createToken(room, user, 'presenter'));
    return { client, id: result['id'] as string, notifications };
  }

  test('workers are listed with purpose, address, load, state and task counts', async () => {
    const { client } = await t.join({ user: 'worker-watcher' });
    await waitFor('the portal and the agent holding a task each', async () => {
      const workers = await t.management.getWorkers();
      const tasksOf = (purpose: string) => workers.find((worker) => worker.purpose === purpose)?.tasks ?? 0;
      return (tasksOf('portal') >= 1 && tasksOf('conference') >= 1) || JSON.stringify(workers);
    });
    const workers = await t.management.getWorkers();
    const portal = workers.find((worker) => worker.purpose === 'portal')!;
    assert.equal(portal.id, t.server.portal.id);
    assert.equal(portal.address.endsWith(`:${t.server.portal.port}`), true);
    assert.equal(portal.state, 2);
    assert.equal(typeof portal.load, 'number');
    assert.equal(portal.maxLoad, t.server.config.cluster.maxLoad);
    assert.equal(typeof portal.reservations, 'number');
    assert.deepEqual(workers.map((worker) => worker.purpose).sort(), ['conference', 'portal', 'webrtc']);
    await client.leave();
  });

  test("every service's rooms are listed with how many participants each has", async () => {
    const room = await tenant.createRoom('tenant-room');
    const ann = await joinTenantRoom(room._id, 'ann');
    await joinTenantRoom(room._id, 'ben');
    const summary = async () => (await t.management.getClusterRooms()).find((each) => each._id === room._id);
    await waitFor('two participants counted', async () => (await summary())?.participants === 2 || JSON.stringify(await summary()));
    assert.deepEqual((await summary())!.service, { _id: tenantId, name: 'tenant' });
    assert.equal((await summary())!.name, 'tenant-room');
    assert.ok((await t.management.getClusterRooms()).some((each) => each._id === t.sampleRoom));

    await ann.client.leave();
    await waitFor('one participant counted', async () => (await summary())?.participants === 1 || JSON.stringify(await summary()));
  });

  test("a room's participants are listed with their role and the portal they are connected to", async () => {
    const room = await tenant.createRoom('placements');
    const cleo = await joinTenantRoom(room._id, 'cleo');
    const placements = await t.management.getClusterParticipants(room._id);
    assert.deepEqual(placements, [{ id: cleo.id, user: 'cleo', role: 'presenter', portal: t.server.portal.id, connected: true }]);
    assert.deepEqual(await t.management.getClusterParticipants((await tenant.createRoom('empty'))._id), []);
  });

  test('a participant whose portal waits for it to reconnect is listed as not connected', async () => {
    const room = await tenant.createRoom('waiting');
    const gil = await joinTenantRoom(room._id, 'gil');
    const hal = await joinTenantRoom(room._id, 'hal');
    hal.client.socket.io.reconnection(false);
    hal.client.socket.io.engine.close();
    await waitFor('hal to be listed as away', async () => {
      const placements = await t.management.getClusterParticipants(room._id);
      return placements.find((each) => each.id === hal.id)?.connected === false || JSON.stringify(placements);
    });
    const placements = await t.management.getClusterParticipants(room._id);
    assert.equal(placements.find((each) => each.id === gil.id)?.connected, true);
    gil.client.close();
  });

  test("the super service drops a participant from another service's room and the others see it leave", async () => {
    const room = await tenant.createRoom('dropping');
    const dana = await joinTenantRoom(room._id, 'dana');
    const eli = await joinTenantRoom(room._id, 'eli');
    await t.management.dropClusterParticipant(room._id, eli.id);
    await received(eli.notifications, 'drop');
    const [left] = (await received(dana.notifications, 'participant', 2)).slice(1);
    assert.deepEqual(left!.data, { action: 'leave', data: eli.id });
    assert.deepEqual(
      (await t.management.getClusterParticipants(room._id)).map((each) => each.user),
      ['dana'],
    );
  });

  test('an unknown room or participant is answered 404', async () => {
    const unknownRoom = await refusal(t.management.getClusterParticipants('no-such-room'));
    assert.deepEqual([unknownRoom.status, unknownRoom.code], [404, 1003]);
    const room = await tenant.createRoom('nobody');
    await joinTenantRoom(room._id, 'fay');
    const unknownParticipant = await refusal(t.management.dropClusterParticipant(room._id, 'nobody'));
    assert.deepEqual([unknownParticipant.status, unknownParticipant.code], [404, 1005]);
  });

  test('any other service is refused with 403 on every cluster route', async () => {
    const room = await tenant.createRoom('private');
    // Made one at a time: a refusal that arrived before its turn would go unhandled.
    const attempts = [
      () => tenant.getWorkers(),
      () => tenant.getClusterRooms(),
      () => tenant.getClusterParticipants(room._id),
      () => tenant.dropClusterParticipant(room._id, 'someone'),
    ];
    for (const attempt of attempts) {
      const error = await refusal(attempt());
      assert.deepEqual([error.status, error.code], [403, 1102]);
    }
  });
});

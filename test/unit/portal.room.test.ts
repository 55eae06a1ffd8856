import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Notification } from '../../src/client/conference-client.js';
import { CLUSTER_EVENTS, type ClusterEvent } from '../../src/cluster/api.js';
import { ask, disconnected, rawSocket, userAgent } from '../support/raw-socket.js';
import { received, startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
after(() => t.stop());

async function freshRoom(name: string): Promise<string> {
  const room = await t.management.createRoom(name);
  return room._id;
}

describe('participants in a room', () => {
  test('a second participant sees participant join and leave (1.2 and 1.1)', async () => {
    const room = await freshRoom('join-leave');
    const first = await t.join({ room, user: 'first', protocol: '1.2' });
    const second = await t.join({ room, user: 'second', protocol: '1.1', sdk: { type: 'C++', version: '5.0' } });
    const [joined] = await received(first.notifications, 'participant');
    assert.deepEqual(joined!.data, { action: 'join', data: { id: second.id, user: 'second', role: 'presenter' } });
    const ids = ((second.result['room'] as any).participants as Array<{ id: string }>).map((p) => p.id).sort();
    assert.deepEqual(ids, [first.id, second.id].sort());
    await second.client.leave();
    const events = await received(first.notifications, 'participant', 2);
    assert.deepEqual(events[1]!.data, { action: 'leave', data: second.id });
    first.client.close();
  });

  test('a legacy participant sees user_join and user_leave', async () => {
    const room = await freshRoom('legacy');
    const legacy = await t.join({ room, user: 'old', protocol: 'legacy' });
    const modern = await t.join({ room, user: 'new', protocol: '1.2' });
    const [joined] = await received(legacy.notifications, 'user_join');
    assert.deepEqual(joined!.data, { user: { id: modern.id, name: 'new', role: 'presenter' } });
    await modern.client.leave();
    const [left] = await received(legacy.notifications, 'user_leave');
    assert.deepEqual(left!.data, { user: { id: modern.id } });
    legacy.client.close();
  });

  test('text to all reaches everyone with to "all"; text to one reaches only that one with to "me"', async () => {
    const room = await freshRoom('text');
    const alice = await t.join({ room, user: 'alice' });
    const bob = await t.join({ room, user: 'bob' });
    const carol = await t.join({ room, user: 'carol', protocol: 'legacy' });
    await alice.client.send('all', 'hello everyone');
    for (const who of [alice, bob]) {
      const [text] = await received(who.notifications, 'text');
      assert.deepEqual(text!.data, { from: alice.id, to: 'all', message: 'hello everyone' });
    }
    const [custom] = await received(carol.notifications, 'custom_message');
    assert.deepEqual(custom!.data, { from: alice.id, to: 'all', data: 'hello everyone' });

    await carol.client.send(bob.id, 'psst');
    const texts = await received(bob.notifications, 'text', 2);
    assert.deepEqual(texts[1]!.data, { from: carol.id, to: 'me', message: 'psst' });
    await alice.client.send(carol.id, 'to the legacy one');
    const customs = await received(carol.notifications, 'custom_message', 2);
    assert.deepEqual(customs[1]!.data, { from: alice.id, to: 'me', data: 'to the legacy one' });
    assert.equal(alice.notifications.filter((n) => n.event === 'text').length, 1);
    for (const who of [alice, bob, carol]) who.client.close();
  });

  test('text to a participant that is not in the room fails with its SPEC message', async () => {
    const room = await freshRoom('missing-target');
    const alice = await t.join({ room, user: 'alice' });
    await assert.rejects(alice.client.send('nobody-here', 'hi'), { message: 'Target participant does NOT exist: nobody-here' });
    alice.client.close();
  });

  test('drop from the REST API sends drop, closes the client, and the others see it leave', async () => {
    const room = await freshRoom('drop');
    const stays = await t.join({ room, user: 'stays' });
    const dropped = await t.join({ room, user: 'dropped' });
    const gone = disconnected(dropped.client.socket);
    await t.management.dropParticipant(room, dropped.id);
    await received(dropped.notifications, 'drop');
    await gone;
    const events = await received(stays.notifications, 'participant', 2);
    assert.deepEqual(events[1]!.data, { action: 'leave', data: dropped.id });
    assert.equal(dropped.client.state, 'dropped');
    const ticket = dropped.client.reconnectionTicket!;
    const again = await rawSocket(t.portalUrl);
    assert.deepEqual(await ask(again, 'relogin', ticket), { status: 'error', data: 'Reconnection is not allowed' });
    stays.client.close();
  });

  for (const lost of ['node', 'agent'] as const) {
    test(`participants whose conference ${lost} is reported dead get drop and are disconnected`, async () => {
      const room = await freshRoom(`dead ${lost}`);
      const elsewhere = await t.join({ room: await freshRoom(`alive ${lost}`) });
      const victims = [await t.join({ room }), await t.join({ room, protocol: 'legacy' })];
      const controller = t.server.portal.registry.get(victims[0]!.id)!.controller;
      const gone = victims.map((victim) => disconnected(victim.client.socket));
      const event: ClusterEvent =
        lost === 'node'
          ? { type: 'node-lost', agent: controller.agent, node: controller.node }
          : { type: 'worker-quit', purpose: 'conference', id: controller.agent };
      // Two rooms share one agent here, so only the node case spares the other room.
      t.server.bus.publish(CLUSTER_EVENTS, event);
      for (const victim of victims) await received(victim.notifications, 'drop');
      await Promise.all(gone);
      assert.equal(elsewhere.client.socket.connected, lost === 'node');
      elsewhere.client.close();
    });
  }

  test('deleting a room through the REST API drops everyone in it', async () => {
    const room = await freshRoom('deleted');
    const members = [await t.join({ room }), await t.join({ room, protocol: 'legacy' })];
    const gone = members.map((member) => disconnected(member.client.socket));
    await t.management.deleteRoom(room);
    for (const member of members) await received(member.notifications, 'drop');
    await Promise.all(gone);
    await waitFor('the room to be let go', () => t.server.agent.nodes.queryNode(room) === null || 'still hosted');
    await assert.rejects(t.management.getRoom(room), { status: 404 });
  });

  test("deleting a service through the REST API drops everyone in its rooms, and its unused tokens log nobody in", async () => {
    const tenant = await t.tenant('leaving');
    const room = (await tenant.client.createRoom('theirs'))._id;
    const member = t.client();
    const notifications: Notification[] = [];
    member.on('notification', (notification: Notification) => notifications.push(notification));
    await member.join(await tenant.client.createToken(room, 'member', 'presenter'));
    const unused = await tenant.client.createToken(room, 'late', 'presenter');
    const gone = disconnected(member.socket);
    await t.management.deleteService(tenant.credentials.serviceId);
    await received(notifications, 'drop');
    await gone;
    await waitFor('the room to be let go', () => t.server.agent.nodes.queryNode(room) === null || 'still hosted');
    const late = await rawSocket(t.portalUrl);
    assert.deepEqual(await ask(late, 'login', { token: unused, userAgent: userAgent(), protocol: '1.2' }), {
      status: 'error',
      data: 'Token does NOT exist',
    });
  });

  test('a viewer joining a room at its participant limit gets Room is full', async () => {
    const room = (await t.management.createRoom('small', { participantLimit: 1 }))._id;
    const first = await t.join({ room });
    const socket = await rawSocket(t.portalUrl);
    assert.deepEqual(await ask(socket, 'login', { token: await t.token(room), userAgent: userAgent(), protocol: '1.2' }), {
      status: 'error',
      data: 'Room is full',
    });
    first.client.close();
  });

  test('a room left empty is recreated on the next join', async () => {
    const room = await freshRoom('idle');
    const first = await t.join({ room });
    await first.client.leave();
    await waitFor('the idle room to be handed back', async () => (await t.server.agent.nodes.queryNode(room)) === null);
    const second = await t.join({ room });
    assert.deepEqual(((second.result['room'] as any).participants as Array<{ id: string }>).map((p) => p.id), [second.id]);
    second.client.close();
  });
});

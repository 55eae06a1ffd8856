import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ask, cutTransport, disconnected, rawSocket, userAgent } from '../support/raw-socket.js';
import { received, startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
after(() => t.stop());

const forge = (fields: Record<string, unknown>) => Buffer.from(JSON.stringify(fields)).toString('base64');

describe('login', () => {
  test('a 1.2 client gets ok with id, user, role, permission, room and a reconnection ticket', async () => {
    const socket = await rawSocket(t.portalUrl);
    const token = await t.token(t.sampleRoom, 'alice', 'presenter');
    const answer = await ask(socket, 'login', { token, userAgent: userAgent(), protocol: '1.2' });
    assert.equal(answer.status, 'ok');
    const data = answer.data as Record<string, any>;
    assert.equal(data.id, socket.id);
    assert.equal(data.user, 'alice');
    assert.equal(data.role, 'presenter');
    assert.deepEqual(data.permission, { publish: { audio: true, video: true }, subscribe: { audio: true, video: true } });
    assert.equal(data.room.id, t.sampleRoom);
    assert.deepEqual(data.room.views, []);
    assert.deepEqual(data.room.streams, []);
    assert.ok(data.room.participants.some((p: { id: string }) => p.id === socket.id));
    const ticket = JSON.parse(Buffer.from(data.reconnectionTicket, 'base64').toString());
    assert.deepEqual(Object.keys(ticket).sort(), ['notAfter', 'notBefore', 'participantId', 'signature', 'ticketId']);
    assert.equal(ticket.participantId, socket.id);
    assert.equal(ticket.notAfter - ticket.notBefore, t.server.config.portal.reconnectionTicketLifetime);
    socket.close();
  });

  test('a 1.1 native client gets ok and a ticket; an SDK that does not reconnect gets no ticket', async () => {
    const native = await rawSocket(t.portalUrl);
    const nativeAnswer = await ask(native, 'login', { token: await t.token(), userAgent: userAgent('C++', '5.0'), protocol: '1.1' });
    assert.equal(nativeAnswer.status, 'ok');
    assert.equal(typeof (nativeAnswer.data as any).reconnectionTicket, 'string');
    const other = await rawSocket(t.portalUrl);
    const otherAnswer = await ask(other, 'login', { token: await t.token(), userAgent: userAgent('Python', '1'), protocol: '1.1' });
    assert.equal(otherAnswer.status, 'ok');
    assert.equal((otherAnswer.data as any).reconnectionTicket, undefined);
    native.close();
    other.close();
  });

  test('a legacy client gets success with clientId, id, streams and users', async () => {
    const socket = await rawSocket(t.portalUrl);
    const answer = await ask(socket, 'login', { token: await t.token(t.sampleRoom, 'bob', 'viewer'), userAgent: userAgent() });
    assert.equal(answer.status, 'success');
    const data = answer.data as Record<string, any>;
    assert.equal(data.clientId, socket.id);
    assert.equal(data.id, t.sampleRoom);
    assert.deepEqual(data.streams, []);
    assert.ok(data.users.some((u: any) => u.id === socket.id && u.name === 'bob' && u.role === 'viewer'));
    assert.equal(typeof data.reconnectionTicket, 'string');
    socket.close();
  });

  const failures: Array<[string, () => Promise<unknown>, string]> = [
    ['an unknown protocol', async () => ({ token: await t.token(), userAgent: userAgent(), protocol: '2.0' }), 'Unknown client protocol'],
    ['SDK version 3.5', async () => ({ token: await t.token(), userAgent: userAgent('JavaScript', '3.5'), protocol: '1.2' }), 'Deprecated client version'],
    ['no user agent', async () => ({ token: await t.token(), protocol: '1.2' }), 'User agent info is incorrect'],
    ['a user agent without sdk.version', async () => ({ token: await t.token(), userAgent: { sdk: { type: 'JavaScript' } }, protocol: '1.1' }), 'User agent info is incorrect'],
    ['a token that is not base64 JSON', async () => ({ token: '%%%not-base64%%%', userAgent: userAgent(), protocol: '1.2' }), 'Invalid token'],
    ['a token that is base64 but not JSON', async () => ({ token: Buffer.from('hello').toString('base64'), userAgent: userAgent(), protocol: '1.2' }), 'Invalid token'],
    ['a badly signed token', async () => {
      const genuine = JSON.parse(Buffer.from(await t.token(), 'base64').toString());
      return { token: forge({ ...genuine, signature: Buffer.from('0'.repeat(64)).toString('base64') }), userAgent: userAgent(), protocol: '1.2' };
    }, 'Invalid token signature'],
    ['a token with another host than it was signed for', async () => {
      const genuine = JSON.parse(Buffer.from(await t.token(), 'base64').toString());
      return { token: forge({ ...genuine, host: 'evil.example:443' }), userAgent: userAgent(), protocol: '1.2' };
    }, 'Invalid token signature'],
    ['a token given a WebTransport URL that is the text "undefined"', async () => {
      const genuine = JSON.parse(Buffer.from(await t.token(), 'base64').toString());
      return { token: forge({ ...genuine, webTransportUrl: 'undefined' }), userAgent: userAgent(), protocol: '1.2' };
    }, 'Invalid token signature'],
    ['a token whose id or host holds a comma', async () => {
      const genuine = JSON.parse(Buffer.from(await t.token(), 'base64').toString());
      return { token: forge({ ...genuine, host: `${genuine.host},undefined` }), userAgent: userAgent(), protocol: '1.2' };
    }, 'Invalid token'],
    ['no payload at all', async () => undefined, 'Invalid login request'],
    ['a null payload', async () => null, 'Invalid login request'],
    ['unknown fields', async () => ({ token: await t.token(), userAgent: userAgent(), protocol: '1.2', admin: true }), 'Invalid login request'],
  ];
  for (const [what, payload, message] of failures) {
    test(`login with ${what} fails with '${message}' and disconnects`, async () => {
      const socket = await rawSocket(t.portalUrl);
      const gone = disconnected(socket);
      const body = await payload();
      const answer = body === undefined ? await ask(socket, 'login') : await ask(socket, 'login', body);
      assert.deepEqual(answer, { status: 'error', data: message });
      await gone;
    });
  }

  test('a token is used once: the second login with it fails with Token does NOT exist', async () => {
    const token = await t.token();
    const first = await rawSocket(t.portalUrl);
    assert.equal((await ask(first, 'login', { token, userAgent: userAgent(), protocol: '1.2' })).status, 'ok');
    const second = await rawSocket(t.portalUrl);
    assert.deepEqual(await ask(second, 'login', { token, userAgent: userAgent(), protocol: '1.2' }), {
      status: 'error',
      data: 'Token does NOT exist',
    });
    first.close();
    second.close();
  });

  test('a token older than the token lifetime fails with Expired', async () => {
    const token = await t.token();
    await new Promise((resolve) => setTimeout(resolve, t.server.config.tokens.lifetime + 100));
    const socket = await rawSocket(t.portalUrl);
    const answer = await ask(socket, 'login', { token, userAgent: userAgent(), protocol: '1.2' });
    // Consuming a token spares its own record when it sweeps old ones, and nothing else logs in meanwhile.
    assert.deepEqual(answer, { status: 'error', data: 'Expired' });
    socket.close();
  });

  test('a second login on a logged-in connection fails with Connection is in service', async () => {
    const socket = await rawSocket(t.portalUrl);
    assert.equal((await ask(socket, 'login', { token: await t.token(), userAgent: userAgent(), protocol: '1.2' })).status, 'ok');
    assert.deepEqual(await ask(socket, 'login', { token: await t.token(), userAgent: userAgent(), protocol: '1.2' }), {
      status: 'error',
      data: 'Connection is in service',
    });
    assert.deepEqual(await ask(socket, 'relogin', 'anything'), { status: 'error', data: 'Connection is in service' });
    socket.close();
  });

  test('every room request before login is answered Illegal request and the connection stays usable', async () => {
    const socket = await rawSocket(t.portalUrl);
    for (const event of ['text', 'customMessage', 'publish', 'unpublish', 'subscribe', 'unsubscribe', 'soac', 'stream-control', 'subscription-control']) {
      assert.deepEqual(await ask(socket, event, { to: 'all', message: 'hi' }), { status: 'error', data: 'Illegal request' }, event);
    }
    assert.deepEqual(await ask(socket, 'logout'), { status: 'error', data: 'Illegal request' });
    assert.deepEqual(await ask(socket, 'refreshReconnectionTicket'), { status: 'error', data: 'Illegal request' });
    assert.equal((await ask(socket, 'login', { token: await t.token(), userAgent: userAgent(), protocol: '1.2' })).status, 'ok');
    socket.close();
  });

  test('hostile payloads after login are answered and the portal keeps serving', async () => {
    const socket = await rawSocket(t.portalUrl);
    assert.equal((await ask(socket, 'login', { token: await t.token(), userAgent: userAgent(), protocol: '1.2' })).status, 'ok');
    assert.deepEqual(await ask(socket, 'text', null), { status: 'error', data: 'Invalid text message' });
    assert.deepEqual(await ask(socket, 'soac', null), { status: 'error', data: 'Invalid soac request' });
    assert.deepEqual(await ask(socket, 'text', { to: 'all', message: 'x'.repeat(2049) }), { status: 'error', data: 'Text is too long' });
    socket.emit('text', { to: 'all', message: 'no ack' });
    socket.emit('login');
    assert.deepEqual(await ask(socket, 'text', { to: 'all', message: 'still here' }), { status: 'ok', data: undefined });
    socket.close();
  });

  test('an Engine.IO 3 client (older native SDKs) is accepted', async () => {
    const response = await fetch(`${t.portalUrl}/socket.io/?EIO=3&transport=polling`);
    assert.equal(response.status, 200);
    const body = await response.text();
    const open = JSON.parse(body.slice(body.indexOf('{'), body.lastIndexOf('}') + 1)) as { sid: string; pingInterval: number };
    assert.equal(typeof open.sid, 'string');
    assert.equal(open.pingInterval, t.server.config.portal.pingInterval);
  });

  test('a client that never logs in is closed after the login deadline', async () => {
    const socket = await rawSocket(t.portalUrl);
    const started = Date.now();
    await disconnected(socket);
    assert.ok(Date.now() - started >= t.server.config.portal.loginTimeout - 100);
  });

  test("the portal's worker holds exactly the token codes of logged-in clients", async () => {
    const a = await t.join({ user: 'a' });
    const b = await t.join({ user: 'b' });
    const codeOf = (id: string) => t.server.portal.registry.get(id)!.tokenCode;
    const [codeA, codeB] = [codeOf(a.id), codeOf(b.id)];
    const held = () => new Set(t.server.portal.tasks);
    const registered = () => new Set(t.server.portal.registry.all().map((session) => session.tokenCode));
    assert.ok(held().has(codeA) && held().has(codeB));
    assert.deepEqual(held(), registered());
    await a.client.leave();
    assert.ok(!held().has(codeA) && held().has(codeB));
    assert.deepEqual(held(), registered());
    b.client.close();
  });
});

describe('a client that closes its socket while its login is in flight', () => {
  // A reconnection timeout far longer than the waits below: a participant kept for it would fail them.
  let long: TestServer;
  before(async () => {
    long = await startTestServer({ portal: { reconnectionTimeout: 60_000, reconnectionTicketLifetime: 120_000 } });
  });
  after(() => long.stop());

  test('leaves the room at once (it never got a ticket to come back with), each of ten times', async () => {
    const room = (await long.management.createRoom('closed while logging in'))._id;
    const watcher = await long.join({ room, user: 'watcher' });
    for (let attempt = 0; attempt < 10; attempt++) {
      const token = await long.token(room, `gone-${attempt}`);
      const socket = await rawSocket(long.portalUrl);
      const id = socket.id!;
      socket.emit('login', { token, userAgent: userAgent(), protocol: '1.2' }, () => undefined);
      socket.close();
      await waitFor(`participant ${id} to be gone`, async () => {
        const listed = (await long.management.getParticipants(room)).map((participant) => participant.id);
        return (!listed.includes(id) && long.server.portal.registry.get(id) === undefined) || `still there: ${JSON.stringify(listed)}`;
      }, { timeoutMs: 5_000 });
    }
    assert.deepEqual((await long.management.getParticipants(room)).map((participant) => participant.id), [watcher.id]);
    watcher.client.close();
  });

  test('a logged-in client is waited for, whether it closed its socket itself or lost its transport (SPEC §5)', async () => {
    const room = (await long.management.createRoom('closed or cut'))._id;
    const listed = async () => (await long.management.getParticipants(room)).map((participant) => participant.id).sort();
    const closing = await rawSocket(long.portalUrl);
    const cutOff = await rawSocket(long.portalUrl);
    for (const socket of [closing, cutOff]) {
      assert.equal((await ask(socket, 'login', { token: await long.token(room), userAgent: userAgent(), protocol: '1.2' })).status, 'ok');
    }
    const [closingId, cutId] = [closing.id!, cutOff.id!];
    closing.close();
    cutTransport(cutOff);
    for (const id of [closingId, cutId]) {
      await waitFor(`${id} to be away`, () => long.server.portal.registry.get(id)?.carrier.isConnected === false || 'connected');
    }
    assert.deepEqual(await listed(), [closingId, cutId].sort());
  });

  test('POST /leave on the portal with a reconnection ticket (a closing page\'s beacon) makes its participant leave at once', async () => {
    const room = (await long.management.createRoom('left by beacon'))._id;
    const watcher = await long.join({ room, user: 'watcher' });
    const leave = (body: string) => fetch(`${long.portalUrl}/leave`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body });
    for (const how of ['away', 'still connected'] as const) {
      const socket = await rawSocket(long.portalUrl);
      const login = await ask(socket, 'login', { token: await long.token(room, how), userAgent: userAgent(), protocol: '1.2' });
      const ticket = (login.data as { reconnectionTicket: string }).reconnectionTicket;
      const id = socket.id!;
      if (how === 'away') {
        cutTransport(socket);
        await waitFor('the portal to hold the session', () => long.server.portal.registry.get(id)?.carrier.isConnected === false || 'connected');
      }
      assert.equal((await leave(ticket)).status, 204, how);
      assert.equal(long.server.portal.registry.get(id), undefined);
      await received(watcher.notifications, 'participant', how === 'away' ? 2 : 4);
      assert.deepEqual(watcher.notifications.filter((each) => each.event === 'participant').at(-1)!.data, { action: 'leave', data: id });
      assert.equal((await leave(ticket)).status, 404, 'a ticket serves once');
      if (how === 'still connected') await disconnected(socket);
    }
    assert.equal((await leave('not a ticket')).status, 400);
    watcher.client.close();
  });
});

describe('a join the portal gives up on', () => {
  let slow: TestServer;
  before(async () => {
    slow = await startTestServer({ portal: { joinTimeout: 200 } });
  });
  after(() => slow.stop());

  test('a login whose join times out while the room loads leaves no participant behind once the room is live', async () => {
    const room = (await slow.management.createRoom('slow to load'))._id;
    const token = await slow.token(room);
    const { store } = slow.server;
    const getRoom = store.getRoom.bind(store);
    let release!: () => void;
    const loadable = new Promise<void>((resolve) => (release = resolve));
    store.getRoom = async (id) => {
      await loadable;
      return getRoom(id);
    };
    try {
      const socket = await rawSocket(slow.portalUrl);
      const answer = await ask(socket, 'login', { token, userAgent: userAgent(), protocol: '1.2' });
      assert.equal(answer.status, 'error');
      assert.match(String(answer.data), /^Timeout to call .*\.join$/);
    } finally {
      store.getRoom = getRoom;
      release();
    }
    await waitFor('the room the join finally reached to be empty', async () => {
      const list = await slow.management.getParticipants(room);
      return list.length === 0 || `still listed: ${JSON.stringify(list.map((p) => p.id))}`;
    });
  });
});

describe('metrics', () => {
  test('/metrics counts logins and refusals by reason, notifications, bus calls, and reads participants, rooms and connections', async () => {
    const watcher = await t.join({ user: 'counted' });
    const refused = await rawSocket(t.portalUrl);
    const token = await t.token();
    assert.equal((await ask(refused, 'login', { token, userAgent: userAgent(), protocol: '1.2' })).status, 'ok');
    const again = await rawSocket(t.portalUrl);
    assert.equal((await ask(again, 'login', { token, userAgent: userAgent(), protocol: '1.2' })).status, 'error');
    const text = await (await fetch(`http://127.0.0.1:${t.server.management.port}/metrics`)).text();
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN);
    assert.ok(value(/^conclave_portal_logins_total\{component="portal",result="ok"\} (\d+)$/m) >= 2, text);
    assert.ok(value(/^conclave_portal_logins_total\{component="portal",result="Token does NOT exist"\} (\d+)$/m) >= 1);
    assert.ok(value(/^conclave_portal_notifications_total\{component="portal",outcome="sent"\} (\d+)$/m) >= 1);
    assert.ok(value(/^conclave_bus_rpc_seconds_count\{method="join",outcome="ok"\} (\d+)$/m) >= 2);
    const portal = t.server.portal.id;
    assert.ok(value(new RegExp(`^conclave_portal_participants\\{component="portal",portal="${portal}",state="connected"\\} (\\d+)$`, 'm')) >= 2);
    assert.ok(value(new RegExp(`^conclave_portal_rooms\\{component="portal",portal="${portal}"\\} (\\d+)$`, 'm')) >= 1);
    assert.ok(value(new RegExp(`^conclave_portal_connections\\{component="portal",portal="${portal}"\\} (\\d+)$`, 'm')) >= 2);
    assert.ok(value(new RegExp(`^conclave_portal_outbox_notifications\\{component="portal",portal="${portal}"\\} (\\d+)$`, 'm')) >= 0);
    assert.ok(value(/^conclave_cluster_workers\{component="cluster-manager",purpose="conference",count="tasks"\} (\d+)$/m) >= 1);
    assert.equal(value(/^conclave_cluster_workers\{component="cluster-manager",purpose="portal",count="workers"\} (\d+)$/m), 1);
    assert.match(text, /^process_resident_memory_bytes \d+$/m);
    watcher.client.close();
    refused.close();
    again.close();
  });
});

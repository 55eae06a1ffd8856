import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ask, disconnected, rawSocket, userAgent } from '../support/raw-socket.js';
import { startTestServer, type TestServer } from '../support/server.js';
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
    assert.deepEqual(data.room.views, ['common']);
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
    // The sweep may have removed the record before the consumption saw its age.
    assert.equal(answer.status, 'error');
    assert.ok(['Expired', 'Token does NOT exist'].includes(answer.data as string), String(answer.data));
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
    assert.deepEqual(await ask(socket, 'soac', null), { status: 'error', data: 'Media plane is not available' });
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

  test('a client that disconnects mid-login leaves no participant behind', async () => {
    const socket = await rawSocket(t.portalUrl);
    const id = socket.id!;
    socket.emit('login', { token: await t.token(), userAgent: userAgent(), protocol: '1.2' }, () => undefined);
    socket.close();
    const participants = () => t.management.getParticipants(t.sampleRoom);
    await waitFor('the half-logged-in participant to be gone', async () => {
      const list = await participants();
      return !list.some((p) => p.id === id) || `still listed: ${JSON.stringify(list.map((p) => p.id))}`;
    });
    assert.equal(t.server.portal.registry.get(id), undefined);
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

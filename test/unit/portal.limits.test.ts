import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConfigOverrides } from '../../src/config/config.js';
import { ask, disconnected, rawSocket, userAgent } from '../support/raw-socket.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

/** One server per limit, so each limit is met on its own. */
function withServer(overrides: ConfigOverrides): () => TestServer {
  let t: TestServer | undefined;
  before(async () => {
    t = await startTestServer(overrides);
  });
  after(() => t?.stop());
  return () => t!;
}

const login = async (t: TestServer, token?: string) => ({
  token: token ?? (await t.token()),
  userAgent: userAgent(),
  protocol: '1.2',
});

/** The polling handshake a browser makes first; its status and body say whether the portal takes the connection. */
function handshake(t: TestServer): Promise<Response> {
  return fetch(`${t.portalUrl}/socket.io/?EIO=4&transport=polling`);
}

describe('Socket.IO maxHttpBufferSize', () => {
  const server = withServer({ portal: { maxHttpBufferSize: 2_048 } });

  test('a message over maxHttpBufferSize closes that connection only; others keep being served', async () => {
    const t = server();
    const bystander = await rawSocket(t.portalUrl);
    assert.equal((await ask(bystander, 'login', await login(t))).status, 'ok');
    const sender = await rawSocket(t.portalUrl);
    assert.equal((await ask(sender, 'login', await login(t))).status, 'ok');
    assert.equal((await ask(sender, 'text', { to: 'all', message: 'x'.repeat(1_500) })).status, 'ok');

    let answered = false;
    sender.emit('text', { to: 'all', message: 'x'.repeat(3_000) }, () => (answered = true));
    await disconnected(sender);
    assert.equal(answered, false);
    assert.equal((await ask(bystander, 'text', { to: 'all', message: 'still here' })).status, 'ok');
    bystander.close();
  });
});

describe('connections per address', () => {
  const server = withServer({ portal: { maxConnectionsPerIp: 3 } });

  test("a connection past maxConnectionsPerIp is refused with 'Too many connections' until one closes", async () => {
    const t = server();
    const sockets = [await rawSocket(t.portalUrl), await rawSocket(t.portalUrl), await rawSocket(t.portalUrl)];
    const refused = await handshake(t);
    assert.equal(refused.status, 403);
    assert.deepEqual(await refused.json(), { code: 4, message: 'Too many connections' });
    await assert.rejects(rawSocket(t.portalUrl));

    sockets.pop()!.close();
    await waitFor('a free connection slot', async () => {
      const response = await handshake(t);
      await response.arrayBuffer();
      return response.status === 200 || `handshake answered ${response.status}`;
    });
    for (const socket of sockets) socket.close();
  });
});

describe('login attempts per address', () => {
  const server = withServer({ portal: { loginAttemptsPerIpPerMinute: 3 } });

  test("login attempts past loginAttemptsPerIpPerMinute get 'Too many requests', even with a good token", async () => {
    const t = server();
    for (let attempt = 0; attempt < 3; attempt++) {
      const socket = await rawSocket(t.portalUrl);
      assert.deepEqual(await ask(socket, 'login', await login(t, 'bm90IGEgdG9rZW4=')), { status: 'error', data: 'Invalid token' });
      socket.close();
    }
    const socket = await rawSocket(t.portalUrl);
    assert.deepEqual(await ask(socket, 'login', await login(t)), { status: 'error', data: 'Too many requests' });
    await disconnected(socket);
  });
});

describe('events per connection per second', () => {
  const server = withServer({ portal: { eventsPerSecond: 5, disconnectAfterExcessSeconds: 2 } });

  test("events past eventsPerSecond get 'Too many requests'; after a quiet second the connection is served again", async () => {
    const t = server();
    const socket = await rawSocket(t.portalUrl);
    const answers = await Promise.all(Array.from({ length: 8 }, () => ask(socket, 'logout')));
    assert.deepEqual(answers.map((answer) => answer.data), [
      ...Array(5).fill('Illegal request'),
      ...Array(3).fill('Too many requests'),
    ]);
    assert.ok(socket.connected);
    await waitFor('the next window', async () => {
      const answer = await ask(socket, 'logout');
      return answer.data === 'Illegal request' || String(answer.data);
    }, { timeoutMs: 3_000, intervalMs: 200 });
    socket.close();
  });

  test('a client that keeps exceeding eventsPerSecond is disconnected', async () => {
    const t = server();
    const socket = await rawSocket(t.portalUrl);
    assert.equal((await ask(socket, 'login', await login(t))).status, 'ok');
    const refusals: unknown[] = [];
    const flood = setInterval(() => {
      for (let event = 0; event < 10; event++) socket.emit('text', { to: 'all', message: 'flood' }, (_status: unknown, data: unknown) => refusals.push(data));
    }, 100);
    try {
      await waitFor('the flooding client to be disconnected', () => !socket.connected, { timeoutMs: 4_000 });
    } finally {
      clearInterval(flood);
    }
    assert.ok(refusals.includes('Too many requests'));
    const other = await rawSocket(t.portalUrl);
    assert.equal((await ask(other, 'login', await login(t))).status, 'ok');
    other.close();
  });

  test('unknown events count too and are answered Illegal request', async () => {
    const t = server();
    const socket = await rawSocket(t.portalUrl);
    const answers = await Promise.all(Array.from({ length: 6 }, (_, index) => ask(socket, `no-such-event-${index}`, { any: 'thing' })));
    assert.deepEqual(answers.map((answer) => answer.data), [...Array(5).fill('Illegal request'), 'Too many requests']);
    socket.close();
  });
});

describe('participants per portal', () => {
  const server = withServer({ portal: { maxParticipants: 2 } });

  test("a login past maxParticipants gets 'Portal is full'; a place freed is taken again", async () => {
    const t = server();
    const first = await t.join({ user: 'first' });
    await t.join({ user: 'second' });
    const socket = await rawSocket(t.portalUrl);
    assert.deepEqual(await ask(socket, 'login', await login(t)), { status: 'error', data: 'Portal is full' });
    await first.client.leave();
    const again = await rawSocket(t.portalUrl);
    assert.equal((await ask(again, 'login', await login(t))).status, 'ok');
    again.close();
  });
});

describe('arguments', () => {
  const server = withServer({});

  test('events with missing or extra arguments, or an ack that is not a function, are answered and never break the connection', async () => {
    const t = server();
    const socket = await rawSocket(t.portalUrl);
    socket.emit('logout', null, 42, 'not an ack');
    assert.deepEqual(await ask(socket, 'logout', 1, 2, 3), { status: 'error', data: 'Illegal request' });
    assert.deepEqual(await ask(socket, 'relogin'), { status: 'error', data: 'Invalid reconnection ticket' });
    const loginWithoutAck = await rawSocket(t.portalUrl);
    loginWithoutAck.emit('login', 'not an ack');
    await disconnected(loginWithoutAck);

    const client = await rawSocket(t.portalUrl);
    assert.equal((await ask(client, 'login', await login(t), 'extra', { more: true })).status, 'ok');
    assert.deepEqual(await ask(client, 'text', { to: 'all', message: 'hi' }, 'extra'), { status: 'ok', data: undefined });
    assert.deepEqual(await ask(client, 'text'), { status: 'error', data: 'Invalid text message' });
    assert.deepEqual(await ask(client, 'text', { to: 'all', message: 'hi', extra: 1 }), { status: 'error', data: 'Invalid text message' });
    assert.deepEqual(await ask(client, 'text', { to: '../../etc', message: 'hi' }), { status: 'error', data: 'Invalid text message' });
    assert.equal((await ask(client, 'refreshReconnectionTicket', { unexpected: 'payload' })).status, 'ok');
    client.close();
  });

  test('a user agent with unknown fields is refused; one shaped like the OWT SDKs send is taken', async () => {
    const t = server();
    const strange = await rawSocket(t.portalUrl);
    const withExtra = { ...(await login(t)), userAgent: { ...userAgent(), admin: true } };
    assert.deepEqual(await ask(strange, 'login', withExtra), { status: 'error', data: 'User agent info is incorrect' });

    const browser = await rawSocket(t.portalUrl);
    const sdk = {
      sdk: { type: 'JavaScript', version: '5.1' },
      runtime: { name: 'Chrome', version: '120.0' },
      os: { name: 'Mac OS X', version: '10.15.7' },
      capabilities: { continualIceGathering: false, unifiedPlan: true, streamRemovable: true },
    };
    assert.equal((await ask(browser, 'login', { ...(await login(t)), userAgent: sdk })).status, 'ok');
    browser.close();
  });

  test('a ticket with fields beyond the SPEC format is refused as an invalid ticket', async () => {
    const t = server();
    const socket = await rawSocket(t.portalUrl);
    const answer = await ask(socket, 'login', await login(t));
    const ticket = JSON.parse(Buffer.from((answer.data as { reconnectionTicket: string }).reconnectionTicket, 'base64').toString());
    socket.disconnect();
    const padded = Buffer.from(JSON.stringify({ ...ticket, admin: true })).toString('base64');
    const next = await rawSocket(t.portalUrl);
    assert.deepEqual(await ask(next, 'relogin', padded), { status: 'error', data: 'Invalid reconnection ticket' });
  });
});

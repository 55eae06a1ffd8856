import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import { getFrom, openSocket, type OpenedSocket } from '../support/connections.js';
import { ask, userAgent } from '../support/raw-socket.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const FIRST_REQUEST_TIMEOUT = 3_000;
const limits = { firstRequestTimeout: FIRST_REQUEST_TIMEOUT, maxSocketsPerIp: 5, maxSockets: 12 };

let t: TestServer;
let ports: Array<[string, number]>;
before(async () => {
  t = await startTestServer({ portal: limits, management: limits });
  ports = [['portal', t.server.portal.port], ['management API', t.server.management.port]];
});
after(() => t.stop());

/** A Socket.IO client over WebSocket from `localAddress`, logged in to the sample room. */
async function loginFrom(localAddress: string): Promise<Socket> {
  const token = await t.token();
  const socket = io(t.portalUrl, { transports: ['websocket'], reconnection: false, forceNew: true, ...({ localAddress } as object) });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  const answer = await ask(socket, 'login', { token, userAgent: userAgent(), protocol: '1.2' });
  assert.equal(answer.status, 'ok');
  return socket;
}

async function closedByServer(what: string, sockets: OpenedSocket[], timeoutMs = 4 * FIRST_REQUEST_TIMEOUT): Promise<void> {
  await waitFor(what, () => sockets.every((each) => each.closed) || `${sockets.filter((each) => !each.closed).length} open`, {
    timeoutMs,
    intervalMs: 50,
  });
}

describe('connections that make no request', () => {
  test('one that sends nothing, or only part of a request, is closed after firstRequestTimeout, on both ports', async () => {
    for (const [name, port] of ports) {
      const quiet = await openSocket(port, '127.0.0.11');
      const partial = await openSocket(port, '127.0.0.11');
      partial.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      await closedByServer(`the ${name}'s silent connections to be closed`, [quiet, partial]);
      for (const each of [quiet, partial]) {
        const lived = await each.whenClosed;
        assert.ok(lived >= FIRST_REQUEST_TIMEOUT - 50, `${name}: closed after ${lived} ms`);
      }
    }
  });

  test('a client that made its request or handshake outlives the timer', async () => {
    const participant = await loginFrom('127.0.0.12');
    const api = await openSocket(t.server.management.port, '127.0.0.12');
    let answered = '';
    api.socket.on('data', (chunk: Buffer) => (answered += chunk.toString()));
    api.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await waitFor('the health check', () => answered.startsWith('HTTP/1.1 200') || answered);
    const later = [await openSocket(t.server.portal.port, '127.0.0.12'), await openSocket(t.server.management.port, '127.0.0.12')];
    await closedByServer('the later silent connections to be closed', later);
    assert.equal(participant.connected, true);
    assert.equal(api.closed, false);
    participant.close();
    api.socket.destroy();
  });
});

test('the portal answers a request for anything but Socket.IO at once, with 404', async () => {
  assert.equal(await getFrom(t.server.portal.port, '127.0.0.13', '/healthz'), 'HTTP/1.1 404 Not Found');
});

describe('connections per address', () => {
  test('past maxSocketsPerIp a connection is closed at once on both ports, while other addresses are served', async () => {
    for (const [name, port] of ports) {
      const held = await Promise.all(Array.from({ length: limits.maxSocketsPerIp }, () => openSocket(port, '127.0.0.21')));
      const extra = await openSocket(port, '127.0.0.21');
      const lived = await extra.whenClosed;
      assert.ok(lived < FIRST_REQUEST_TIMEOUT, `${name}: the extra connection lived ${lived} ms`);
      assert.ok(held.every((each) => !each.closed), name);
      assert.equal(await getFrom(port, '127.0.0.22', name === 'portal' ? '/socket.io/?EIO=4&transport=polling' : '/healthz'), 'HTTP/1.1 200 OK');
      await closedByServer(`the ${name}'s held connections to time out`, held);
      // Their places are free again.
      const again = await Promise.all(Array.from({ length: limits.maxSocketsPerIp }, () => getFrom(port, '127.0.0.21', '/healthz')));
      assert.deepEqual(new Set(again), new Set([name === 'portal' ? 'HTTP/1.1 404 Not Found' : 'HTTP/1.1 200 OK']), name);
    }
    (await loginFrom('127.0.0.22')).close();
  });
});

describe('connections in all', () => {
  test('past maxSockets the portal closes new connections at once; the management API keeps serving, and the portal does once they are gone', async () => {
    const port = t.server.portal.port;
    const held: OpenedSocket[] = [];
    for (let index = 0; index < limits.maxSockets; index++) held.push(await openSocket(port, `127.0.1.${index + 1}`));
    const extra = await openSocket(port, '127.0.0.31');
    assert.ok((await extra.whenClosed) < FIRST_REQUEST_TIMEOUT);
    assert.equal(await getFrom(t.server.management.port, '127.0.0.31', '/healthz'), 'HTTP/1.1 200 OK');
    await closedByServer('the held connections to time out', held);
    (await loginFrom('127.0.0.31')).close();
  });
});

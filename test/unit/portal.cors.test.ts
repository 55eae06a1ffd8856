import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { io } from 'socket.io-client';
import { startTestServer, type TestServer } from '../support/server.js';

const allowed = 'https://app.example';
const stranger = 'https://evil.example';

/** The polling handshake a page's socket.io client makes first, from `origin`. */
function handshake(t: TestServer, origin: string): Promise<Response> {
  return fetch(`${t.portalUrl}/socket.io/?EIO=4&transport=polling`, { headers: { origin } });
}

function preflight(t: TestServer, origin: string): Promise<Response> {
  return fetch(`${t.portalUrl}/socket.io/?EIO=4&transport=polling`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
}

/** Whether a WebSocket opened with this Origin header (a browser's) is taken; undefined sends none (a native SDK). */
function websocketAccepted(t: TestServer, origin?: string): Promise<boolean> {
  const socket = io(t.portalUrl, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(origin === undefined ? {} : { extraHeaders: { origin } }),
  });
  return new Promise((resolve) => {
    socket.once('connect', () => {
      socket.close();
      resolve(true);
    });
    socket.once('connect_error', () => {
      socket.close();
      resolve(false);
    });
  });
}

describe('CORS with an allow-list', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ portal: { cors: [allowed] } });
  });
  after(() => t.stop());

  test('an allowed origin gets access-control-allow-origin naming it', async () => {
    const response = await handshake(t, allowed);
    await response.arrayBuffer();
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('access-control-allow-origin'), allowed);
    const answer = await preflight(t, allowed);
    assert.equal(answer.headers.get('access-control-allow-origin'), allowed);
  });

  test('another origin gets no access-control-allow-origin and its handshake is refused', async () => {
    const response = await handshake(t, stranger);
    assert.equal(response.status, 403);
    assert.deepEqual(await response.json(), { code: 4, message: 'Origin not allowed' });
    assert.equal(response.headers.get('access-control-allow-origin'), null);
    const answer = await preflight(t, stranger);
    assert.equal(answer.headers.get('access-control-allow-origin'), null);
  });

  test("a browser's WebSocket from another origin is refused; an allowed one and a native client without Origin connect", async () => {
    assert.equal(await websocketAccepted(t, stranger), false);
    assert.equal(await websocketAccepted(t, allowed), true);
    assert.equal(await websocketAccepted(t), true);
  });

  test('a refused WebSocket handshake is answered 403 with the reason, as a refused long-polling one', async () => {
    assert.deepEqual(await upgrade(t, stranger), {
      status: 'HTTP/1.1 403 Forbidden',
      body: JSON.stringify({ code: 4, message: 'Origin not allowed' }),
    });
  });
});

/** A WebSocket handshake by hand: the status line and body the portal answers. */
function upgrade(t: TestServer, origin: string): Promise<{ status: string; body: string }> {
  const { port } = new URL(t.portalUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(
        'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n' +
          `Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
          `Origin: ${origin}\r\n\r\n`,
      );
    });
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      resolve({ status: head.split('\r\n')[0]!, body });
    });
  });
}

describe('CORS by default', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.stop());

  test('every origin gets access-control-allow-origin * when cors is left at its default', async () => {
    const response = await handshake(t, stranger);
    await response.arrayBuffer();
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('access-control-allow-origin'), '*');
    assert.equal(await websocketAccepted(t, stranger), true);
  });
});

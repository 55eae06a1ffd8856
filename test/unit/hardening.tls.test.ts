import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import { createMAuthHeader, decodeToken } from '../../src/management/index.js';
import { ask, userAgent } from '../support/raw-socket.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
let certDir: string;
let ca: string;

/** A self-signed certificate for 127.0.0.1, made with openssl as an operator would. */
function makeCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
  return { cert, key };
}

before(async () => {
  certDir = await mkdtemp(join(tmpdir(), 'conclave-tls-'));
  const tls = makeCertificate(certDir);
  ca = await readFile(tls.cert, 'utf8');
  t = await startTestServer({ portal: { tls }, management: { tls } });
});
after(async () => {
  await t.stop();
  await rm(certDir, { recursive: true, force: true });
});

interface HttpsAnswer {
  status: number;
  body: string;
}

/** A request over HTTPS that trusts only the test's certificate, signed with MAuth as the super service. */
async function callApi(method: string, path: string, body?: unknown): Promise<HttpsAnswer> {
  const headers: Record<string, string> = { authorization: createMAuthHeader(t.superService) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const outgoing = request(`https://127.0.0.1:${t.server.management.port}${path}`, { method, headers, ca }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    outgoing.on('error', reject);
    outgoing.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function connect(url: string, transports: Array<'polling' | 'websocket'>): Promise<Socket> {
  const socket = io(url, { transports, ca, reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
}

describe('TLS from PEM files', () => {
  test('the management API answers over HTTPS and issues a token that tells clients to connect securely', async () => {
    assert.deepEqual(await callApi('GET', '/healthz'), { status: 200, body: '{"status":"ok"}' });
    const rooms = await callApi('GET', '/v1/rooms');
    assert.equal(rooms.status, 200);
    assert.ok((JSON.parse(rooms.body) as Array<{ _id: string }>).some((room) => room._id === t.sampleRoom));
    const issued = await callApi('POST', `/v1/rooms/${t.sampleRoom}/tokens`, { user: 'alice', role: 'presenter' });
    assert.equal(issued.status, 200);
    assert.equal(decodeToken(issued.body)?.secure, true);
  });

  const ways: Array<[string, Array<'polling' | 'websocket'>]> = [
    ['WSS', ['websocket']],
    ['HTTPS long-polling, then WSS', ['polling', 'websocket']],
  ];
  for (const [way, transports] of ways) {
    test(`a client logs in over ${way}`, async () => {
      const token = (await callApi('POST', `/v1/rooms/${t.sampleRoom}/tokens`, { user: 'bob', role: 'viewer' })).body;
      const socket = await connect(`https://127.0.0.1:${t.server.portal.port}`, transports);
      const answer = await ask(socket, 'login', { token, userAgent: userAgent(), protocol: '1.2' });
      assert.equal(answer.status, 'ok');
      assert.equal((answer.data as { user: string }).user, 'bob');
      socket.close();
    });
  }

  test('plain HTTP and an untrusted certificate are refused', async () => {
    await assert.rejects(fetch(`http://127.0.0.1:${t.server.management.port}/healthz`));
    await assert.rejects(connect(`http://127.0.0.1:${t.server.portal.port}`, ['websocket']));
    const untrusting = io(`https://127.0.0.1:${t.server.portal.port}`, { transports: ['websocket'], reconnection: false, forceNew: true });
    await new Promise<void>((resolve) => untrusting.once('connect_error', () => resolve()));
    untrusting.close();
  });
});

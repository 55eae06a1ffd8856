import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ClientStates, type ConferenceClient } from '../../src/client/conference-client.js';
import { createLogger } from '../../src/logger.js';
import { createMAuthHeader, tokenKeyOf } from '../../src/management/index.js';
import { reconnectionKeyOf } from '../../src/store/index.js';
import { ask, rawSocket, userAgent } from '../support/raw-socket.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

let t: TestServer;
const lines: string[] = [];
const capture = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString().split('\n').filter((line) => line.length > 0));
    done();
  },
});

before(async () => {
  t = await startTestServer({}, { logger: createLogger('trace', 'conclave', capture) });
});
after(() => t.stop());

const parsed = (): LogLine[] => lines.map((line) => JSON.parse(line) as LogLine);

/** Secrets seen on the wire during the session; none may reach the log. */
const secrets = new Set<string>();

function keep(secret: unknown): void {
  assert.equal(typeof secret, 'string');
  secrets.add(secret as string);
}

function ticketOf(client: ConferenceClient): string {
  const ticket = client.reconnectionTicket;
  assert.ok(ticket);
  return ticket;
}

/** A REST call made by hand, so its MAuth header can be remembered. */
async function signedFetch(method: string, path: string, credentials: { serviceId: string; key: string }, body?: unknown) {
  const authorization = createMAuthHeader(credentials);
  keep(authorization);
  keep(/mauth_signature=([^,]+)/.exec(authorization)![1]);
  const headers: Record<string, string> = { authorization };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`http://127.0.0.1:${t.server.management.port}${path}`, {
    method,
    headers,
    body: body === undefined ? null : JSON.stringify(body),
  });
}

describe('logging', () => {
  test('a full login, relogin and REST session at trace level logs no token, ticket, key or MAuth header', async () => {
    const credentials = t.superService;
    keep(credentials.key);
    keep(await tokenKeyOf(t.server.store));
    keep(await reconnectionKeyOf(t.server.store));

    const created = await signedFetch('POST', '/services', credentials, { name: 'tenant' });
    const tenant = (await created.json()) as { _id: string; key: string };
    keep(tenant.key);
    const tokenResponse = await signedFetch('POST', `/v1/rooms/${t.sampleRoom}/tokens`, credentials, { user: 'alice', role: 'presenter' });
    const token = await tokenResponse.text();
    keep(token);

    const alice = t.client();
    await alice.join(token);
    keep(ticketOf(alice));
    keep(await alice.refreshTicket());
    const bob = await t.join({ user: 'bob' });
    keep(ticketOf(bob.client));

    alice.socket.io.engine.close();
    await waitFor('alice to resume', () => alice.state === ClientStates.resumed || alice.state);
    keep(ticketOf(alice));
    await alice.send('all', 'hello');

    const participants = await signedFetch('GET', `/v1/rooms/${t.sampleRoom}/participants`, credentials);
    assert.equal(participants.status, 200);
    const refused = await signedFetch('GET', '/v1/rooms', { ...credentials, key: 'a-wrong-key' });
    assert.equal(refused.status, 401);
    const forged = await rawSocket(t.portalUrl);
    const badToken = Buffer.from(JSON.stringify({ tokenId: 'x', host: 'h', secure: false, signature: 'c2VjcmV0' })).toString('base64');
    keep(badToken);
    assert.equal((await ask(forged, 'login', { token: badToken, userAgent: userAgent(), protocol: '1.2' })).status, 'error');
    const reused = await rawSocket(t.portalUrl);
    assert.equal((await ask(reused, 'relogin', ticketOf(bob.client))).status, 'ok');
    await alice.leave();

    assert.ok(parsed().some((line) => line.msg === 'login refused' && line['reason'] === 'Invalid token signature'));
    const failedAuth = parsed().filter((line) => line.msg === 'MAuth authentication failed');
    assert.ok(failedAuth.some((line) => line.level === 40 && line['service'] === credentials.serviceId && line['address'] === '127.0.0.1'));
    for (const line of lines) assert.ok((line.match(/"component":/g)?.length ?? 0) <= 1, `a key appears once a line: ${line}`);
    const log = lines.join('\n');
    for (const secret of secrets) {
      assert.ok(!log.includes(secret), `a secret reached the log: ${secret.slice(0, 12)}…`);
    }
    assert.doesNotMatch(log, /mauth_signature|MAuth realm/i);
  });

  test('with the demo token endpoint on, the start warns of it and every token it gives is logged, without the token', async () => {
    const demoLines: string[] = [];
    const demoCapture = new Writable({
      write(chunk: Buffer, _encoding, done) {
        demoLines.push(...chunk.toString().split('\n').filter((line) => line.length > 0));
        done();
      },
    });
    const demo = await startTestServer({ management: { demo: true } }, { logger: createLogger('info', 'conclave', demoCapture) });
    try {
      const response = await fetch(`http://127.0.0.1:${demo.server.management.port}/demo/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'dora' }),
      });
      const token = await response.text();
      const logged = demoLines.map((line) => JSON.parse(line) as LogLine);
      assert.ok(logged.some((line) => line.level === 40 && /management\.demo is on/.test(line.msg)));
      await waitFor('the demo token line', () => logged.length > 0 && demoLines.some((line) => line.includes('demo token issued')));
      const issued = demoLines.map((line) => JSON.parse(line) as LogLine).find((line) => line.msg === 'demo token issued')!;
      assert.deepEqual([issued['user'], issued['room'], issued['role']], ['dora', demo.sampleRoom, 'presenter']);
      assert.ok(!demoLines.join('\n').includes(token));
    } finally {
      await demo.stop();
    }
  });

  test('log lines about a participant carry its participant and room ids as fields', async () => {
    const carol = await t.join({ user: 'carol' });
    await carol.client.leave();
    const about = (message: string) => parsed().filter((line) => line.msg === message && line['participant'] === carol.id);
    for (const message of ['participant logged in', 'participant joined', 'participant left']) {
      await waitFor(`a "${message}" line`, () => about(message).length > 0);
      assert.ok(about(message).every((line) => line['room'] === t.sampleRoom), message);
    }
  });
});

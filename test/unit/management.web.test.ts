import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildWebAssets } from '../../web/build.js';
import { startTestServer, type TestServer } from '../support/server.js';

async function postDemo(t: TestServer, body: unknown): Promise<Response> {
  return fetch(`http://127.0.0.1:${t.server.management.port}/demo/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function errorOf(response: Response): Promise<[number, number]> {
  const { error } = (await response.json()) as { error: { code: number } };
  return [response.status, error.code];
}

describe('the web pages', () => {
  let t: TestServer;
  let base: string;

  before(async () => {
    await buildWebAssets();
    t = await startTestServer();
    base = `http://127.0.0.1:${t.server.management.port}`;
  });

  after(() => t.stop());

  test('the join page and the admin page are served with a policy that allows only their own scripts', async () => {
    for (const [path, script] of [
      ['/', '/web/join.js'],
      ['/?room=abc', '/web/join.js'],
      ['/admin', '/web/admin.js'],
    ] as const) {
      const response = await fetch(`${base}${path}`);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.match(response.headers.get('content-security-policy') ?? '', /script-src 'self';.*frame-ancestors 'none'/);
      assert.match(await response.text(), new RegExp(`<script type="module" src="${script}">`));
    }
  });

  test('assets are served by their plain name only', async () => {
    const script = await fetch(`${base}/web/join.js`);
    assert.equal(script.status, 200);
    assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(script.headers.get('x-content-type-options'), 'nosniff');
    assert.equal((await fetch(`${base}/web/style.css`)).headers.get('content-type'), 'text/css; charset=utf-8');
    assert.equal((await fetch(`${base}/web/missing.js`)).status, 404);
    for (const name of ['..%2Fpackage.json', 'join.html', '.hidden.js', 'JOIN.js']) {
      assert.equal((await fetch(`${base}/web/${name}`)).status, 400, name);
    }
  });

  test('the demo token endpoint is off unless configured', async () => {
    assert.deepEqual(await errorOf(await postDemo(t, { user: 'mallory' })), [404, 1001]);
  });
});

describe('the demo token endpoint, when enabled', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer({ management: { demo: true, demoTokensPerIpPerMinute: 1_000 } });
  });

  after(() => t.stop());

  test('a token for the sample room logs a client in as a presenter under the given name', async () => {
    const response = await postDemo(t, { user: 'zoë' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/plain; charset=utf-8');
    const result = await t.client().join(await response.text());
    assert.equal(result['user'], 'zoë');
    assert.equal(result['role'], 'presenter');
    assert.equal((result['room'] as { id: string }).id, t.sampleRoom);
  });

  test("a token is for the room and role asked for, among the super service's own rooms only", async () => {
    const room = await t.management.createRoom('demo-room');
    const asked = await postDemo(t, { user: 'yan', room: room._id, role: 'viewer' });
    const result = await t.client().join(await asked.text());
    assert.deepEqual([result['role'], (result['room'] as { id: string }).id], ['viewer', room._id]);

    const privateRoom = (await (await t.tenant('tenant')).client.createRoom('private'))._id;
    assert.deepEqual(await errorOf(await postDemo(t, { user: 'yan', room: privateRoom })), [404, 1003]);
    assert.deepEqual(await errorOf(await postDemo(t, { user: 'yan', room: 'no-such-room' })), [404, 1003]);
    assert.deepEqual(await errorOf(await postDemo(t, { user: 'yan', role: 'emperor' })), [400, 1301]);
  });

  test('names that are blank, too long or not printable, and unknown fields, are refused', async () => {
    for (const body of [
      {},
      { user: '' },
      { user: '   ' },
      { user: 'bell\u0007' },
      { user: 'x'.repeat(65) },
      { user: 42 },
      { user: 'ok', room: '../etc' },
      { user: 'ok', admin: true },
    ]) {
      assert.deepEqual(await errorOf(await postDemo(t, body)), [400, 1301], JSON.stringify(body));
    }
  });
});

test('demo tokens are limited per address and minute', async () => {
  const t = await startTestServer({ management: { demo: true, demoTokensPerIpPerMinute: 2 } });
  try {
    assert.equal((await postDemo(t, { user: 'a' })).status, 200);
    assert.equal((await postDemo(t, { user: 'b' })).status, 200);
    assert.deepEqual(await errorOf(await postDemo(t, { user: 'c' })), [429, 1301]);
  } finally {
    await t.stop();
  }
});

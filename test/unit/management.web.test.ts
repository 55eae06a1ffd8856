import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { buildWebAssets } from '../../web/build.js';
import { startManagementHarness, type ManagementHarness } from '../support/management-api.js';
import { startTestServer, type TestServer } from '../support/server.js';

async function postDemo(t: TestServer, body: unknown, contentType = 'application/json'): Promise<Response> {
  return fetch(`http://127.0.0.1:${t.server.management.port}/demo/token`, {
    method: 'POST',
    headers: { 'content-type': contentType },
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

  test("the join page may open sockets to this API and to the cluster's portals only; the admin page to this API only", async () => {
    const connectSources = async (path: string) => {
      const response = await fetch(`${base}${path}`);
      await response.arrayBuffer();
      const policy = response.headers.get('content-security-policy') ?? '';
      return /(?:^|; )connect-src ([^;]*)/.exec(policy)?.[1]?.split(' ');
    };
    const portal = `${hostname()}:${t.server.portal.port}`;
    assert.deepEqual(await connectSources('/'), ["'self'", `http://${portal}`, `ws://${portal}`]);
    assert.deepEqual(await connectSources('/admin'), ["'self'"]);
  });

  test('the pages name an icon, which is also served where browsers look for one', async () => {
    for (const path of ['/', '/admin']) assert.match(await (await fetch(`${base}${path}`)).text(), /<link rel="icon" href="\/web\/favicon\.svg"/);
    for (const path of ['/web/favicon.svg', '/favicon.ico']) {
      const response = await fetch(`${base}${path}`);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get('content-type'), 'image/svg+xml');
      assert.match(await response.text(), /^<svg /);
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

  test('source maps name the source files but do not serve their text', async () => {
    for (const asset of ['join.js.map', 'admin.js.map']) {
      const response = await fetch(`${base}/web/${asset}`);
      assert.equal(response.status, 200, asset);
      const map = (await response.json()) as { sources: string[]; sourcesContent?: unknown };
      assert.ok(map.sources.some((source) => source.endsWith('.ts')), asset);
      assert.equal(map.sourcesContent, undefined, asset);
    }
  });

  test('the demo token endpoint is off unless configured', async () => {
    assert.deepEqual(await errorOf(await postDemo(t, { user: 'mallory' })), [404, 1001]);
  });
});

describe("the join page's policy in a cluster", () => {
  let harness: ManagementHarness;
  before(async () => {
    harness = await startManagementHarness();
  });
  after(() => harness.close());

  test('names each portal as tokens do, with the scheme its TLS setting implies, and leaves out addresses that are not hosts', async () => {
    await harness.joinPortal({ via_host: 'https://portals.example.test/conclave' });
    await harness.joinPortal({ hostname: 'p2.example.test', port: 8443, ssl: true });
    await harness.joinPortal({ hostname: "evil.example.test; script-src 'unsafe-inline'", port: 9000 });
    const response = await fetch(`${harness.url}/`);
    await response.arrayBuffer();
    const sources = /(?:^|; )connect-src ([^;]*)/.exec(response.headers.get('content-security-policy') ?? '')![1]!.split(' ');
    assert.deepEqual(sources.sort(), [
      "'self'",
      'https://p2.example.test:8443',
      'https://portals.example.test',
      'wss://p2.example.test:8443',
      'wss://portals.example.test',
    ]);
  });
});

describe('the demo token endpoint, when enabled', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer({ management: { demo: true, demoTokensPerIpPerMinute: 1_000, demoRooms: ['demo-room'] } });
  });

  after(() => t.stop());

  test('a token for the sample room logs a client in as a presenter under the given name', async () => {
    const response = await postDemo(t, { user: 'zoë' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(response.headers.get('x-room-name'), 'sampleRoom');
    const result = await t.client().join(await response.text());
    assert.equal(result['user'], 'zoë');
    assert.equal(result['role'], 'presenter');
    assert.equal((result['room'] as { id: string }).id, t.sampleRoom);
  });

  test('a token is for a room marked for demos when asked; other rooms are unknown to the demo', async () => {
    const room = await t.management.createRoom('demo-room');
    const asked = await postDemo(t, { user: 'yan', room: room._id });
    assert.equal(asked.headers.get('x-room-name'), 'demo-room');
    const result = await t.client().join(await asked.text());
    assert.deepEqual([result['role'], (result['room'] as { id: string }).id], ['presenter', room._id]);

    const unmarked = (await t.management.createRoom('board meeting'))._id;
    assert.deepEqual(await errorOf(await postDemo(t, { user: 'yan', room: unmarked })), [404, 1003]);
    const otherTenant = (await (await t.tenant('tenant')).client.createRoom('demo-room'))._id;
    assert.deepEqual(await errorOf(await postDemo(t, { user: 'yan', room: otherTenant })), [404, 1003]);
    assert.deepEqual(await errorOf(await postDemo(t, { user: 'yan', room: 'no-such-room' })), [404, 1003]);
  });

  test('nobody chooses the role of a demo token', async () => {
    for (const role of ['viewer', 'presenter', 'emperor']) {
      assert.deepEqual(await errorOf(await postDemo(t, { user: 'yan', role })), [400, 1301], role);
    }
  });

  test('a request that is not labelled application/json, as a form or another site could send it, is refused', async () => {
    for (const contentType of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data']) {
      assert.deepEqual(await errorOf(await postDemo(t, { user: 'yan' }, contentType)), [415, 1301], contentType);
    }
    assert.equal((await postDemo(t, { user: 'yan' }, 'application/json; charset=utf-8')).status, 200);
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

import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { InProcessBus } from '../../src/bus/in-process.js';
import { createMAuthHeader, createManagementApp, signText } from '../../src/management/index.js';
import { bodyHashOf } from '../../src/protocol/signing.js';
import { silentLogger } from '../support/cluster.js';
import { errorOf, startManagementHarness, type Credentials, type ManagementHarness } from '../support/management-api.js';

describe('metrics with a bearer token', () => {
  let harness: ManagementHarness;
  let app: FastifyInstance;
  const bus = new InProcessBus();

  before(async () => {
    harness = await startManagementHarness({ management: { metricsToken: 'scrape-secret' } });
    app = await createManagementApp({ config: harness.config, store: harness.store, bus, logger: silentLogger });
  });
  after(async () => {
    await app.close();
    await bus.close();
    await harness.close();
  });

  const scrape = (authorization?: string) =>
    app.inject({ method: 'GET', url: '/metrics', remoteAddress: '192.0.2.10', headers: authorization ? { authorization } : {} });

  it('a caller beyond this host reads them with the token, and only with it', async () => {
    const answer = await scrape('Bearer scrape-secret');
    assert.equal(answer.statusCode, 200);
    assert.match(answer.body, /^process_resident_memory_bytes \d+$/m);
    assert.equal((await scrape('bearer scrape-secret')).statusCode, 200);
    for (const authorization of [undefined, 'Bearer scrape-secre', 'Bearer scrape-secret2', 'Bearer', 'scrape-secret', createMAuthHeader(harness.superService)]) {
      assert.equal((await scrape(authorization)).statusCode, 403, authorization);
    }
  });
});

describe('management.requireRequestSignature', () => {
  let harness: ManagementHarness;
  before(async () => {
    harness = await startManagementHarness({ management: { requireRequestSignature: true } });
  });
  after(() => harness.close());

  it("refuses OWT's signature, which covers no request, and takes the request method's", async () => {
    const refused = await errorOf(await harness.request('GET', '/v1/rooms', { auth: createMAuthHeader(harness.superService) }));
    assert.deepEqual(refused, { status: 401, code: 1101, message: 'MAuth signature must cover the request: use HMAC_SHA256_REQUEST' });
    const header = createMAuthHeader({ ...harness.superService, request: { method: 'GET', path: '/v1/rooms' } });
    assert.equal((await harness.request('GET', '/v1/rooms', { auth: header })).status, 200);
  });

  it("the project's management client works against it, bodies and queries included", async () => {
    const { client } = await harness.tenant('strict');
    const room = await client.createRoom('strict room', { participantLimit: 3 });
    assert.deepEqual((await client.getRooms({ page: 1, perPage: 10 })).map((each) => each._id), [room._id]);
    assert.equal((await client.updateRoom(room._id, { name: 'renamed' })).name, 'renamed');
    await client.deleteRoom(room._id);
  });
});

describe('management API authentication (MAuth)', () => {
  let harness: ManagementHarness;
  let normal: Credentials;

  before(async () => {
    harness = await startManagementHarness();
    normal = (await harness.tenant('tenant')).credentials;
  });
  after(() => harness.close());

  const expectRefused = async (response: Response, message?: string) => {
    const error = await errorOf(response);
    assert.equal(error.status, 401);
    assert.equal(error.code, 1101);
    if (message) assert.equal(error.message, message);
    assert.match(response.headers.get('www-authenticate') ?? '', /^MAuth realm=/);
  };

  it('a signed request from a known service is answered', async () => {
    const response = await harness.request('GET', '/v1/rooms', { auth: normal });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), []);
  });

  it('a request without an Authorization header is refused with 401/1101', async () => {
    await expectRefused(await harness.request('GET', '/v1/rooms', { auth: null }));
  });

  it('a header that is not MAuth is refused with 401/1101', async () => {
    await expectRefused(await harness.request('GET', '/v1/rooms', { auth: 'Bearer something' }));
    const noMethod = createMAuthHeader(normal).replace(',mauth_signature_method=HMAC_SHA256', '');
    await expectRefused(await harness.request('GET', '/v1/rooms', { auth: noMethod }));
  });

  it('an unknown service is refused with 401/1101', async () => {
    await expectRefused(
      await harness.request('GET', '/v1/rooms', { auth: { serviceId: 'ffffffffffffffffffffffff', key: normal.key } }),
      'Authentication failed',
    );
  });

  it('a signature made with the wrong key is refused with the same answer as an unknown service', async () => {
    await expectRefused(
      await harness.request('GET', '/v1/rooms', { auth: { serviceId: normal.serviceId, key: 'not-the-key' } }),
      'Authentication failed',
    );
  });

  it('a signature of other values than the header carries is refused', async () => {
    const header = createMAuthHeader({ ...normal, cnonce: 'aaaa' }).replace('mauth_cnonce=aaaa', 'mauth_cnonce=bbbb');
    await expectRefused(await harness.request('GET', '/v1/rooms', { auth: header }));
  });

  it('a timestamp outside the replay window is refused, in the past and in the future', async () => {
    const window = harness.config.management.replayWindow;
    for (const timestamp of [Date.now() - window - 5_000, Date.now() + window + 5_000]) {
      await expectRefused(
        await harness.request('GET', '/v1/rooms', { auth: { ...normal, timestamp } }),
        'Request timestamp outside the accepted window',
      );
    }
  });

  it('a timestamp inside the window is accepted even if the clocks differ a little', async () => {
    const response = await harness.request('GET', '/v1/rooms', { auth: { ...normal, timestamp: Date.now() - 60_000 } });
    assert.equal(response.status, 200);
  });

  it('the same header sent twice is refused the second time as a replay', async () => {
    const header = createMAuthHeader(normal);
    assert.equal((await harness.request('GET', '/v1/rooms', { auth: header })).status, 200);
    await expectRefused(await harness.request('GET', '/v1/rooms', { auth: header }), 'Request already seen (replay)');
  });

  it('quoted values, as OWT\'s own header builder writes them, are accepted', async () => {
    const timestamp = String(Date.now());
    const cnonce = '12345';
    const signature = signText(normal.key, `${timestamp},${cnonce}`);
    const header =
      `MAuth realm="http://marte3.dit.upm.es",mauth_signature_method="HMAC_SHA256",mauth_serviceid="${normal.serviceId}",` +
      `mauth_cnonce="${cnonce}",mauth_timestamp="${timestamp}",mauth_signature="${signature}"`;
    assert.equal((await harness.request('GET', '/v1/rooms', { auth: header })).status, 200);
  });

  it('the username/role variant is verified over both and gives the token its user and role', async () => {
    const room = await harness.client(normal).createRoom('identity');
    await harness.joinPortal();
    const response = await harness.request('POST', `/v1/rooms/${room._id}/tokens`, {
      auth: { ...normal, user: 'Zoë', role: 'viewer' },
      body: JSON.stringify({ user: 'ignored', role: 'presenter' }),
    });
    assert.equal(response.status, 200);
    const { tokenId } = JSON.parse(Buffer.from(await response.text(), 'base64').toString()) as { tokenId: string };
    const consumed = await harness.store.consumeToken(tokenId, harness.config.tokens.lifetime, Date.now());
    assert.equal(consumed.status, 'ok');
    assert.equal(consumed.status === 'ok' && consumed.token.user, 'Zoë');
    assert.equal(consumed.status === 'ok' && consumed.token.role, 'viewer');

    const tampered = createMAuthHeader({ ...normal, user: 'Zoë', role: 'viewer' })
      .replace('mauth_role=viewer', 'mauth_role=presenter');
    await expectRefused(await harness.request('GET', '/v1/rooms', { auth: tampered }));
  });

  describe("the request method (HMAC_SHA256_REQUEST), beyond OWT's", () => {
    const signedFor = (method: string, path: string, body?: string, extra: object = {}) =>
      createMAuthHeader({ ...normal, ...extra, request: { method, path, body } });

    it('a header is good for the method, path and query it was signed for, and for no other', async () => {
      assert.equal((await harness.request('GET', '/v1/rooms?page=1', { auth: signedFor('GET', '/v1/rooms?page=1') })).status, 200);
      const elsewhere: Array<[string, string, string]> = [
        ['GET', '/v1/rooms?page=1', '/v1/rooms?page=2'],
        ['GET', '/v1/rooms', '/services'],
        ['DELETE', '/v1/rooms/x', '/v1/rooms/x'],
      ];
      for (const [method, sentTo, signedPath] of elsewhere) {
        const header = signedFor(method === 'DELETE' ? 'GET' : method, signedPath);
        await expectRefused(await harness.request(method, sentTo, { auth: header }), 'Authentication failed');
      }
    });

    it("a header signed for one body carries no other, and nothing is done with the other", async () => {
      const body = JSON.stringify({ name: 'signed' });
      const swapped = JSON.stringify({ name: 'swapped' });
      const header = signedFor('POST', '/v1/rooms', body);
      await expectRefused(await harness.request('POST', '/v1/rooms', { auth: header, body: swapped }), 'MAuth body hash does not match the body');
      const forged = header.replace(/mauth_bodyhash=[0-9a-f]+/, `mauth_bodyhash=${bodyHashOf(swapped)}`);
      await expectRefused(await harness.request('POST', '/v1/rooms', { auth: forged, body: swapped }), 'Authentication failed');
      assert.ok(!(await harness.client(normal).getRooms()).some((room) => room.name === 'swapped'));
      const created = await harness.request('POST', '/v1/rooms', { auth: signedFor('POST', '/v1/rooms', body), body });
      assert.equal(created.status, 200);
    });

    it('the identity variant is signed too, and the project\'s client sends this method', async () => {
      const tampered = signedFor('GET', '/v1/rooms', undefined, { user: 'Zoë', role: 'viewer' }).replace('mauth_role=viewer', 'mauth_role=presenter');
      await expectRefused(await harness.request('GET', '/v1/rooms', { auth: tampered }));
      assert.ok(Array.isArray(await harness.client(normal).getRooms()));
    });
  });

  it('a normal service may not touch /services (403/1102)', async () => {
    const routes = [
      ['GET', '/services'],
      ['POST', '/services'],
      ['GET', `/services/${normal.serviceId}`],
      ['DELETE', `/services/${normal.serviceId}`],
    ] as const;
    for (const [method, path] of routes) {
      const response = await harness.request(method, path, {
        auth: normal,
        ...(method === 'POST' ? { body: JSON.stringify({ name: 'mine' }) } : {}),
      });
      assert.deepEqual(await errorOf(response), { status: 403, code: 1102, message: 'Permission denied' }, `${method} ${path}`);
    }
  });

  it('requests shaped like the OWT REST client\'s are accepted: trailing slash, text/plain without body, Host without port', async () => {
    const room = await harness.client(normal).createRoom('owt');
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(
        `${harness.url}/v1/rooms/${room._id}/`,
        {
          method: 'GET',
          headers: {
            host: '127.0.0.1',
            authorization: createMAuthHeader(normal),
            'content-type': 'text/plain;charset=UTF-8',
          },
        },
        (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        },
      );
      request.on('error', reject);
      request.end();
    });
    assert.equal(status, 200);
    assert.equal((JSON.parse(body) as { _id: string })._id, room._id);

    const deleted = await harness.request('DELETE', `/v1/rooms/${room._id}/`, {
      auth: normal,
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
    });
    assert.equal(deleted.status, 200);
    assert.equal(await deleted.text(), 'Room deleted');
  });

  it('the health check needs no authentication', async () => {
    const response = await harness.request('GET', '/healthz', { auth: null });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ok' });
  });

  it('metrics need no authentication from this host, count requests by route and status, and reveal no secret', async () => {
    await harness.request('GET', '/v1/rooms', { auth: null });
    const response = await harness.request('GET', '/metrics', { auth: null });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await response.text();
    assert.match(text, /conclave_management_http_requests_total\{component="management-api",method="GET",route="\/v1\/rooms",status="200"\} \d+/);
    assert.match(text, /conclave_management_http_requests_total\{component="management-api",method="GET",route="\/v1\/rooms",status="401"\} \d+/);
    assert.match(text, /^process_resident_memory_bytes \d+$/m);
    assert.match(text, /^process_cpu_user_seconds_total [\d.e-]+$/m);
    for (const secret of [normal.key, harness.superService.key, normal.serviceId]) assert.ok(!text.includes(secret));
  });

  it('metrics are refused to callers beyond this host when no bearer token is configured', async () => {
    const bus = new InProcessBus();
    const app = await createManagementApp({ config: harness.config, store: harness.store, bus, logger: silentLogger });
    try {
      for (const remoteAddress of ['192.0.2.10', '::ffff:10.1.2.3', 'fd00::7']) {
        const answer = await app.inject({ method: 'GET', url: '/metrics', remoteAddress });
        assert.equal(answer.statusCode, 403, remoteAddress);
        assert.deepEqual(answer.json(), { error: { code: 1102, message: 'Metrics are served to this host, or with the configured bearer token' } });
      }
      const local = await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '::1' });
      assert.equal(local.statusCode, 200);
    } finally {
      await app.close();
      await bus.close();
    }
  });

  it('an unknown path answers 404/1001 in the API\'s error shape', async () => {
    assert.deepEqual(await errorOf(await harness.request('GET', '/v2/nothing')), {
      status: 404,
      code: 1001,
      message: 'Resource not found',
    });
  });
});

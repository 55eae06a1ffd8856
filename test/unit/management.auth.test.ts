import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createMAuthHeader, signText } from '../../src/management/index.js';
import { errorOf, startManagementHarness, type Credentials, type ManagementHarness } from '../support/management-api.js';

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

  it('metrics need no authentication, count requests by route and status, and reveal no secret', async () => {
    await harness.request('GET', '/v1/rooms', { auth: null });
    const response = await harness.request('GET', '/metrics', { auth: null });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await response.text();
    assert.match(text, /conclave_management_http_requests_total\{method="GET",route="\/v1\/rooms",status="200"\} \d+/);
    assert.match(text, /conclave_management_http_requests_total\{method="GET",route="\/v1\/rooms",status="401"\} \d+/);
    assert.match(text, /^process_resident_memory_bytes \d+$/m);
    assert.match(text, /^process_cpu_user_seconds_total [\d.e-]+$/m);
    for (const secret of [normal.key, harness.superService.key, normal.serviceId]) assert.ok(!text.includes(secret));
  });

  it('an unknown path answers 404/1001 in the API\'s error shape', async () => {
    assert.deepEqual(await errorOf(await harness.request('GET', '/v2/nothing')), {
      status: 404,
      code: 1001,
      message: 'Resource not found',
    });
  });
});

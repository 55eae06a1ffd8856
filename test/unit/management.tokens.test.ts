import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { ManagementApiError, type ManagementClient } from '../../src/client/management-client.js';
import { decodeToken, signToken, tokenKeyOf, verifyTokenSignature } from '../../src/management/index.js';
import type { Room } from '../../src/store/index.js';
import { errorOf, startManagementHarness, type Credentials, type ManagementHarness } from '../support/management-api.js';
import { standInPortal } from '../support/stand-in-manager.js';

const TOKEN_LIFETIME = 1_000;

describe('management API join tokens', () => {
  let harness: ManagementHarness;
  let tenant: Credentials;
  let client: ManagementClient;
  let room: Room;

  before(async () => {
    harness = await startManagementHarness({ tokens: { lifetime: TOKEN_LIFETIME } });
    const created = await harness.superClient.createService('tokens-tenant');
    tenant = { serviceId: created._id, key: created.key };
    client = harness.client(tenant);
    room = await client.createRoom('tokens');
  });
  afterEach(() => {
    harness.manager.portal = standInPortal;
    harness.manager.failure = undefined;
  });
  after(() => harness.close());

  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => assert.fail('the request should have been refused'),
      (error: unknown) => {
        assert.ok(error instanceof ManagementApiError);
        return { status: error.status, code: error.code, message: error.message };
      },
    );

  it('a token decodes to {tokenId, host, secure, signature} signed with the store\'s token key', async () => {
    const text = await client.createToken(room._id, 'alice', 'presenter');
    const payload = JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(payload), ['tokenId', 'host', 'secure', 'signature']);
    assert.equal(payload['host'], 'portal.example.test:8080');
    assert.equal(payload['secure'], false);

    const key = await tokenKeyOf(harness.store);
    const token = decodeToken(text)!;
    assert.ok(verifyTokenSignature(key, token));
    const hex = createHmac('sha256', key).update(`${token.tokenId},${token.host},undefined`).digest('hex');
    const expected = Buffer.from(hex).toString('base64');
    assert.equal(token.signature, expected);
    assert.equal(signToken(key, token.tokenId, token.host), expected);
    assert.ok(!verifyTokenSignature(key, { ...token, host: 'elsewhere:8080' }));
  });

  it('the token\'s record can be consumed exactly once and carries user, role, room, service and code', async () => {
    const token = decodeToken(await client.createToken(room._id, 'bob', 'viewer', { isp: 'isp-a', region: 'north' }))!;
    const consumed = await harness.store.consumeToken(token.tokenId, TOKEN_LIFETIME, Date.now());
    assert.equal(consumed.status, 'ok');
    if (consumed.status !== 'ok') return;
    assert.equal(consumed.token.user, 'bob');
    assert.equal(consumed.token.role, 'viewer');
    assert.equal(consumed.token.room, room._id);
    assert.equal(consumed.token.service, tenant.serviceId);
    assert.deepEqual(consumed.token.origin, { isp: 'isp-a', region: 'north' });
    assert.equal(consumed.token.host, token.host);
    assert.equal(consumed.token.secure, false);
    const schedule = harness.manager.scheduled.at(-1)!;
    assert.deepEqual(schedule, {
      purpose: 'portal',
      task: consumed.token.code,
      preference: { isp: 'isp-a', region: 'north' },
      reserveTimeMs: TOKEN_LIFETIME,
    });
    assert.deepEqual(await harness.store.consumeToken(token.tokenId, TOKEN_LIFETIME, Date.now()), { status: 'missing' });
  });

  it('a token is no longer consumable after the token lifetime', async () => {
    const token = decodeToken(await client.createToken(room._id, 'late', 'presenter'))!;
    const afterLifetime = Date.now() + TOKEN_LIFETIME + 1;
    assert.deepEqual(await harness.store.consumeToken(token.tokenId, TOKEN_LIFETIME, afterLifetime), { status: 'expired' });
  });

  it('without a preference the token takes OWT\'s default origin', async () => {
    const token = decodeToken(await client.createToken(room._id, 'carol', 'presenter'))!;
    const consumed = await harness.store.consumeToken(token.tokenId, TOKEN_LIFETIME, Date.now());
    assert.deepEqual(consumed.status === 'ok' && consumed.token.origin, { isp: 'isp', region: 'region' });
  });

  it('a portal behind an https via_host gives a secure token for the via host without its scheme', async () => {
    harness.manager.portal = { ...standInPortal, info: { ...standInPortal.info, via_host: 'https://conf.example.test:443' } };
    const token = decodeToken(await client.createToken(room._id, 'dave', 'presenter'))!;
    assert.equal(token.host, 'conf.example.test:443');
    assert.equal(token.secure, true);
    assert.ok(verifyTokenSignature(await tokenKeyOf(harness.store), token));
  });

  it('a portal behind an http via_host gives an insecure token', async () => {
    harness.manager.portal = { ...standInPortal, info: { ...standInPortal.info, via_host: 'http://plain.example.test', ssl: true } };
    const token = decodeToken(await client.createToken(room._id, 'erin', 'presenter'))!;
    assert.deepEqual([token.host, token.secure], ['plain.example.test', false]);
  });

  it('a TLS portal without hostname is reached by ip and port, securely', async () => {
    harness.manager.portal = { ...standInPortal, info: { ...standInPortal.info, hostname: '', ip: '10.0.0.7', port: 8443, ssl: true } };
    const token = decodeToken(await client.createToken(room._id, 'frank', 'presenter'))!;
    assert.deepEqual([token.host, token.secure], ['10.0.0.7:8443', true]);
  });

  it('an empty user is refused with 400/1301', async () => {
    assert.deepEqual(await refusal(client.createToken(room._id, '', 'presenter')), {
      status: 400,
      code: 1301,
      message: 'Name or role not valid: user must be a non-empty string',
    });
  });

  it('a role the room does not have is refused with 400/1301', async () => {
    assert.deepEqual(await refusal(client.createToken(room._id, 'gina', 'emperor')), {
      status: 400,
      code: 1301,
      message: 'Name or role not valid: role "emperor" does not exist in the room',
    });
  });

  it('token bodies with wrong types or unknown fields are refused with 400/1301', async () => {
    for (const body of [
      { user: 7, role: 'presenter' },
      { user: 'u', role: 'presenter', extra: true },
      { user: 'u', role: 'presenter', preference: { isp: 1 } },
      { user: 'u', role: 'presenter', preference: { country: 'x' } },
    ]) {
      const response = await harness.request('POST', `/v1/rooms/${room._id}/tokens`, { auth: tenant, body: JSON.stringify(body) });
      const error = await errorOf(response);
      assert.deepEqual([error.status, error.code], [400, 1301], JSON.stringify(body));
    }
  });

  it('the OWT REST client\'s path with a trailing slash gets the token as text', async () => {
    const response = await harness.request('POST', `/v1/rooms/${room._id}/tokens/`, {
      auth: tenant,
      body: JSON.stringify({ preference: { isp: 'isp', region: 'region' }, user: 'owt', role: 'presenter' }),
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    assert.ok(decodeToken(await response.text()));
  });

  it('a cluster that cannot schedule a portal fails the request with 503/1201 and the cluster\'s message', async () => {
    harness.manager.failure = 'No worker available, all in full load.';
    assert.deepEqual(await refusal(client.createToken(room._id, 'hank', 'presenter')), {
      status: 503,
      code: 1201,
      message: 'No worker available, all in full load.',
    });
  });

  // Last: it leaves the harness without a cluster manager.
  it('an unreachable cluster manager fails the request with 503/1201', async () => {
    await harness.manager.close();
    const refused = await refusal(client.createToken(room._id, 'ivy', 'presenter'));
    assert.deepEqual([refused.status, refused.code], [503, 1201]);
    assert.match(refused.message, /unreachable/);
  });
});

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import type { ManagementClient } from '../../src/client/management-client.js';
import { decodeToken, encodeToken, signToken, tokenKeyOf, verifyTokenSignature } from '../../src/management/index.js';
import type { Room } from '../../src/store/index.js';
import { errorOf, refusal, startManagementHarness, type Credentials, type ManagementHarness } from '../support/management-api.js';
import { waitFor } from '../support/wait.js';

const TOKEN_LIFETIME = 1_000;

describe('management API join tokens', () => {
  let harness: ManagementHarness;
  let tenant: Credentials;
  let client: ManagementClient;
  let room: Room;

  before(async () => {
    harness = await startManagementHarness({ tokens: { lifetime: TOKEN_LIFETIME } });
    ({ credentials: tenant, client } = await harness.tenant('tokens-tenant'));
    room = await client.createRoom('tokens');
  });
  afterEach(() => harness.quitPortals());
  after(() => harness.close());

  /** What the manager holds for each portal now: its host name and the tasks reserved to it. */
  const reservationsByHost = () =>
    Object.fromEntries(harness.manager.getWorkers('portal').map((worker) => [worker.info.hostname, worker.reservations]));

  it('a token decodes to {tokenId, host, secure, signature} signed with the store\'s token key', async () => {
    await harness.joinPortal();
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
    assert.ok(!verifyTokenSignature(key, { ...token, webTransportUrl: 'undefined' }));
  });

  it('a token with a WebTransport URL is signed over it, and decodes and verifies as issued', () => {
    const key = 'a-token-key';
    const issued = encodeToken(key, { tokenId: 'id1', host: 'portal.example.test:8080', secure: true, webTransportUrl: 'https://wt.example.test/' });
    const token = decodeToken(issued)!;
    assert.equal(token.webTransportUrl, 'https://wt.example.test/');
    assert.ok(verifyTokenSignature(key, token));
    assert.ok(!verifyTokenSignature(key, { ...token, webTransportUrl: 'https://other.example.test/' }));
    const { webTransportUrl: _dropped, ...without } = token;
    assert.ok(!verifyTokenSignature(key, without));
  });

  it('the token\'s record can be consumed exactly once and carries user, role, room, service and code', async () => {
    await harness.joinPortal();
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
    assert.deepEqual(await harness.store.consumeToken(token.tokenId, TOKEN_LIFETIME, Date.now()), { status: 'missing' });
  });

  it('a token reserves its code on the portal that suits the preference, until the token lifetime is over', async () => {
    await harness.joinPortal();
    await harness.joinPortal({ hostname: 'north.example.test', capacity: { isps: [], regions: ['north'] } });
    const token = decodeToken(await client.createToken(room._id, 'nina', 'presenter', { isp: 'isp-a', region: 'north' }))!;
    assert.equal(token.host, 'north.example.test:8080');
    const consumed = await harness.store.consumeToken(token.tokenId, TOKEN_LIFETIME, Date.now());
    assert.ok(consumed.status === 'ok');
    assert.deepEqual(reservationsByHost(), { 'portal.example.test': [], 'north.example.test': [consumed.token.code] });
    await waitFor('the reservation to lapse', () => reservationsByHost()['north.example.test']!.length === 0, {
      timeoutMs: 2 * TOKEN_LIFETIME,
    });
  });

  it('a token is no longer consumable after the token lifetime', async () => {
    await harness.joinPortal();
    const token = decodeToken(await client.createToken(room._id, 'late', 'presenter'))!;
    const afterLifetime = Date.now() + TOKEN_LIFETIME + 1;
    assert.deepEqual(await harness.store.consumeToken(token.tokenId, TOKEN_LIFETIME, afterLifetime), { status: 'expired' });
  });

  it('without a preference the token takes OWT\'s default origin', async () => {
    await harness.joinPortal();
    const token = decodeToken(await client.createToken(room._id, 'carol', 'presenter'))!;
    const consumed = await harness.store.consumeToken(token.tokenId, TOKEN_LIFETIME, Date.now());
    assert.deepEqual(consumed.status === 'ok' && consumed.token.origin, { isp: 'isp', region: 'region' });
  });

  it('a portal behind an https via_host gives a secure token for the via host without its scheme', async () => {
    await harness.joinPortal({ via_host: 'https://conf.example.test:443' });
    const token = decodeToken(await client.createToken(room._id, 'dave', 'presenter'))!;
    assert.equal(token.host, 'conf.example.test:443');
    assert.equal(token.secure, true);
    assert.ok(verifyTokenSignature(await tokenKeyOf(harness.store), token));
  });

  it('a portal behind an http via_host gives an insecure token', async () => {
    await harness.joinPortal({ via_host: 'http://plain.example.test', ssl: true });
    const token = decodeToken(await client.createToken(room._id, 'erin', 'presenter'))!;
    assert.deepEqual([token.host, token.secure], ['plain.example.test', false]);
  });

  it('a TLS portal without hostname is reached by ip and port, securely', async () => {
    await harness.joinPortal({ hostname: '', ip: '10.0.0.7', port: 8443, ssl: true });
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
    await harness.joinPortal();
    const response = await harness.request('POST', `/v1/rooms/${room._id}/tokens/`, {
      auth: tenant,
      body: JSON.stringify({ preference: { isp: 'isp', region: 'region' }, user: 'owt', role: 'presenter' }),
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    assert.ok(decodeToken(await response.text()));
  });

  const fullLoad = { status: 503, code: 1201, message: 'No worker available, all in full load.' };

  it('a cluster without a portal fails the request with 503/1201 and the cluster\'s message', async () => {
    assert.deepEqual(await refusal(client.createToken(room._id, 'hank', 'presenter')), fullLoad);
  });

  it('a cluster whose only portal reports its maximum load fails the request with 503/1201', async () => {
    const busy = await harness.joinPortal({}, { sample: () => harness.config.cluster.maxLoad });
    await waitFor('the portal to report its load', () => harness.manager.getWorkers('portal').some(({ id, load }) => id === busy.id && load > 0));
    assert.deepEqual(await refusal(client.createToken(room._id, 'hank', 'presenter')), fullLoad);
  });

  it('a cluster whose portals serve only other ISPs fails the request with 503/1201 and says none matches', async () => {
    await harness.joinPortal({ capacity: { isps: ['isp-b'], regions: [] } });
    assert.deepEqual(await refusal(client.createToken(room._id, 'hank', 'presenter', { isp: 'isp-a' })), {
      status: 503,
      code: 1201,
      message: 'No worker matches the preference.',
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

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAuthSigner, parseMAuthHeader } from '../../src/protocol/mauth.js';
import { bodyHashOf, createMAuthHeader, mauthSignature } from '../../src/protocol/signing.js';

const timestamp = 1_700_000_000_000;
const cnonce = '0123456789abcdef';

test("the WebCrypto signer makes OWT's header, as the server's MAuth checks it", async () => {
  const signer = await MAuthSigner.create('service-1', 'a-service-key');
  const fields = parseMAuthHeader(await signer.header({ timestamp, cnonce }));
  assert.ok(fields);
  assert.deepEqual([fields.method, fields.serviceid, fields.timestamp, fields.cnonce], ['HMAC_SHA256', 'service-1', '1700000000000', cnonce]);
  assert.equal(fields.signature, mauthSignature('a-service-key', fields));
});

test("given the request, the signer (the admin page's and the management client's) signs its method, path and body", async () => {
  const signer = await MAuthSigner.create('service-1', 'a-service-key');
  const request = { method: 'POST', path: '/v1/rooms?x=1', body: '{"name":"zoë"}' };
  const header = await signer.header({ request, timestamp, cnonce });
  const fields = parseMAuthHeader(header)!;
  assert.equal(fields.method, 'HMAC_SHA256_REQUEST');
  assert.equal(fields.bodyhash, bodyHashOf(Buffer.from(request.body)));
  assert.equal(fields.signature, mauthSignature('a-service-key', fields, request));
  assert.equal(header, createMAuthHeader({ serviceId: 'service-1', key: 'a-service-key', timestamp, cnonce, request }));
  for (const other of [{ ...request, method: 'DELETE' }, { ...request, path: '/v1/rooms?x=2' }, { ...request, path: '/services' }]) {
    assert.notEqual(fields.signature, mauthSignature('a-service-key', fields, other), JSON.stringify(other));
  }
  const bodyless = parseMAuthHeader(await signer.header({ request: { method: 'GET', path: '/v1/rooms' } }))!;
  assert.equal(bodyless.bodyhash, bodyHashOf(''));
});

test('every header the signer makes carries a new cnonce', async () => {
  const signer = await MAuthSigner.create('service-1', 'a-service-key');
  const cnonces = new Set<string>();
  for (let index = 0; index < 20; index++) cnonces.add(parseMAuthHeader(await signer.header())!.cnonce);
  assert.equal(cnonces.size, 20);
});

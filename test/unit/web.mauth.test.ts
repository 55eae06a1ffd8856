import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mauthSignature, parseMAuthHeader } from '../../src/management/mauth.js';
import { MAuthSigner } from '../../web/mauth.js';

test("the admin page's WebCrypto signer makes the header the server's MAuth checks", async () => {
  const signer = await MAuthSigner.create('service-1', 'a-service-key');
  const fields = parseMAuthHeader(await signer.header(1_700_000_000_000, '0123456789abcdef'));
  assert.ok(fields);
  assert.equal(fields.serviceid, 'service-1');
  assert.equal(fields.timestamp, '1700000000000');
  assert.equal(fields.cnonce, '0123456789abcdef');
  assert.equal(fields.signature, mauthSignature('a-service-key', fields));
});

test('every header the signer makes carries a new cnonce', async () => {
  const signer = await MAuthSigner.create('service-1', 'a-service-key');
  const cnonces = new Set<string>();
  for (let index = 0; index < 20; index++) cnonces.add(parseMAuthHeader(await signer.header())!.cnonce);
  assert.equal(cnonces.size, 20);
});

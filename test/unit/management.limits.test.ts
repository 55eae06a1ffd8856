import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { errorOf, startManagementHarness, type ManagementHarness } from '../support/management-api.js';

const codeOf = async (response: Response) => {
  const error = await errorOf(response);
  return [error.status, error.code];
};

let harness: ManagementHarness;
before(async () => {
  harness = await startManagementHarness({ management: { bodyLimit: 1_024 } });
});
after(() => harness.close());

describe('REST limits and strict inputs', () => {
  test('a body over management.bodyLimit is refused with 413 and code 1301', async () => {
    const body = JSON.stringify({ name: 'r', options: { participantLimit: 1 }, padding: 'x'.repeat(2_000) });
    const error = await errorOf(await harness.request('POST', '/v1/rooms', { body }));
    assert.equal(error.status, 413);
    assert.equal(error.code, 1301);
    const small = await harness.request('POST', '/v1/rooms', { body: JSON.stringify({ name: 'small' }) });
    assert.equal(small.status, 200);
  });

  test('a body nested deeper than any the API takes is refused with 400 and code 1301 on every route', async () => {
    const deep = JSON.parse(`${'['.repeat(40)}${']'.repeat(40)}`) as unknown;
    for (const [method, path, body] of [
      ['POST', '/v1/rooms', { name: 'r', options: { views: [{ label: 'v', video: { layout: deep } }] } }],
      ['POST', '/services', { name: deep }],
    ] as const) {
      const error = await errorOf(await harness.request(method, path, { body: JSON.stringify(body) }));
      assert.deepEqual([error.status, error.code, error.message], [400, 1301, 'Request body is nested too deeply'], path);
    }
  });

  test('every answer, JSON, text or error, tells browsers not to guess its type', async () => {
    const room = await harness.superClient.createRoom('sniffed');
    const answers = [
      await harness.request('GET', '/v1/rooms'),
      await harness.request('POST', `/v1/rooms/${room._id}/tokens`, { body: JSON.stringify({ user: 'u', role: 'presenter' }) }),
      await harness.request('GET', '/v1/rooms', { auth: null }),
      await harness.request('GET', '/no/such/route'),
      await harness.request('GET', '/v1/rooms/%zz'),
      await harness.request('POST', '/v1/rooms', { body: '{"name": ' }),
      await harness.request('GET', '/healthz', { auth: null }),
    ];
    for (const answer of answers) {
      assert.equal(answer.headers.get('x-content-type-options'), 'nosniff', `${answer.status} ${answer.url}`);
      await answer.arrayBuffer();
    }
  });

  test('path parameters that are not ids are refused with 400 and code 1301', async () => {
    for (const path of ['/v1/rooms/a%20b', '/v1/rooms/%24where', '/services/x.y']) {
      const error = await errorOf(await harness.request('GET', path));
      assert.deepEqual([error.status, error.code], [400, 1301], path);
      assert.match(error.message, /^params\//, path);
    }
    // The router refuses these before any schema; the answer is in the API's format all the same.
    assert.deepEqual(await codeOf(await harness.request('GET', `/v1/rooms/${'a'.repeat(129)}`)), [414, 1301]);
    assert.deepEqual(await codeOf(await harness.request('GET', '/v1/rooms/%zz')), [400, 1301]);
    const room = await harness.superClient.createRoom('ids');
    assert.deepEqual(await codeOf(await harness.request('GET', `/v1/rooms/${room._id}/participants/not%2Fan%2Fid`)), [400, 1301]);
  });

  test('query fields are refused on routes that take none, and unknown ones where a route takes some', async () => {
    const room = await harness.superClient.createRoom('queries');
    for (const path of [`/v1/rooms/${room._id}?debug=1`, '/services?all=true', '/v1/rooms?page=1&sort=name']) {
      assert.deepEqual(await codeOf(await harness.request('GET', path)), [400, 1301], path);
    }
    assert.equal((await harness.request('GET', '/v1/rooms?page=1&per_page=10')).status, 200);
  });

  test('unknown body fields are refused on every body-taking route', async () => {
    const room = await harness.superClient.createRoom('bodies');
    const requests: Array<[string, string, unknown]> = [
      ['POST', '/services', { name: 's', key: 'chosen-by-caller' }],
      ['POST', '/v1/rooms', { name: 'r', owner: 'someone' }],
      ['PUT', `/v1/rooms/${room._id}`, { name: 'r', _id: 'other' }],
      ['POST', `/v1/rooms/${room._id}/tokens`, { user: 'u', role: 'presenter', admin: true }],
      ['PATCH', `/v1/rooms/${room._id}/participants/p1`, [{ op: 'replace', path: '/permission/publish', value: false, extra: 1 }]],
    ];
    for (const [method, path, body] of requests) {
      const error = await errorOf(await harness.request(method, path, { body: JSON.stringify(body) }));
      assert.deepEqual([error.status, error.code], [400, 1301], `${method} ${path}`);
      assert.match(error.message, /is not allowed$/, `${method} ${path}`);
    }
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, defaults, loadConfig, parseArguments } from '../../src/config/config.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conclave-config-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('configuration', () => {
  test('without anything set, the SPEC defaults apply', () => {
    const config = loadConfig();
    assert.equal(config.portal.port, 8080);
    assert.equal(config.management.port, 3000);
    assert.equal(config.portal.reconnectionTimeout, 60_000);
    assert.equal(config.portal.reconnectionTicketLifetime, 600_000);
    assert.equal(config.tokens.lifetime, 180_000);
    assert.deepEqual(config.portal.cors, ['*']);
    assert.equal(config.cluster.strategies.portal, 'last-used');
  });

  test('a file overrides defaults, the environment overrides the file, flags override the environment', async () => {
    const file = join(dir, 'layered.json');
    await writeFile(file, JSON.stringify({ portal: { port: 1111, reconnectionTimeout: 5_000 }, tokens: { lifetime: 9_000 } }));
    const env = { CONCLAVE_PORTAL__PORT: '2222', CONCLAVE_PORTAL__CORS: 'https://a.example, https://b.example' };
    const args = parseArguments(['--portal.port', '3333', '--cluster.strategies.portal=round-robin']);
    const config = loadConfig({ file, env, overrides: args.overrides });
    assert.equal(config.portal.port, 3333);
    assert.equal(config.portal.reconnectionTimeout, 5_000);
    assert.equal(config.tokens.lifetime, 9_000);
    assert.deepEqual(config.portal.cors, ['https://a.example', 'https://b.example']);
    assert.equal(config.cluster.strategies.portal, 'round-robin');
    assert.equal(config.management.port, defaults.management.port);
  });

  test('the result is frozen all the way down', () => {
    const config = loadConfig();
    assert.throws(() => {
      (config.portal as { port: number }).port = 1;
    }, TypeError);
  });

  const refusals: Array<[string, () => unknown, RegExp]> = [
    ['an unknown key in a file', () => loadConfig({ overrides: { portal: { nope: 1 } } as never }), /unknown configuration key "portal\.nope"/],
    ['a wrong type from the environment', () => loadConfig({ env: { CONCLAVE_TOKENS__LIFETIME: 'soon' } }), /"tokens\.lifetime" must be integer/],
    ['an unknown strategy', () => loadConfig({ overrides: { cluster: { strategies: { portal: 'fastest' } } } }), /cluster\.strategies\.portal/],
    ['a negative timer', () => loadConfig({ overrides: { portal: { loginTimeout: -1 } } }), /portal\.loginTimeout/],
    ['a flag without a value', () => parseArguments(['--portal.port']), /flag "--portal\.port" needs a value/],
    ['two commands', () => parseArguments(['portal', 'management-api']), /unexpected argument "management-api"/],
  ];
  for (const [what, load, message] of refusals) {
    test(`${what} is refused with a message naming it`, () => {
      assert.throws(load, (error: unknown) => error instanceof ConfigError && message.test(error.message));
    });
  }

  test('a config file that is not JSON is refused with its path', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{ not json');
    assert.throws(() => loadConfig({ file }), (error: unknown) => error instanceof ConfigError && error.message.includes(file));
  });
});

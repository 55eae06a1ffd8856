import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkClusterTimers } from '../../src/cluster/index.js';
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

  test('--help, -h and --version are requests that take no value', () => {
    assert.equal(parseArguments(['--help']).request, 'help');
    assert.equal(parseArguments(['portal', '-h']).request, 'help');
    assert.equal(parseArguments(['--version']).request, 'version');
    assert.equal(parseArguments(['--portal.port', '1']).request, undefined);
  });

  const refusals: Array<[string, () => unknown, RegExp]> = [
    ['an unknown key in a file', () => loadConfig({ overrides: { portal: { nope: 1 } } as never }), /unknown configuration key "portal\.nope"/],
    ['a wrong type from the environment, naming the variable', () => loadConfig({ env: { CONCLAVE_TOKENS__LIFETIME: 'soon' } }), /"tokens\.lifetime" \(from CONCLAVE_TOKENS__LIFETIME\) must be integer/],
    ['a misspelt key, with the nearest one', () => loadConfig({ overrides: { portal: { reconectionTimeout: 1 } } as never }), /unknown configuration key "portal\.reconectionTimeout"; did you mean "portal\.reconnectionTimeout"\?/],
    ['a misspelt section from the environment, naming the variable', () => loadConfig({ env: { CONCLAVE_PORTAL__PROT: '1' } }), /unknown configuration key "portal\.prot" \(from CONCLAVE_PORTAL__PROT\); did you mean "portal\.port"\?/],
    ['an unknown strategy, with the allowed ones', () => loadConfig({ overrides: { cluster: { strategies: { portal: 'fastest' } } } }), /cluster\.strategies\.portal" must be equal to one of the allowed values: least-used, most-used, last-used, round-robin, randomly-pick, weight-robin/],
    ['an unknown log format, with the allowed ones', () => loadConfig({ overrides: { log: { format: 'xml' as never } } }), /"log\.format" must be equal to one of the allowed values: json, pretty/],
    ['a negative timer', () => loadConfig({ overrides: { portal: { loginTimeout: -1 } } }), /portal\.loginTimeout/],
    ['a flag without a value', () => parseArguments(['--portal.port']), /flag "--portal\.port" needs a value/],
    ['two commands', () => parseArguments(['portal', 'management-api']), /unexpected argument "management-api"/],
    ['a media listen address that is not IPv4', () => loadConfig({ overrides: { webrtc: { listenIp: 'localhost' } } }), /webrtc\.listenIp/],
    ['a reconnection ticket that ends before the reconnection window', () => loadConfig({ overrides: { portal: { reconnectionTicketLifetime: 30_000 } } }), /"portal\.reconnectionTicketLifetime" \(30000 ms\) must be longer than "portal\.reconnectionTimeout" \(60000 ms\)/],
    ['every interface without an announced address', () => loadConfig({ overrides: { webrtc: { listenIp: '0.0.0.0' } } }), /"webrtc\.announcedIp" must be set/],
    ['a port range upside down', () => loadConfig({ overrides: { webrtc: { portRange: '5000-4000' } } }), /webrtc\.portRange/],
    ['a port range past 65535', () => loadConfig({ env: { CONCLAVE_WEBRTC__PORT_RANGE: '65000-70000' } }), /webrtc\.portRange/],
    ['an unknown media engine from the environment, with the allowed ones', () => loadConfig({ env: { CONCLAVE_WEBRTC__ENGINE: 'mediasoup' } }), /"webrtc\.engine" \(from CONCLAVE_WEBRTC__ENGINE\) must be equal to one of the allowed values: werift, datachannel/],
    ['an ICE server that is not STUN or TURN', () => loadConfig({ overrides: { webrtc: { iceServers: ['http://example.com'] } } }), /webrtc\.iceServers/],
  ];
  for (const [what, load, message] of refusals) {
    test(`${what} is refused with a message naming it`, () => {
      assert.throws(load, (error: unknown) => error instanceof ConfigError && message.test(error.message));
    });
  }

  test('the media plane binds and announces 127.0.0.1 by default, contacts no ICE server, and takes the ports the system gives', () => {
    const { webrtc } = loadConfig();
    assert.deepEqual([webrtc.listenIp, webrtc.announcedIp, webrtc.portRange, webrtc.iceServers], ['127.0.0.1', '', '', []]);
    const behindNat = loadConfig({ env: { CONCLAVE_WEBRTC__LISTEN_IP: '0.0.0.0', CONCLAVE_WEBRTC__ANNOUNCED_IP: '203.0.113.10', CONCLAVE_WEBRTC__PORT_RANGE: '20000-20999' } });
    assert.deepEqual([behindNat.webrtc.listenIp, behindNat.webrtc.announcedIp, behindNat.webrtc.portRange], ['0.0.0.0', '203.0.113.10', '20000-20999']);
  });

  test('the media engine is node-datachannel unless webrtc.engine says werift, from the environment too', () => {
    assert.equal(loadConfig().webrtc.engine, 'datachannel');
    assert.equal(loadConfig({ env: { CONCLAVE_WEBRTC__ENGINE: 'datachannel' } }).webrtc.engine, 'datachannel');
    assert.equal(loadConfig({ env: { CONCLAVE_WEBRTC__ENGINE: 'werift' } }).webrtc.engine, 'werift');
  });

  test('a config file that is not JSON is refused with its path', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{ not json');
    assert.throws(() => loadConfig({ file }), (error: unknown) => error instanceof ConfigError && error.message.includes(file));
  });

  test('the default cluster timers keep a fail-over and liveness safe', () => {
    checkClusterTimers(loadConfig());
  });

  test('cluster timers under which workers cannot re-join a new manager in its initial time are refused, naming the keys', () => {
    const config = loadConfig({ overrides: { cluster: { rpcTimeout: 8_000, initialTime: 1_500, keepAlivePeriod: 100, joinRetryInterval: 100 } } });
    assert.throws(() => checkClusterTimers(config), (error: unknown) =>
      error instanceof ConfigError &&
      error.message.startsWith('cluster.rpcTimeout + 4 × cluster.keepAlivePeriod + cluster.joinRetryInterval (8500 ms) must be less than cluster.initialTime (1500 ms)'));
  });

  test('a broker reconnection slower than the liveness window is refused, naming the keys', () => {
    const config = loadConfig({ overrides: { bus: { maxReconnectDelay: 30_000 } } });
    assert.throws(() => checkClusterTimers(config), /bus\.maxReconnectDelay \+ cluster\.joinRetryInterval \(30800 ms\) must be less than cluster\.checkPeriod × cluster\.checkAliveCount \(10000 ms\)/);
  });

  test('a keep-alive period longer than the liveness window is refused, naming the keys', () => {
    const config = loadConfig({ overrides: { cluster: { keepAlivePeriod: 2_000, checkPeriod: 100, checkAliveCount: 10 } } });
    assert.throws(() => checkClusterTimers(config), /cluster\.keepAlivePeriod \(2000 ms\) must be less than cluster\.checkPeriod × cluster\.checkAliveCount \(1000 ms\)/);
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { InProcessBus } from '../../src/bus/in-process.js';
import { loadConfig, type ConfigOverrides } from '../../src/config/config.js';
import { createLogger } from '../../src/logger.js';
import { bootstrap, startManagementApi, tokenKeyOf } from '../../src/management/index.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { silentLogger } from '../support/cluster.js';
import { startManagementHarness, type ManagementHarness } from '../support/management-api.js';

describe('management bootstrap', () => {
  let harness: ManagementHarness;

  before(async () => {
    harness = await startManagementHarness();
  });
  after(() => harness.close());

  it('the first start creates the super service, prints its id and key once and says where they are', async () => {
    const { bootstrap, superService } = harness;
    assert.equal(bootstrap.createdNow, true);
    assert.equal(bootstrap.superServiceId, superService.serviceId);
    assert.equal(bootstrap.credentialsFile, join(harness.config.dataDir, 'super-service.json'));
    assert.ok(harness.printed.includes(superService.serviceId));
    assert.equal(harness.printed.split(superService.key).length - 1, 1, 'the key is printed exactly once');
  });

  it('the credentials file holds {id, key} and is readable by its owner only', async () => {
    const file = harness.bootstrap.credentialsFile;
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), { id: harness.superService.serviceId, key: harness.superService.key });
  });

  it('the first start creates a sample room with the defaults, owned by the super service', async () => {
    const room = await harness.superClient.getRoom(harness.bootstrap.sampleRoomId);
    assert.equal(room.participantLimit, -1);
    assert.deepEqual(room.views.map((view) => view.label), ['common']);
  });

  it('a restart on the same data dir keeps services, rooms and keys, and creates no second super service or sample room', async () => {
    const tenant = await harness.tenant('survivor');
    const room = await tenant.client.createRoom('kept');
    const tokenKey = await tokenKeyOf(harness.store);
    const printedBefore = harness.printed;
    const first = harness.bootstrap;

    await harness.restart();

    assert.deepEqual(harness.bootstrap, { ...first, createdNow: false });
    assert.equal(harness.printed, printedBefore, 'nothing is printed again');
    assert.equal(await tokenKeyOf(harness.store), tokenKey);
    const services = await harness.superClient.getServices();
    assert.deepEqual(services.map((service) => service.name), ['superService', 'survivor']);
    assert.deepEqual(await harness.superClient.getRooms(), [await harness.superClient.getRoom(first.sampleRoomId)]);
    assert.deepEqual(await harness.client(tenant.credentials).getRoom(room._id), room);
  });

  it('shown anywhere but on a terminal (a log collector, a file), the new super service names its credentials file, never its key', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'conclave-bootstrap-quiet-'));
    const store = SqliteStore.open(dataDir);
    try {
      let printed = '';
      const output = { write: (text: string) => (printed += text) };
      const created = await bootstrap({ config: loadConfig({ overrides: { dataDir } }), store, logger: silentLogger, output });
      const { key } = JSON.parse(await readFile(created.credentialsFile, 'utf8')) as { key: string };
      assert.equal(printed, `Super service created: id ${created.superServiceId}, key in ${created.credentialsFile} (readable by its owner only)\n`);
      assert.ok(!printed.includes(key));
    } finally {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('management API over HTTPS', () => {
  let dataDir: string;
  let cert: string;
  let key: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'conclave-management-tls-'));
    cert = join(dataDir, 'cert.pem');
    key = join(dataDir, 'key.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' });
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  /** The warnings a management API logs as it starts with these listener settings. */
  async function startWarnings(management: ConfigOverrides['management']): Promise<string[]> {
    const lines: string[] = [];
    const capture = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const config = loadConfig({ overrides: { dataDir, management: { port: 0, ...management } } });
    const store = SqliteStore.open(dataDir);
    const bus = new InProcessBus();
    const api = await startManagementApi({ config, store, bus, logger: createLogger('warn', 'conclave', capture) });
    await api.close();
    await store.close();
    await bus.close();
    return lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
  }

  it('warns at start when it listens beyond loopback without TLS, and only then', async () => {
    const [warning, ...others] = await startWarnings({ host: '0.0.0.0' });
    assert.match(warning ?? '', /^management API listens beyond loopback without TLS: .*management\.tls\.cert/);
    assert.deepEqual(others, []);
    assert.deepEqual(await startWarnings({ host: '127.0.0.1' }), []);
    assert.deepEqual(await startWarnings({ host: '0.0.0.0', tls: { cert, key } }), []);
  });

  it('serves HTTPS when a certificate and key are configured', async () => {
    const config = loadConfig({
      overrides: { dataDir, management: { host: '127.0.0.1', port: 0, tls: { cert, key } } },
    });
    const store = SqliteStore.open(dataDir);
    const bus = new InProcessBus();
    const api = await startManagementApi({ config, store, bus, logger: silentLogger });
    try {
      const ca = await readFile(cert);
      const body = await new Promise<string>((resolve, reject) => {
        httpsGet({ host: '127.0.0.1', port: api.port, path: '/healthz', ca }, (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => resolve(text));
        }).on('error', reject);
      });
      assert.deepEqual(JSON.parse(body), { status: 'ok' });
    } finally {
      await api.close();
      await store.close();
      await bus.close();
    }
  });
});

import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConferenceClient } from '../../src/client/conference-client.js';
import { ManagementClient } from '../../src/client/management-client.js';
import { waitFor } from '../support/wait.js';

interface Started {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
}

function conclave(args: string[]): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/conclave.ts', ...args], {
    env: { ...process.env, CONCLAVE_LOG__LEVEL: 'silent' },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

const exited = (child: ChildProcessWithoutNullStreams) =>
  new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

let dataDir: string;
before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'conclave-command-'));
});
after(() => rm(dataDir, { recursive: true, force: true }));

describe('the conclave command', () => {
  const args = () => ['--dataDir', dataDir, '--portal.port', '0', '--management.port', '0', '--portal.host', '127.0.0.1', '--management.host', '127.0.0.1'];

  test('starts the embedded server, prints where it listens and where the credentials are, and stops on SIGTERM', async () => {
    const first = conclave(args());
    await waitFor('the start banner', () => first.output().includes('sample room:') || first.output(), { timeoutMs: 20_000, intervalMs: 50 });
    const text = first.output();
    assert.match(text, /Super service created/);
    const managementPort = Number(/management API:\s+(\d+)/.exec(text)![1]);
    assert.ok(Number(/portal \(Socket\.IO\):\s+(\d+)/.exec(text)![1]) > 0);
    const credentials = join(dataDir, 'super-service.json');
    assert.ok(text.includes(credentials));
    assert.equal((await stat(credentials)).mode & 0o777, 0o600);
    const health = await fetch(`http://127.0.0.1:${managementPort}/healthz`);
    assert.equal(health.status, 200);
    first.child.kill('SIGTERM');
    assert.equal(await exited(first.child), 0);

    const second = conclave(args());
    await waitFor('the second start banner', () => second.output().includes('sample room:') || second.output(), { timeoutMs: 20_000, intervalMs: 50 });
    assert.doesNotMatch(second.output(), /Super service created/);
    assert.equal(/super service:\s+(\S+)/.exec(second.output())![1], /super service:\s+(\S+)/.exec(text)![1]);
    second.child.kill('SIGINT');
    assert.equal(await exited(second.child), 0);
  });

  test('stops at once on SIGTERM while a participant waits to reconnect, though the reconnection timeout is a minute', async () => {
    const started = conclave(args());
    await waitFor('the start banner', () => started.output().includes('sample room:') || started.output(), { timeoutMs: 20_000, intervalMs: 50 });
    const text = started.output();
    const { id, key } = JSON.parse(await readFile(join(dataDir, 'super-service.json'), 'utf8')) as { id: string; key: string };
    const management = new ManagementClient({ url: `http://127.0.0.1:${/management API:\s+(\d+)/.exec(text)![1]}`, serviceId: id, key });
    const client = new ConferenceClient(`http://127.0.0.1:${/portal \(Socket\.IO\):\s+(\d+)/.exec(text)![1]}`, { socket: { reconnection: false } });
    await client.join(await management.createToken(/sample room:\s+(\S+)/.exec(text)![1]!, 'waiting', 'presenter'));
    client.socket.io.engine.close();
    await waitFor('the participant to be away', async () => (await management.getParticipants(/sample room:\s+(\S+)/.exec(text)![1]!)).length === 1);
    const stopping = Date.now();
    started.child.kill('SIGTERM');
    assert.equal(await exited(started.child), 0);
    assert.ok(Date.now() - stopping < 10_000, `took ${Date.now() - stopping} ms`);
    client.close();
  });

  test('refuses an unknown configuration key, naming it', async () => {
    const started = conclave([...args(), '--portal.prot', '1']);
    assert.equal(await exited(started.child), 1);
    assert.match(started.output(), /unknown configuration key "portal\.prot"/);
  });

  test('refuses a value of the wrong type from the environment, naming the key', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/conclave.ts', ...args()], {
      env: { ...process.env, CONCLAVE_PORTAL__RECONNECTION_TIMEOUT: 'soon' },
    });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    assert.equal(await exited(child), 1);
    assert.match(output, /portal\.reconnectionTimeout/);
  });
});

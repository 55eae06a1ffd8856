import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
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

/** The command in a child process; its stdout is read unless `unreadStdout`, which leaves that pipe to fill up. */
function conclave(args: string[], { logLevel = 'silent', unreadStdout = false } = {}): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/conclave.ts', ...args], {
    env: { ...process.env, CONCLAVE_LOG__LEVEL: logLevel },
  });
  let output = '';
  if (unreadStdout) child.stdout.pause();
  else child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

const portsOf = (text: string) => ({
  management: Number(/management API:\s+(\d+)/.exec(text)![1]),
  portal: Number(/portal \(Socket\.IO\):\s+(\d+)/.exec(text)![1]),
});

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

  test('--help, -h and --version print what they say and exit 0', async () => {
    for (const flag of ['--help', '-h']) {
      const started = conclave([flag]);
      assert.equal(await exited(started.child), 0);
      assert.match(started.output(), /^usage: conclave /);
    }
    const started = conclave(['--version']);
    assert.equal(await exited(started.child), 0);
    const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    assert.equal(started.output(), `conclave ${version}\n`);
  });

  test('a port in use stops the start with one line naming the setting, before any super service is created', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const fresh = await mkdtemp(join(tmpdir(), 'conclave-command-port-'));
    try {
      for (const setting of ['portal.port', 'management.port']) {
        const started = conclave(['--dataDir', fresh, '--portal.port', '0', '--management.port', '0', `--${setting}`, String(port), '--portal.host', '127.0.0.1', '--management.host', '127.0.0.1']);
        assert.equal(await exited(started.child), 1);
        assert.equal(started.output(), `conclave: ${setting} ${port} is already in use\n`);
        await assert.rejects(stat(join(fresh, 'super-service.json')), { code: 'ENOENT' });
      }
    } finally {
      taken.close();
      await rm(fresh, { recursive: true, force: true });
    }
  });

  test('a data directory that cannot be created is named in one line', async () => {
    const started = conclave(['--dataDir', 'package.json/data', '--portal.port', '0', '--management.port', '0']);
    assert.equal(await exited(started.child), 1);
    assert.equal(started.output(), 'conclave: dataDir "package.json/data" cannot be created: a part of the path is not a directory\n');
  });

  test('keeps serving and stops on SIGTERM within shutdownTimeout while nobody reads its stdout (a full log pipe)', async () => {
    const shutdownTimeout = 5_000;
    const started = conclave([...args(), '--management.authFailureDelay', '0', '--shutdownTimeout', String(shutdownTimeout)], {
      logLevel: 'warn',
      unreadStdout: true,
    });
    await waitFor('the start banner', () => started.output().includes('sample room:') || started.output(), { timeoutMs: 20_000, intervalMs: 50 });
    const { management } = portsOf(started.output());
    // Every refused MAuth attempt is a warning line: 4,000 of them are far more than a pipe and its reader's buffer hold.
    for (let batch = 0; batch < 80; batch++) {
      const answers = await Promise.all(Array.from({ length: 50 }, () => fetch(`http://127.0.0.1:${management}/v1/rooms`)));
      assert.ok(answers.every((answer) => answer.status === 401));
    }
    assert.ok(started.child.stdout.readableLength > 0, 'the log pipe is full');
    const stopping = Date.now();
    started.child.kill('SIGTERM');
    const code = await exited(started.child);
    assert.ok(Date.now() - stopping < shutdownTimeout + 2_000, `took ${Date.now() - stopping} ms`);
    assert.equal(code, 0);
  });

  test('keeps serving and stops cleanly when the reader of its stdout is gone (a closed log pipe)', async () => {
    const started = conclave([...args(), '--management.authFailureDelay', '0'], { logLevel: 'warn', unreadStdout: true });
    await waitFor('the start banner', () => started.output().includes('sample room:') || started.output(), { timeoutMs: 20_000, intervalMs: 50 });
    started.child.stdout.destroy();
    const { management } = portsOf(started.output());
    for (let request = 0; request < 20; request++) assert.equal((await fetch(`http://127.0.0.1:${management}/v1/rooms`)).status, 401);
    assert.equal((await fetch(`http://127.0.0.1:${management}/healthz`)).status, 200);
    started.child.kill('SIGTERM');
    assert.equal(await exited(started.child), 0);
  });

  test('a stop signal during a start-up that never ends exits within shutdownTimeout, saying what was still open', async () => {
    // A database that takes the connection and never answers: the start waits on it for good.
    let connected = false;
    const silent = createServer(() => (connected = true));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const shutdownTimeout = 2_000;
    const started = conclave([
      ...args(), '--store.type', 'postgres', '--store.postgresUrl', `postgres://conclave@127.0.0.1:${(silent.address() as AddressInfo).port}/conclave`,
      '--shutdownTimeout', String(shutdownTimeout),
    ]);
    try {
      await waitFor('the store to connect', () => connected, { timeoutMs: 20_000, intervalMs: 20 });
      const stopping = Date.now();
      started.child.kill('SIGTERM');
      assert.equal(await exited(started.child), 1);
      const took = Date.now() - stopping;
      assert.ok(took >= shutdownTimeout && took < shutdownTimeout + 3_000, `took ${took} ms`);
      assert.match(started.output(), /shutdown did not finish within shutdownTimeout \(2000 ms\); still open: \{.*TCPSocketWrap/);
    } finally {
      started.child.kill('SIGKILL');
      silent.close();
    }
  });

  test('stdout carries JSON lines only: the banner and the new super service go to stderr, without the key when that is no terminal', async () => {
    const fresh = await mkdtemp(join(tmpdir(), 'conclave-command-json-'));
    // Few enough participants for any open-file limit, so that the start warns of nothing either.
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/conclave.ts', '--dataDir', fresh, '--portal.port', '0', '--management.port', '0', '--portal.host', '127.0.0.1', '--management.host', '127.0.0.1', '--portal.maxParticipants', '100'], {
      env: { ...process.env, CONCLAVE_LOG__LEVEL: 'info' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      await waitFor('the start banner', () => stderr.includes('sample room:') || stderr, { timeoutMs: 20_000, intervalMs: 50 });
      const { key } = JSON.parse(await readFile(join(fresh, 'super-service.json'), 'utf8')) as { key: string };
      assert.match(stderr, /Super service created: id \S+, key in \S+super-service\.json/);
      child.kill('SIGTERM');
      assert.equal(await exited(child), 0);
      assert.ok(!stdout.includes(key) && !stderr.includes(key), 'the key is not shown');
      const lines = stdout.split('\n').filter((line) => line !== '');
      assert.ok(lines.length > 5);
      for (const line of lines) {
        const parsed = JSON.parse(line) as { level: number; msg: string };
        assert.ok(parsed.level < 40, `a clean start and stop log no warning: ${line}`);
        assert.ok((line.match(/"component":/g)?.length ?? 0) <= 1, `a key appears once a line: ${line}`);
      }
    } finally {
      child.kill('SIGKILL');
      await rm(fresh, { recursive: true, force: true });
    }
  });

  test('/metrics can move to a listener of its own, or be turned off', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const metricsPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    for (const [flags, where] of [[['--metrics.port', String(metricsPort)], 'own'], [['--metrics.enabled', 'false'], 'off']] as const) {
      const started = conclave([...args(), ...flags]);
      try {
        await waitFor('the start banner', () => started.output().includes('sample room:') || started.output(), { timeoutMs: 20_000, intervalMs: 50 });
        const { management } = portsOf(started.output());
        assert.equal((await fetch(`http://127.0.0.1:${management}/metrics`)).status, 404, where);
        if (where === 'own') {
          const own = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
          assert.equal(own.status, 200);
          assert.match(await own.text(), /^conclave_portal_participants\{/m);
        }
        started.child.kill('SIGTERM');
        assert.equal(await exited(started.child), 0);
      } finally {
        started.child.kill('SIGKILL');
      }
    }
  });

  test('refuses an unknown configuration key, naming it', async () => {
    const started = conclave([...args(), '--portal.prot', '1']);
    assert.equal(await exited(started.child), 1);
    assert.match(started.output(), /unknown configuration key "portal\.prot"; did you mean "portal\.port"\?/);
  });

  test('refuses a value of the wrong type from the environment, naming the key', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/conclave.ts', ...args()], {
      env: { ...process.env, CONCLAVE_PORTAL__RECONNECTION_TIMEOUT: 'soon' },
    });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    assert.equal(await exited(child), 1);
    assert.match(output, /portal\.reconnectionTimeout" \(from CONCLAVE_PORTAL__RECONNECTION_TIMEOUT\) must be integer/);
  });

  test('a cluster component refuses timers that would lose workers on a manager fail-over, before connecting anywhere', async () => {
    const started = conclave(['portal', '--bus.type', 'amqp', '--bus.amqpUrl', 'amqp://127.0.0.1:1', '--cluster.initialTime', '1000']);
    assert.equal(await exited(started.child), 1);
    assert.match(started.output(), /cluster\.rpcTimeout .* must be less than cluster\.initialTime \(1000 ms\)/);
  });
});

/**
 * Connection floods against a server started as an operator would, in a process whose open-file
 * limit is low (prlimit), with every connection from 127.0.0.0/8.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { io } from 'socket.io-client';
import { createMAuthHeader } from '../../src/management/index.js';
import { openSocket, type OpenedSocket } from '../support/connections.js';
import { ask, userAgent } from '../support/raw-socket.js';
import { waitFor } from '../support/wait.js';

/** Long enough to open a flood and count what the server kept before the first of it times out. */
const FIRST_REQUEST_TIMEOUT = 8_000;
const OPEN_FILES = 256;

interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  portal: number;
  management: number;
  sampleRoom: string;
  credentials: { serviceId: string; key: string };
  stop(): Promise<void>;
}

/** `conclave` with its logs at info, under `prlimit --nofile=soft:hard`, listening on 127.0.0.1. */
async function startLimited(dataDir: string, soft: number, hard: number): Promise<ServerProcess> {
  const child = spawn('prlimit', [
    `--nofile=${soft}:${hard}`, '--', process.execPath, '--import', 'tsx', 'src/bin/conclave.ts',
    '--dataDir', dataDir, '--log.level', 'info',
    '--portal.host', '127.0.0.1', '--portal.port', '0', '--management.host', '127.0.0.1', '--management.port', '0',
    '--portal.firstRequestTimeout', String(FIRST_REQUEST_TIMEOUT), '--management.firstRequestTimeout', String(FIRST_REQUEST_TIMEOUT),
  ]);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor('the start banner', () => output.includes('sample room:') || child.exitCode !== null || output, {
    timeoutMs: 30_000,
    intervalMs: 50,
  });
  assert.match(output, /sample room:/);
  const { id, key } = JSON.parse(await readFile(join(dataDir, 'super-service.json'), 'utf8')) as { id: string; key: string };
  return {
    child,
    output: () => output,
    portal: Number(/portal \(Socket\.IO\):\s+(\d+)/.exec(output)![1]),
    management: Number(/management API:\s+(\d+)/.exec(output)![1]),
    sampleRoom: /sample room:\s+(\S+)/.exec(output)![1]!,
    credentials: { serviceId: id, key },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A REST call from `localAddress` on a connection of its own: status and body. */
function restFrom(server: ServerProcess, localAddress: string, method: string, path: string, body?: unknown): Promise<[number, string]> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: '127.0.0.1', port: server.management, path, method, localAddress, agent: false,
        headers: { authorization: createMAuthHeader(server.credentials), 'content-type': 'application/json' },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve([response.statusCode ?? 0, text]));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Gets a token and logs in over WebSocket, both from `localAddress`; the login's answer status. */
async function joinFrom(server: ServerProcess, localAddress: string): Promise<string> {
  const [status, token] = await restFrom(server, localAddress, 'POST', `/v1/rooms/${server.sampleRoom}/tokens`, { user: 'u', role: 'presenter' });
  assert.equal(status, 200, token);
  const socket = io(`http://127.0.0.1:${server.portal}`, { transports: ['websocket'], reconnection: false, forceNew: true, ...({ localAddress } as object) });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    return String((await ask(socket, 'login', { token, userAgent: userAgent(), protocol: '1.2' })).status);
  } finally {
    socket.close();
  }
}

/** Opens `count` silent connections from each address; those the server refuses are closed at once. */
async function flood(port: number, addresses: string[], count: number): Promise<OpenedSocket[]> {
  const sockets = addresses.flatMap((address) => Array.from({ length: count }, () => openSocket(port, address)));
  return Promise.all(sockets);
}

const stillOpen = (sockets: OpenedSocket[]) => sockets.filter((each) => !each.closed).length;

async function settlesAt(what: string, sockets: OpenedSocket[], expected: number): Promise<void> {
  await waitFor(what, () => stillOpen(sockets) === expected || `${stillOpen(sockets)} open`, {
    timeoutMs: 2 * FIRST_REQUEST_TIMEOUT,
    intervalMs: 50,
  });
}

/**
 * Waits until the server has closed what it refused of a flood, then checks that it kept (nearly)
 * all it may: a connection of the previous test that the server has not seen close yet takes a place.
 */
async function keeps(what: string, sockets: OpenedSocket[], limit: number): Promise<void> {
  await waitFor(what, () => stillOpen(sockets) <= limit || `${stillOpen(sockets)} open`, { timeoutMs: FIRST_REQUEST_TIMEOUT / 2, intervalMs: 20 });
  assert.ok(stillOpen(sockets) >= limit - 2, `${what}: ${stillOpen(sockets)} of ${limit} kept`);
}

let dataDir: string;
before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'conclave-exhaustion-'));
});
after(() => rm(dataDir, { recursive: true, force: true }));

describe(`a server limited to ${OPEN_FILES} open files`, () => {
  let server: ServerProcess;
  before(async () => {
    server = await startLimited(join(dataDir, 'low'), OPEN_FILES, OPEN_FILES);
  });
  after(() => server.stop());

  // Derived from the limit: the portal may fill 70% of it, the management API 10%, one address a quarter of either.
  const portalSockets = Math.floor(OPEN_FILES * 0.7);
  const portalPerIp = Math.floor(portalSockets / 4);
  const managementPerIp = Math.floor(Math.floor(OPEN_FILES * 0.1) / 4);

  test('silent connections from one address, more than the process has files, lock nobody else out and are closed in time', async () => {
    const portalFlood = await flood(server.portal, ['127.0.0.1'], 300);
    const managementFlood = await flood(server.management, ['127.0.0.1'], 300);
    await keeps('the portal keeps what one address may hold', portalFlood, portalPerIp);
    await keeps('the management API keeps what one address may hold', managementFlood, managementPerIp);

    assert.equal(await joinFrom(server, '127.0.0.2'), 'ok');
    await settlesAt('every silent connection to be closed', [...portalFlood, ...managementFlood], 0);
    assert.equal(await joinFrom(server, '127.0.0.1'), 'ok');
  });

  test('silent connections from many addresses fill the portal only: the API and the store keep working, and the portal is back in time', async () => {
    const addresses = Array.from({ length: 10 }, (_, index) => `127.0.1.${index + 1}`);
    const portalFlood = await flood(server.portal, addresses, 30);
    await keeps('the portal keeps what it may hold', portalFlood, portalSockets);
    const [status] = await restFrom(server, '127.0.0.3', 'POST', '/v1/rooms', { name: 'made during the flood' });
    assert.equal(status, 200);
    await settlesAt('every silent connection to be closed', portalFlood, 0);
    assert.equal(await joinFrom(server, '127.0.0.3'), 'ok');
  });
});

test("at start the soft open-file limit is raised to the hard one, and the portal's share follows from it", async () => {
  const server = await startLimited(join(dataDir, 'raised'), 256, 4096);
  try {
    const limits = await readFile(`/proc/${server.child.pid}/limits`, 'utf8');
    assert.match(limits, /^Max open files\s+4096\s+4096\s/m);
    const line = server.output().split('\n').find((each) => each.includes('"portal connection limits"'));
    assert.ok(line, server.output());
    assert.deepEqual(
      (({ maxSockets, maxSocketsPerIp, firstRequestTimeout }) => ({ maxSockets, maxSocketsPerIp, firstRequestTimeout }))(JSON.parse(line) as Record<string, unknown>),
      { maxSockets: Math.floor(4096 * 0.7), maxSocketsPerIp: Math.floor(Math.floor(4096 * 0.7) / 4), firstRequestTimeout: FIRST_REQUEST_TIMEOUT },
    );
  } finally {
    await server.stop();
  }
});

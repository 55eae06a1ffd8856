import assert from 'node:assert/strict';
import { fork, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { NODE_COMMANDS, NodeProcessErrors, ProcessLauncher, type LaunchedNode } from '../../src/agent/index.js';

const NODE_COMMAND = NODE_COMMANDS.conference;
import { loadConfig } from '../../src/config/config.js';
import { silentLogger } from '../support/cluster.js';
import { childrenOf, isRunning, type ProcessEntry } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const script = resolve('src/bin/conclave.ts');
const execArgv = ['--import', 'tsx'];
const startup = { timeoutMs: 20_000, intervalMs: 20 };

let dataDir: string;
before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'conclave-launcher-'));
});
after(() => rm(dataDir, { recursive: true, force: true }));

/** The node's own process: a child of this test process running the node subcommand. */
async function processOf(nodeId: string): Promise<ProcessEntry> {
  let found: ProcessEntry | undefined;
  await waitFor(`the process of ${nodeId}`, async () => {
    found = (await childrenOf(process.pid)).find(({ args }) => args.includes(NODE_COMMAND) && args.includes(nodeId));
    return found !== undefined;
  });
  return found!;
}

function exitCounter(node: LaunchedNode): { count: number } {
  const exits = { count: 0 };
  node.onExit(() => (exits.count += 1));
  return exits;
}

describe('the process launcher', () => {
  const launched: LaunchedNode[] = [];
  afterEach(async () => {
    await Promise.all(launched.splice(0).map((node) => node.kill()));
  });

  function launch(nodeId: string): LaunchedNode {
    const config = loadConfig({
      overrides: {
        dataDir,
        log: { level: 'silent' },
        // A node silent for 2 s is hung: a busy machine stalls a healthy one for less than that.
        agent: { nodeCheckPeriod: 200, nodeCheckAliveCount: 10, nodeStopTimeout: 1_000 },
      },
    });
    const node = new ProcessLauncher({ purpose: 'conference', config, logger: silentLogger, script, execArgv }).launch(nodeId, 'agent-under-test');
    launched.push(node);
    return node;
  }

  it('runs a node as a child process that is ready once it serves, and stops it when killed', async () => {
    const node = launch('node-stopped');
    const exits = exitCounter(node);
    await node.ready;
    const { pid, args } = await processOf('node-stopped');
    assert.deepEqual(args.slice(-5), [NODE_COMMAND, '--id', 'node-stopped', '--agent', 'agent-under-test']);
    await node.kill();
    assert.equal(await isRunning(pid), false);
    await waitFor('one exit report', () => exits.count === 1 || `${exits.count} reports`, startup);
  });

  it('reports a node process that dies from outside, once', async () => {
    const node = launch('node-crashed');
    const exits = exitCounter(node);
    await node.ready;
    process.kill((await processOf('node-crashed')).pid, 'SIGKILL');
    await waitFor('the exit report', () => exits.count === 1, startup);
    await node.kill();
    assert.equal(exits.count, 1);
  });

  it('kills a node process that stops answering and reports it', async () => {
    const node = launch('node-hung');
    const exits = exitCounter(node);
    await node.ready;
    const { pid } = await processOf('node-hung');
    process.kill(pid, 'SIGSTOP');
    await waitFor('the hung node to be killed and reported', () => exits.count === 1, startup);
    assert.equal(await isRunning(pid), false);
  });

  it('rejects readiness when the node process exits before serving', async () => {
    const node = launch('node-short-lived');
    const exits = exitCounter(node);
    process.kill((await processOf('node-short-lived')).pid, 'SIGKILL');
    await assert.rejects(node.ready, new RegExp(NodeProcessErrors.exitedBeforeReady));
    await waitFor('the exit report', () => exits.count === 1, startup);
  });
});

describe('the conference-node subcommand', () => {
  /** A node forked as its agent would, on the embedded bus and store; resolves with its exit code. */
  function forkNode(nodeId: string, goneWhen: 'starting' | 'ready'): Promise<number | null> {
    const child = fork(script, [NODE_COMMAND, '--id', nodeId, '--agent', 'agent-under-test'], { execArgv, serialization: 'json', silent: true });
    const exited = new Promise<number | null>((done) => child.once('exit', done));
    const config = loadConfig({ overrides: { dataDir, log: { level: 'silent' } } });
    child.send({ type: 'start', config });
    if (goneWhen === 'starting') child.disconnect();
    else child.on('message', (message: { type?: string }) => message.type === 'ready' && child.disconnect());
    return exited;
  }

  // A graceful stop (SIGTERM from its agent) exits 0 once connections are closed; an agent gone
  // means nobody schedules the node's room any more, and it exits at once.
  it('exits at once, without closing its connections, when its agent is gone', async () => {
    assert.equal(await forkNode('node-orphaned', 'ready'), 1);
  });

  it('exits at once when its agent is gone before it is even ready', async () => {
    assert.equal(await forkNode('node-orphaned-early', 'starting'), 1);
  });

  it('refuses to run unless a conference agent forked it', async () => {
    const child = spawn(process.execPath, [...execArgv, script, NODE_COMMAND, '--id', 'n', '--agent', 'a']);
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    assert.equal(code, 1);
    assert.match(output, new RegExp(NodeProcessErrors.noAgent));
  });
});

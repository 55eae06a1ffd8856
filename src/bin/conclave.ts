#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AgentChannel, NODE_COMMANDS, NodeProcessErrors, nodePurposeOf, type AgentPurpose } from '../agent/index.js';
import { isComponentName, startComponent, startNode, withInfrastructure } from '../components.js';
import { ConfigError, loadConfig, parseArguments, type Config, type ParsedArguments } from '../config/config.js';
import { createLogger, type Logger } from '../logger.js';
import { startMetricsListener } from '../metrics.js';

const usage = `usage: conclave [embedded | portal | cluster-manager | conference-agent | webrtc-agent | management-api]
                [--config file.json] [--section.key value ...]
       conclave --help | -h | --version

embedded (the default) runs every component in this process. The others run one component each
(cluster mode) and need bus.type "amqp"; they share the store (store.type "postgres" across hosts).
Settings: see README "Configuration" and "Cluster mode". Logs go to stdout as JSON lines
(--log.format pretty for people); status lines go to stderr.`;

/** This very script, which an agent forks to run each of its nodes. */
const script = fileURLToPath(import.meta.url);

/** The package's version; this script sits two folders below package.json, from src/ or dist/. */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** Lines for the operator, kept off stdout, which carries the log's JSON lines only. */
function status(text: string): void {
  process.stderr.write(`${text}\n`);
}

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2));
  if (args.request === 'help' || args.command === 'help') {
    process.stdout.write(`${usage}\n`);
    return;
  }
  if (args.request === 'version') {
    process.stdout.write(`conclave ${version()}\n`);
    return;
  }
  const nodePurpose = nodePurposeOf(args.command);
  if (nodePurpose) return runNode(nodePurpose, args);
  const config = loadConfig({ file: args.configFile, env: process.env, overrides: args.overrides });
  const logger = createLogger(config.log.level, 'conclave', undefined, config.log.format);
  const command = args.command ?? 'embedded';
  if (command !== 'embedded' && !isComponentName(command)) throw new ConfigError(`unknown command "${command}"\n${usage}`);
  // Listening for signals before start-up means a Ctrl-C during it still shuts down, within the deadline.
  const stopped = stopOnSignals(logger, config.shutdownTimeout);
  const metricsListener = await startOwnMetricsListener(config, logger);
  const closeMetrics = async () => metricsListener?.close();
  if (command === 'embedded') {
    const { startEmbedded } = await import('../embedded.js');
    const server = await startEmbedded(config, logger).catch(async (error: unknown) => {
      await closeMetrics();
      throw error;
    });
    const management = `http://localhost:${server.management.port}`;
    status(`Conclave is running (embedded mode)
  portal (Socket.IO):  ${server.portal.port}
  management API:      ${server.management.port}
  join page:           ${management}/${config.management.demo ? '' : ' (start with --management.demo true to get tokens from it)'}
  admin page:          ${management}/admin
  data directory:      ${config.dataDir}
  super service:       ${server.bootstrap.superServiceId} (credentials in ${server.bootstrap.credentialsFile})
  sample room:         ${server.bootstrap.sampleRoomId}`);
    stopped.onStop(() => server.close().finally(closeMetrics));
    return;
  }
  const component = await startComponent(command, config, logger, { nodeScript: script, announce: status }).catch(async (error: unknown) => {
    await closeMetrics();
    throw error;
  });
  stopped.onStop(() => component.close().finally(closeMetrics));
}

/** `metrics.port` set: this process serves `/metrics` on a listener of its own. */
async function startOwnMetricsListener(config: Config, logger: Logger): Promise<{ close(): Promise<void> } | undefined> {
  if (!config.metrics.enabled || config.metrics.port === 0) return undefined;
  const listener = await startMetricsListener(config.metrics.host, config.metrics.port);
  logger.info({ host: config.metrics.host, port: listener.port }, 'metrics listening');
  status(`  metrics:             http://${config.metrics.host}:${listener.port}/metrics`);
  return listener;
}

/**
 * `conclave conference-node --id … --agent …` (or `webrtc-node`), forked by an agent: the
 * configuration comes from the agent; the node stops when the agent tells it to, and exits at once
 * when the agent is gone.
 */
async function runNode(purpose: AgentPurpose, args: ParsedArguments): Promise<void> {
  const { id, agent, ...unexpected } = args.overrides;
  if (typeof id !== 'string' || typeof agent !== 'string' || Object.keys(unexpected).length > 0 || args.configFile) {
    throw new ConfigError(`usage: conclave ${NODE_COMMANDS[purpose]} --id <node id> --agent <agent id>`);
  }
  const channel = AgentChannel.connect();
  if (!channel) throw new ConfigError(NodeProcessErrors.noAgent);
  // Nobody schedules what this node serves any more: serving it while connections close only misleads.
  channel.onAgentGone(() => process.exit(1));
  const config = loadConfig({ overrides: (await channel.config) as Record<string, unknown> });
  const logger = createLogger(config.log.level, 'conclave', undefined, config.log.format);
  const node = await withInfrastructure(config, logger, async (infrastructure, closeLater) => {
    closeLater(await startNode(purpose, infrastructure, id, agent));
    return {};
  });
  channel.ready();
  // A terminal's Ctrl-C reaches the whole process group; the agent stops its nodes itself.
  process.on('SIGINT', () => undefined);
  process.once('SIGTERM', stopper(() => node.close()));
}

/** What keeps the process alive, by kind (`TCPServerWrap: 1, Timeout: 3`): said when a shutdown overruns its deadline. */
function openResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/**
 * Runs `onStop(close)` on the first SIGINT/SIGTERM, whether it came before or after start-up.
 * From that signal on, the process exits within `timeoutMs` whatever still runs (a start-up
 * waiting for the network, a close that never ends), saying what was still open; a second signal
 * exits at once.
 */
function stopOnSignals(logger: Logger, timeoutMs: number): { onStop(close: () => Promise<void>): void } {
  let signalled = false;
  let stop: (() => void) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      status(`${signal} received again, exiting now`);
      process.exit(1);
    }
    signalled = true;
    status(`${signal} received, shutting down (at most ${timeoutMs} ms)`);
    logger.info({ signal, shutdownTimeout: timeoutMs }, 'shutting down');
    setTimeout(() => {
      const open = openResources();
      logger.error({ shutdownTimeout: timeoutMs, open }, 'shutdown did not finish in time; exiting with these still open');
      status(`conclave: shutdown did not finish within shutdownTimeout (${timeoutMs} ms); still open: ${JSON.stringify(open)}`);
      process.exit(1);
    }, timeoutMs).unref();
    stop?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    onStop(close) {
      stop = stopper(close);
      if (signalled) stop();
    },
  };
}

/** Closes once, then exits: 0 when everything closed cleanly. */
function stopper(close: () => Promise<void>): () => void {
  let stopping = false;
  return () => {
    if (stopping) return;
    stopping = true;
    close().then(
      () => exitAfterOutput(0),
      (error: unknown) => {
        console.error(error);
        exitAfterOutput(1);
      },
    );
  };
}

/** Exits once the log lines still queued for stdout are written, or after a second if its reader is not taking them. */
function exitAfterOutput(code: number): void {
  if (process.stdout.writableLength === 0) process.exit(code);
  process.stdout.once('drain', () => process.exit(code));
  setTimeout(() => process.exit(code), 1_000);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `conclave: ${error.message}` : error);
  process.exit(1);
});

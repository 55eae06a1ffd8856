#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { isComponentName, startComponent, startNode, withInfrastructure } from '../components.js';
import { AgentChannel, NODE_COMMAND, NodeProcessErrors } from '../conference/index.js';
import { ConfigError, loadConfig, parseArguments, type ParsedArguments } from '../config/config.js';
import { startEmbedded } from '../embedded.js';
import { createLogger } from '../logger.js';

const usage = `usage: conclave [embedded | portal | cluster-manager | conference-agent | management-api]
                [--config file.json] [--section.key value ...]

embedded (the default) runs every component in this process. The others run one component each
(cluster mode) and need bus.type "amqp"; they share the store (store.type "postgres" across hosts).
Settings: see README "Configuration" and "Cluster mode".`;

/** This very script, which a conference agent forks to run each of its nodes. */
const script = fileURLToPath(import.meta.url);

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2));
  if (args.command === 'help' || args.overrides['help'] !== undefined) {
    console.log(usage);
    return;
  }
  if (args.command === NODE_COMMAND) return runNode(args);
  const config = loadConfig({ file: args.configFile, env: process.env, overrides: args.overrides });
  const logger = createLogger(config.log.level);
  const command = args.command ?? 'embedded';
  if (command !== 'embedded' && !isComponentName(command)) throw new ConfigError(`unknown command "${command}"\n${usage}`);
  // Listening for signals before start-up means a Ctrl-C during it still shuts down cleanly.
  const stopped = stopOnSignals();
  if (command === 'embedded') {
    const server = await startEmbedded(config, logger);
    const management = `http://localhost:${server.management.port}`;
    console.log(`Conclave is running (embedded mode)
  portal (Socket.IO):  ${server.portal.port}
  management API:      ${server.management.port}
  join page:           ${management}/${config.management.demo ? '' : ' (start with --management.demo true to get tokens from it)'}
  admin page:          ${management}/admin
  data directory:      ${config.dataDir}
  super service:       ${server.bootstrap.superServiceId} (credentials in ${server.bootstrap.credentialsFile})
  sample room:         ${server.bootstrap.sampleRoomId}`);
    stopped.onStop(() => server.close());
    return;
  }
  const component = await startComponent(command, config, logger, { nodeScript: script, announce: (line) => console.log(line) });
  stopped.onStop(() => component.close());
}

/**
 * `conclave conference-node --id … --agent …`, forked by a conference agent: the configuration comes
 * from the agent, and the node stops when the agent tells it to or is gone.
 */
async function runNode(args: ParsedArguments): Promise<void> {
  const { id, agent, ...unexpected } = args.overrides;
  if (typeof id !== 'string' || typeof agent !== 'string' || Object.keys(unexpected).length > 0 || args.configFile) {
    throw new ConfigError(`usage: conclave ${NODE_COMMAND} --id <node id> --agent <agent id>`);
  }
  const channel = AgentChannel.connect();
  if (!channel) throw new ConfigError(NodeProcessErrors.noAgent);
  const config = loadConfig({ overrides: (await channel.config) as Record<string, unknown> });
  const logger = createLogger(config.log.level);
  const node = await withInfrastructure(config, logger, async (infrastructure, closeLater) => {
    closeLater(await startNode(infrastructure, id, agent));
    return {};
  });
  channel.ready();
  // A terminal's Ctrl-C reaches the whole process group; the agent stops its nodes itself.
  process.on('SIGINT', () => undefined);
  const stop = stopper(() => node.close());
  process.once('SIGTERM', () => stop());
  channel.onAgentGone(() => stop());
}

/** Runs `onStop(close)` on the first SIGINT/SIGTERM, whether it came before or after start-up. */
function stopOnSignals(): { onStop(close: () => Promise<void>): void } {
  let signalled = false;
  let stop: (() => void) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    console.log(`${signal} received, shutting down`);
    signalled = true;
    stop?.();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
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
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `conclave: ${error.message}` : error);
  process.exit(1);
});

#!/usr/bin/env node
import { ConfigError, loadConfig, parseArguments } from '../config/config.js';
import { startEmbedded } from '../embedded.js';
import { createLogger } from '../logger.js';

const usage = `usage: conclave [embedded] [--config file.json] [--section.key value ...]

Starts the embedded all-in-one server (the default). Settings: see README "Configuration".`;

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2));
  if (args.command === 'help' || args.overrides['help'] !== undefined) {
    console.log(usage);
    return;
  }
  const config = loadConfig({ file: args.configFile, env: process.env, overrides: args.overrides });
  const logger = createLogger(config.log.level);
  switch (args.command ?? 'embedded') {
    case 'embedded': {
      const server = await startEmbedded(config, logger);
      console.log(`Conclave is running (embedded mode)
  portal (Socket.IO):  ${server.portal.port}
  management API:      ${server.management.port}
  data directory:      ${config.dataDir}
  super service:       ${server.bootstrap.superServiceId} (credentials in ${server.bootstrap.credentialsFile})
  sample room:         ${server.bootstrap.sampleRoomId}`);
      stopOnSignal(() => server.close());
      return;
    }
    default:
      throw new ConfigError(`unknown command "${args.command}"\n${usage}`);
  }
}

function stopOnSignal(close: () => Promise<void>): void {
  const stop = (signal: NodeJS.Signals) => {
    console.log(`${signal} received, shutting down`);
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `conclave: ${error.message}` : error);
  process.exit(1);
});

/**
 * How each component starts and stops, shared by the embedded composition root and the cluster-mode
 * subcommands of `conclave` (SPEC §1): one wiring per component, whatever process it runs in.
 */
import { createBus, type Bus } from './bus/index.js';
import { checkClusterTimers, LEADERSHIP_LOCK, ManagerSeat, SeatStates } from './cluster/index.js';
import { InProcessLauncher, ProcessLauncher, startAgent, type Agent, type AgentPurpose, type NodeLauncher, type RunningNode } from './agent/index.js';
import { ConfigError, type Config } from './config/config.js';
import type { Logger } from './logger.js';
import type { Bootstrap, BootstrapOutput, ManagementApi } from './management/index.js';
import { createStore, type Store } from './store/index.js';
import { connectFailure } from './net/startup-errors.js';

export interface Infrastructure {
  config: Config;
  logger: Logger;
  store: Store;
  bus: Bus;
}

interface Closable {
  close(): Promise<void>;
}

/** Registers a started component to be closed with the infrastructure, and hands it back. */
export type CloseLater = <T extends Closable>(component: T) => T;

/**
 * Opens the store and the bus that `config` chooses, then runs `start` with them. Components that
 * `start` registers are closed last-first, then the bus, then the store; `close()` may be called more
 * than once. A failed start closes whatever was opened and rethrows.
 */
export async function withInfrastructure<T extends object>(
  config: Config,
  logger: Logger,
  start: (infrastructure: Infrastructure, closeLater: CloseLater) => Promise<T>,
): Promise<T & Closable> {
  const opened: Closable[] = [];
  const closeLater: CloseLater = (component) => {
    opened.push(component);
    return component;
  };
  const closeAll = async () => {
    for (const component of opened.splice(0).reverse()) {
      await component.close().catch((error: unknown) => logger.error({ err: error }, 'shutdown step failed'));
    }
  };
  try {
    const store = closeLater(
      await createStore(config).catch((error: unknown) => {
        throw config.store.type === 'postgres' ? connectFailure('store.postgresUrl', config.store.postgresUrl, error) : error;
      }),
    );
    const bus = closeLater(
      await createBus(config).catch((error: unknown) => {
        throw config.bus.type === 'amqp' ? connectFailure('bus.amqpUrl', config.bus.amqpUrl, error) : error;
      }),
    );
    const started = await start({ config, logger, store, bus }, closeLater);
    let closing: Promise<void> | undefined;
    return Object.assign(started, { close: () => (closing ??= closeAll()) });
  } catch (error) {
    await closeAll();
    throw error;
  }
}

export interface ManagementComponent {
  bootstrap: Bootstrap;
  api: ManagementApi;
}

/** The first management API to start creates the super service and the sample room; the others reuse them. */
export async function startManagement(
  infrastructure: Infrastructure,
  closeLater: CloseLater,
  output?: BootstrapOutput,
): Promise<ManagementComponent> {
  const { bootstrap, startManagementApi } = await import('./management/index.js');
  // Listening first: a port that is taken stops the start before a super service is created and shown.
  let sampleRoomId: string | undefined;
  const api = closeLater(await startManagementApi({ ...infrastructure, sampleRoomId: () => sampleRoomId }));
  const credentials = await bootstrap({ ...infrastructure, ...(output ? { output } : {}) });
  sampleRoomId = credentials.sampleRoomId;
  return { bootstrap: credentials, api };
}

/** A conference agent, or a webrtc agent (SPEC-MEDIA M2), with its nodes started by `launcher`. */
export function startAgentOf(purpose: AgentPurpose, infrastructure: Infrastructure, launcher: NodeLauncher): Promise<Agent> {
  return startAgent({ ...infrastructure, purpose, launcher });
}

/** Nodes inside the agent's process, on its bus and store: the embedded mode. */
export function inProcessNodes(purpose: AgentPurpose, infrastructure: Infrastructure): NodeLauncher {
  return new InProcessLauncher((id, agentId) => startNode(purpose, infrastructure, id, agentId));
}

/** Loads only what the node runs: a node process starts (and an agent replaces a lost node) sooner. */
export async function startNode(purpose: AgentPurpose, infrastructure: Infrastructure, id: string, agentId: string): Promise<RunningNode> {
  switch (purpose) {
    case 'conference': {
      const { startConferenceNode } = await import('./conference/index.js');
      return startConferenceNode({ ...infrastructure, id, agentId });
    }
    case 'webrtc': {
      const { startWebrtcNode } = await import('./webrtc/index.js');
      return startWebrtcNode({ ...infrastructure, id, agentId });
    }
  }
}

export const componentNames = ['portal', 'cluster-manager', 'conference-agent', 'webrtc-agent', 'management-api'] as const;
export type ComponentName = (typeof componentNames)[number];

export function isComponentName(name: string | undefined): name is ComponentName {
  return (componentNames as readonly string[]).includes(name ?? '');
}

export interface ComponentOptions {
  /** The `conclave` entry script, which an agent forks for each of its nodes. */
  nodeScript: string;
  /** Status lines for the operator: where the component listens, and later changes. */
  announce: (line: string) => void;
  output?: BootstrapOutput;
}

/** One component in its own process (cluster mode), on its own store and bus connections. */
export async function startComponent(name: ComponentName, config: Config, logger: Logger, options: ComponentOptions): Promise<Closable> {
  if (config.bus.type !== 'amqp') {
    throw new ConfigError(`"conclave ${name}" runs beside other processes and needs bus.type "amqp"`);
  }
  checkClusterTimers(config);
  const { announce } = options;
  return withInfrastructure(config, logger, async (infrastructure, closeLater) => {
    announce(`Conclave ${name} is running (cluster mode)\n  bus:    RabbitMQ, exchange "${config.bus.exchange}"\n  store:  ${describeStore(config)}`);
    switch (name) {
      case 'portal': {
        const { Portal } = await import('./portal/index.js');
        const portal = closeLater(await Portal.start(infrastructure));
        announce(`  portal (Socket.IO):  ${portal.port}\n  worker:  ${portal.id}`);
        return {};
      }
      case 'management-api': {
        const { api, bootstrap: credentials } = await startManagement(infrastructure, closeLater, options.output);
        announce(`  management API:  ${api.port}\n  super service:   ${credentials.superServiceId}`);
        return {};
      }
      case 'conference-agent':
      case 'webrtc-agent': {
        const purpose = name === 'conference-agent' ? 'conference' : 'webrtc';
        const launcher = new ProcessLauncher({ purpose, config, logger, script: options.nodeScript });
        const agent = closeLater(await startAgentOf(purpose, infrastructure, launcher));
        announce(`  ${purpose} agent:  ${agent.id}`);
        return {};
      }
      case 'cluster-manager': {
        announce(`  cluster manager: standing by until it holds the "${LEADERSHIP_LOCK}" lock`);
        closeLater(new ManagerSeat(infrastructure, (state) => {
          if (state === SeatStates.active) announce(`  cluster manager: active, initializing for ${config.cluster.initialTime} ms`);
          else announce('  cluster manager: lost the lock, standing by');
        }));
        return {};
      }
    }
  });
}

function describeStore(config: Config): string {
  return config.store.type === 'postgres' ? `PostgreSQL, schema "${config.store.postgresSchema}"` : `SQLite in ${config.dataDir}`;
}

/**
 * How each component starts and stops, shared by the embedded composition root and the cluster-mode
 * subcommands of `conclave` (SPEC §1): one wiring per component, whatever process it runs in.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { createBus, messageOf, type Bus } from './bus/index.js';
import { startClusterManager, type ClusterManager } from './cluster/index.js';
import { InProcessLauncher, startConferenceAgent, type ConferenceAgent, type NodeLauncher } from './conference/agent.js';
import { ProcessLauncher, startConferenceNode, type ConferenceNode } from './conference/index.js';
import { ConfigError, type Config } from './config/config.js';
import type { Logger } from './logger.js';
import { bootstrap, startManagementApi, type Bootstrap, type ManagementApi } from './management/index.js';
import { Portal } from './portal/index.js';
import { createStore, type Leadership, type Store } from './store/index.js';

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
    const store = closeLater(await createStore(config));
    const bus = closeLater(await createBus(config));
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
  output?: NodeJS.WritableStream,
): Promise<ManagementComponent> {
  const credentials = await bootstrap({ ...infrastructure, ...(output ? { output } : {}) });
  const api = closeLater(await startManagementApi({ ...infrastructure, sampleRoomId: credentials.sampleRoomId }));
  return { bootstrap: credentials, api };
}

export function startAgent(infrastructure: Infrastructure, launcher: NodeLauncher): Promise<ConferenceAgent> {
  return startConferenceAgent({ ...infrastructure, launcher });
}

/** Nodes inside the agent's process, on its bus and store: the embedded mode. */
export function inProcessNodes(infrastructure: Infrastructure): NodeLauncher {
  return new InProcessLauncher((id, agentId) => startNode(infrastructure, id, agentId));
}

export function startNode(infrastructure: Infrastructure, id: string, agentId: string): Promise<ConferenceNode> {
  return startConferenceNode({ ...infrastructure, id, agentId });
}

export const LEADERSHIP_LOCK = 'cluster-manager';

export const SeatStates = {
  standby: 'standby',
  active: 'active',
  closed: 'closed',
} as const;
export type SeatState = (typeof SeatStates)[keyof typeof SeatStates];

/**
 * SPEC §9.6: a cluster manager runs only while this process holds the leadership lock in the
 * store. Until then it stands by; when the lock is lost it stops the manager at once, so that two
 * never serve together, and stands by again.
 */
export class ManagerSeat {
  private current: SeatState = SeatStates.standby;
  private manager: ClusterManager | undefined;
  private leadership: Leadership | undefined;
  private readonly stopping = new AbortController();
  private readonly stopped = new Promise<void>((resolve) => this.stopping.signal.addEventListener('abort', () => resolve()));
  private readonly logger: Logger;

  constructor(
    private readonly infrastructure: Infrastructure,
    private readonly onChange: (state: SeatState) => void = () => undefined,
  ) {
    this.logger = infrastructure.logger.child({ component: 'manager-seat' });
    void this.run();
  }

  /** Stops the manager and lets the lock go; a contender still waiting is cut off by closing the store. */
  async close(): Promise<void> {
    if (this.current === SeatStates.closed) return;
    this.current = SeatStates.closed;
    this.stopping.abort();
    await this.stepDown();
  }

  private async run(): Promise<void> {
    const { config } = this.infrastructure;
    const stopped = this.stopping.signal;
    // Each turn: wait for the lock, serve as the manager until the lock is lost, stand by again.
    while (!stopped.aborted) {
      let lost!: () => void;
      const lockLost = new Promise<void>((resolve) => (lost = resolve));
      try {
        this.leadership = await this.infrastructure.store.acquireLeadership(LEADERSHIP_LOCK, () => lost());
        if (stopped.aborted) break;
        this.manager = await startClusterManager(this.infrastructure);
      } catch (error) {
        if (stopped.aborted) break;
        this.logger.warn({ error: messageOf(error) }, 'could not take the cluster manager seat, retrying');
        await this.stepDown();
        await delay(config.cluster.leadershipRetryInterval, undefined, { signal: stopped }).catch(() => undefined);
        continue;
      }
      this.setState(SeatStates.active);
      await Promise.race([lockLost, this.stopped]);
      if (stopped.aborted) break;
      this.logger.error('lost the leadership lock, stopping the cluster manager');
      await this.stepDown();
      this.setState(SeatStates.standby);
    }
    await this.stepDown();
  }

  private async stepDown(): Promise<void> {
    const manager = this.manager;
    const leadership = this.leadership;
    this.manager = undefined;
    this.leadership = undefined;
    try {
      await manager?.close();
      await leadership?.release();
    } catch (error) {
      this.logger.error({ error: messageOf(error) }, 'could not step down cleanly');
    }
  }

  private setState(state: SeatState): void {
    if (this.current === SeatStates.closed) return;
    this.current = state;
    this.onChange(state);
  }
}

export const componentNames = ['portal', 'cluster-manager', 'conference-agent', 'management-api'] as const;
export type ComponentName = (typeof componentNames)[number];

export function isComponentName(name: string | undefined): name is ComponentName {
  return (componentNames as readonly string[]).includes(name ?? '');
}

export interface ComponentOptions {
  /** The `conclave` entry script, which the agent forks for each conference node. */
  nodeScript: string;
  /** Status lines for the operator: where the component listens, and later changes. */
  announce: (line: string) => void;
  output?: NodeJS.WritableStream;
}

/** One component in its own process (cluster mode), on its own store and bus connections. */
export async function startComponent(name: ComponentName, config: Config, logger: Logger, options: ComponentOptions): Promise<Closable> {
  if (config.bus.type !== 'amqp') {
    throw new ConfigError(`"conclave ${name}" runs beside other processes and needs bus.type "amqp"`);
  }
  const { announce } = options;
  return withInfrastructure(config, logger, async (infrastructure, closeLater) => {
    announce(`Conclave ${name} is running (cluster mode)\n  bus:    RabbitMQ, exchange "${config.bus.exchange}"\n  store:  ${describeStore(config)}`);
    switch (name) {
      case 'portal': {
        const portal = closeLater(await Portal.start(infrastructure));
        announce(`  portal (Socket.IO):  ${portal.port}\n  worker:  ${portal.id}`);
        return {};
      }
      case 'management-api': {
        const { api, bootstrap: credentials } = await startManagement(infrastructure, closeLater, options.output);
        announce(`  management API:  ${api.port}\n  super service:   ${credentials.superServiceId}`);
        return {};
      }
      case 'conference-agent': {
        const launcher = new ProcessLauncher({ config, logger, script: options.nodeScript });
        const agent = closeLater(await startAgent(infrastructure, launcher));
        announce(`  conference agent:  ${agent.id}`);
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

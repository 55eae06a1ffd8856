/** Cluster pieces under test: shrunk timers, a real in-process bus, and recorders for cluster events. */
import assert from 'node:assert/strict';
import { rpcClient, type Bus, type RpcClient } from '../../src/bus/index.js';
import {
  CLUSTER_EVENTS,
  MANAGER_ADDRESS,
  startClusterManager,
  type ClusterEvent,
  type ClusterManager,
  type ManagerRpc,
  type ManagerState,
  type Purpose,
  type WorkerInfo,
} from '../../src/cluster/index.js';
import type { NodeFactory } from '../../src/agent/index.js';
import { loadConfig, type Config, type ConfigOverrides } from '../../src/config/config.js';
import { createLogger } from '../../src/logger.js';
import { waitFor } from './wait.js';

export const silentLogger = createLogger('silent');

/** Every cluster timer shrunk so a test sees joins, losses and removals within a second. */
export function clusterConfig(overrides: ConfigOverrides = {}): Config {
  return loadConfig({
    overrides: {
      ...overrides,
      cluster: {
        keepAlivePeriod: 20,
        checkPeriod: 20,
        checkAliveCount: 5,
        initialTime: 0,
        joinRetries: 5,
        joinRetryInterval: 20,
        rpcTimeout: 200,
        loadReportPeriod: 20,
        conferenceReserve: 1_000,
        ...overrides.cluster,
      },
      agent: { nodeReadyTimeout: 300, ...overrides.agent },
    },
  });
}

export function workerInfo(overrides: Partial<WorkerInfo> = {}): WorkerInfo {
  return {
    ip: '127.0.0.1',
    hostname: 'localhost',
    port: 8080,
    via_host: '',
    ssl: false,
    state: 2,
    maxLoad: 0.85,
    capacity: { isps: [], regions: [] },
    ...overrides,
  };
}

export function managerClient(bus: Bus): RpcClient<ManagerRpc> {
  return rpcClient<ManagerRpc>(bus, MANAGER_ADDRESS, 1_000);
}

/** Joins a worker by hand, serving its bus address as portals and agents do: the manager hands out only workers it can reach. */
export async function joinServing(bus: Bus, purpose: Purpose, id: string, info: WorkerInfo = workerInfo()): Promise<ManagerState> {
  await bus.serve(id, {});
  return managerClient(bus).call('join', [purpose, id, info]);
}

export function startManager(bus: Bus, config: Config, initialTimeMs?: number): Promise<ClusterManager> {
  return startClusterManager({ config, bus, logger: silentLogger, ...(initialTimeMs === undefined ? {} : { initialTimeMs }) });
}

export function untilInService(manager: ClusterManager): Promise<void> {
  return waitFor('the manager to be in service', () => manager.state === 'in-service' || manager.state);
}

/** Collects what is published on CLUSTER_EVENTS. */
export async function recordClusterEvents(bus: Bus): Promise<ClusterEvent[]> {
  const events: ClusterEvent[] = [];
  await bus.subscribe(CLUSTER_EVENTS, (event) => events.push(event as ClusterEvent));
  return events;
}

/** Waits until the manager lists the worker with exactly these permanent tasks. */
export function waitForTasks(manager: ClusterManager, workerId: string, tasks: string[]): Promise<void> {
  return waitFor(`${workerId} to hold ${JSON.stringify(tasks)}`, () => {
    const worker = manager.getWorkers().find(({ id }) => id === workerId);
    if (!worker) return `${workerId} unknown to the manager`;
    return JSON.stringify([...worker.tasks].sort()) === JSON.stringify([...tasks].sort()) || `holds ${JSON.stringify(worker.tasks)}`;
  });
}

/**
 * Stand-in conference nodes for agent tests: each serves a trivial `whoami` at its bus address
 * (the real node is tested on its own), can be held before it is ready, and can be crashed.
 */
export class TrivialNodes {
  readonly started: string[] = [];
  readonly closed: string[] = [];
  private readonly crashes = new Map<string, () => Promise<void>>();
  private hold: Promise<void> | undefined;
  private releaseHold: (() => void) | undefined;

  constructor(private readonly bus: Bus) {}

  readonly factory: NodeFactory = async (nodeId, agentId) => {
    await this.hold;
    const served = await this.bus.serve(nodeId, { whoami: () => ({ nodeId, agentId }) });
    let exit!: () => void;
    const exited = new Promise<void>((resolve) => (exit = resolve));
    this.crashes.set(nodeId, async () => {
      await served.close();
      exit();
    });
    this.started.push(nodeId);
    return {
      close: async () => {
        this.closed.push(nodeId);
        await served.close();
      },
      exited,
    };
  };

  /** Nodes launched from now on start only after `release()`. */
  holdStarts(): void {
    this.hold = new Promise((resolve) => (this.releaseHold = resolve));
  }

  release(): void {
    this.releaseHold?.();
    this.hold = undefined;
  }

  async crash(nodeId: string): Promise<void> {
    const crash = this.crashes.get(nodeId);
    assert.ok(crash, `${nodeId} never started`);
    await crash();
  }
}

/** Cluster pieces under test: shrunk timers, a real in-process bus, and recorders for cluster events. */
import { rpcClient, type Bus, type RpcClient } from '../../src/bus/index.js';
import {
  CLUSTER_EVENTS,
  MANAGER_ADDRESS,
  startClusterManager,
  type ClusterEvent,
  type ClusterManager,
  type ManagerRpc,
  type WorkerInfo,
} from '../../src/cluster/index.js';
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

export function startManager(bus: Bus, config: Config, initialTimeMs?: number): Promise<ClusterManager> {
  return startClusterManager({ config, bus, logger: silentLogger, ...(initialTimeMs === undefined ? {} : { initialTimeMs }) });
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

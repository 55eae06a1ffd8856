import type { Bus, Served } from '../bus/index.js';
import { serveRpc } from '../bus/index.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import {
  CLUSTER_EVENTS,
  ClusterErrors,
  MANAGER_ADDRESS,
  type ClusterEvent,
  type ManagerRpc,
  type ManagerState,
  type Purpose,
  type WorkerInfo,
  type WorkerSnapshot,
} from './api.js';
import { matcherFor } from './matcher.js';
import { Scheduler } from './scheduler.js';
import { createStrategy } from './strategies/index.js';

export const ManagerStates = {
  initializing: 'initializing',
  inService: 'in-service',
} as const satisfies Record<string, ManagerState>;

const purposes: readonly Purpose[] = ['portal', 'conference'];

export interface ClusterManagerDeps {
  config: Config;
  bus: Bus;
  logger: Logger;
  /** Overrides `config.cluster.initialTime`, e.g. for a standby taking over. */
  initialTimeMs?: number;
}

interface Liveness {
  purpose: Purpose;
  missedChecks: number;
}

/** SPEC §9.2: the registry of every worker, their liveness, and one scheduler per purpose. */
export class ClusterManager {
  private currentState: ManagerState = ManagerStates.initializing;
  private readonly liveness = new Map<string, Liveness>();
  private readonly schedulers: ReadonlyMap<Purpose, Scheduler>;
  private readonly logger: Logger;
  private initialTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private served: Served | undefined;
  private closed = false;

  private constructor(private readonly deps: ClusterManagerDeps) {
    const { config } = deps;
    this.logger = deps.logger.child({ component: 'cluster-manager' });
    const reserves: Record<Purpose, number> = {
      portal: config.tokens.lifetime,
      conference: config.cluster.conferenceReserve,
    };
    this.schedulers = new Map(purposes.map((purpose) => [purpose, new Scheduler({
      purpose,
      strategy: createStrategy(config.cluster.strategies[purpose]),
      matcher: matcherFor(purpose),
      defaultReserveMs: reserves[purpose],
    })]));
  }

  static async start(deps: ClusterManagerDeps): Promise<ClusterManager> {
    const manager = new ClusterManager(deps);
    try {
      await manager.listen();
    } catch (error) {
      await manager.close();
      throw error;
    }
    return manager;
  }

  get state(): ManagerState {
    return this.currentState;
  }

  getWorkers(purpose?: Purpose): WorkerSnapshot[] {
    const selected = purpose === undefined ? purposes : purposes.filter((each) => each === purpose);
    return selected.flatMap((each) => this.schedulers.get(each)!.snapshot());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.initialTimer);
    clearInterval(this.checkTimer);
    for (const scheduler of this.schedulers.values()) scheduler.close();
    await this.served?.close();
  }

  private async listen(): Promise<void> {
    const { config, bus } = this.deps;
    this.beginInitialTime();
    this.served = await serveRpc<ManagerRpc>(bus, MANAGER_ADDRESS, {
      join: (purpose, id, info) => this.join(purpose, id, info),
      keepAlive: (id) => this.keepAlive(id),
      reportLoad: (id, load) => this.schedulerOf(id)?.updateLoad(id, load),
      pickUpTasks: (id, tasks) => {
        if (Array.isArray(tasks)) this.schedulerOf(id)?.pickUpTasks(id, tasks.filter(isText));
      },
      layDownTask: (id, task) => {
        if (isText(task)) this.schedulerOf(id)?.layDownTask(id, task);
      },
      quit: (id) => this.remove(id, 'it quit'),
      schedule: (purpose, task, preference, reserveTimeMs) => {
        if (this.currentState !== ManagerStates.inService) throw new Error(ClusterErrors.notReady);
        if (!isText(task)) throw new Error(ClusterErrors.invalidTask);
        return this.scheduler(purpose).schedule(task, preference ?? {}, reserveTimeMs);
      },
      getScheduled: (purpose, task) => this.scheduler(purpose).getScheduled(task),
      getWorkers: (purpose) => this.getWorkers(purpose ?? undefined),
    });
    this.checkTimer = setInterval(() => this.checkAlive(), config.cluster.checkPeriod);
  }

  /** Without an initial time (nothing to rebuild) the manager serves from its first answer. */
  private beginInitialTime(): void {
    const initialTime = this.deps.initialTimeMs ?? this.deps.config.cluster.initialTime;
    if (initialTime <= 0) return this.enterService();
    this.logger.info({ initialTime }, 'cluster manager initializing');
    this.initialTimer = setTimeout(() => this.enterService(), initialTime);
  }

  private enterService(): void {
    this.currentState = ManagerStates.inService;
    this.logger.info('cluster manager in service');
  }

  private join(purpose: Purpose, id: string, info: WorkerInfo): ManagerState {
    const scheduler = this.scheduler(purpose);
    if (!isText(id) || !isWorkerInfo(info)) throw new Error(ClusterErrors.invalidWorker);
    const known = this.liveness.get(id);
    // In service, a join from a worker we still know starts a new life: its old tasks are gone.
    // While initializing, workers are re-joining to rebuild the picture and keep what they re-send.
    if (known && (known.purpose !== purpose || this.currentState === ManagerStates.inService)) {
      this.remove(id, 'it joined again');
    }
    scheduler.addWorker(id, info);
    this.liveness.set(id, { purpose, missedChecks: 0 });
    this.logger.info({ purpose, id }, 'worker joined');
    return this.currentState;
  }

  private keepAlive(id: string): 'ok' | 'whoareyou' {
    const liveness = this.liveness.get(id);
    if (!liveness) return 'whoareyou';
    liveness.missedChecks = 0;
    return 'ok';
  }

  private checkAlive(): void {
    for (const [id, liveness] of this.liveness) {
      liveness.missedChecks += 1;
      if (liveness.missedChecks > this.deps.config.cluster.checkAliveCount) this.remove(id, 'it stopped keeping alive');
    }
  }

  private remove(id: string, reason: string): void {
    const liveness = this.liveness.get(id);
    if (!liveness) return;
    this.liveness.delete(id);
    this.schedulers.get(liveness.purpose)!.removeWorker(id);
    this.logger.warn({ purpose: liveness.purpose, id, reason }, 'worker removed');
    const event: ClusterEvent = { type: 'worker-quit', purpose: liveness.purpose, id };
    this.deps.bus.publish(CLUSTER_EVENTS, event);
  }

  private scheduler(purpose: Purpose): Scheduler {
    const scheduler = purposes.includes(purpose) ? this.schedulers.get(purpose) : undefined;
    if (!scheduler) throw new Error(ClusterErrors.unknownPurpose);
    return scheduler;
  }

  private schedulerOf(id: string): Scheduler | undefined {
    const liveness = this.liveness.get(id);
    return liveness && this.schedulers.get(liveness.purpose);
  }
}

export function startClusterManager(deps: ClusterManagerDeps): Promise<ClusterManager> {
  return ClusterManager.start(deps);
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isWorkerInfo(value: unknown): value is WorkerInfo {
  if (typeof value !== 'object' || value === null) return false;
  const info = value as Partial<WorkerInfo>;
  return typeof info.maxLoad === 'number'
    && typeof info.capacity === 'object' && info.capacity !== null
    && Array.isArray(info.capacity.isps) && Array.isArray(info.capacity.regions);
}

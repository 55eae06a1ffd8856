import { metrics } from '../metrics.js';
import type { Bus, Served } from '../bus/index.js';
import { serveRpc } from '../bus/index.js';
import type { Config } from '../config/config.js';
import { type Logger, componentLogger } from '../logger.js';
import {
  CLUSTER_EVENTS,
  MANAGER_ADDRESS,
  ManagerStates,
  type ClusterEvent,
  type ManagerRpc,
  type ManagerState,
  type Preference,
  type Purpose,
  type ScheduledWorker,
  type WorkerInfo,
  type WorkerSnapshot,
} from './api.js';
import { clusterError } from './errors.js';
import { matcherFor } from './matcher.js';
import { Scheduler } from './scheduler.js';

const WORKER_QUIT = 'it quit';
import { createStrategy } from './strategies/index.js';

const purposes: readonly Purpose[] = ['portal', 'conference', 'webrtc'];

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
  /** When the bus first showed its address gone (its broker connection closed); any sign of life clears it. */
  goneSince?: number;
}

/** Missed checks after which a worker's keep-alive is late and the bus is asked whether it is still there. */
const LATE = 2;

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
  /** One question to the bus in flight per worker. */
  private readonly probes = new Map<string, Promise<boolean>>();
  /** The manager's own bus was down at the last check: keep-alives could not reach it. */
  private wasDisconnected = false;
  /** Workers, and their tasks (a conference worker's are its rooms), by purpose, read when `/metrics` is asked. */
  private readonly unregisterGauges = metrics.gauge(
    'conclave_cluster_workers',
    'Workers the cluster manager knows, and the tasks they run (rooms, for conference and webrtc workers; tokens and participants, for portals), by purpose.',
    () =>
      [...this.schedulers].flatMap(([purpose, scheduler]) => {
        const workers = scheduler.snapshot();
        const component = 'cluster-manager';
        return [
          [{ component, purpose, count: 'workers' }, workers.length],
          [{ component, purpose, count: 'tasks' }, workers.reduce((sum, worker) => sum + worker.tasks.length, 0)],
        ] as const;
      }),
  );

  private constructor(private readonly deps: ClusterManagerDeps) {
    const { config } = deps;
    this.logger = componentLogger(deps.logger, 'cluster-manager');
    const reserves: Record<Purpose, number> = {
      portal: config.tokens.lifetime,
      conference: config.cluster.conferenceReserve,
      // A room's media is scheduled when the room's first transport opens, and held like the room.
      webrtc: config.cluster.conferenceReserve,
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
    this.unregisterGauges();
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
      quit: (id) => this.remove(id, WORKER_QUIT),
      schedule: (purpose, task, preference, reserveTimeMs) => this.schedule(purpose, task, preference ?? {}, reserveTimeMs),
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
    if (!isText(id) || !isWorkerInfo(info)) throw clusterError('invalidWorker');
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

  /**
   * Never hands out a worker whose bus address is gone (it died, or lost its broker connection): a
   * new or only reserved task goes to another one. A task such a worker picked up stays with it until
   * it is back or removed, so that no room ever runs on two nodes; meanwhile callers ask again.
   */
  private async schedule(purpose: Purpose, task: string, preference: Preference, reserveTimeMs: number): Promise<ScheduledWorker> {
    if (this.currentState !== ManagerStates.inService) throw clusterError('notReady');
    if (!isText(task)) throw clusterError('invalidTask');
    const scheduler = this.scheduler(purpose);
    const unreachable = new Set<string>();
    for (;;) {
      const chosen = scheduler.schedule(task, preference, reserveTimeMs, unreachable);
      if (await this.reachable(chosen.id)) return chosen;
      if (!scheduler.cancel(task, chosen.id)) throw clusterError('taskWorkerUnreachable');
      unreachable.add(chosen.id);
    }
  }

  private keepAlive(id: string): 'ok' | 'whoareyou' {
    const liveness = this.liveness.get(id);
    if (!liveness) return 'whoareyou';
    liveness.missedChecks = 0;
    delete liveness.goneSince;
    return 'ok';
  }

  /**
   * A worker is removed when it misses `checkAliveCount` checks, or sooner when its keep-alive is
   * late and its bus address has been gone for longer than reconnecting to the broker takes. While
   * the manager's own bus is down nothing counts: keep-alives cannot reach it, and afterwards every
   * worker has a whole liveness window to reach it again.
   */
  private checkAlive(): void {
    const { bus, config } = this.deps;
    if (!bus.connected) {
      this.wasDisconnected = true;
      return;
    }
    if (this.wasDisconnected) {
      this.wasDisconnected = false;
      for (const liveness of this.liveness.values()) {
        liveness.missedChecks = 0;
        delete liveness.goneSince;
      }
      return;
    }
    const now = Date.now();
    const reconnection = config.bus.maxReconnectDelay + config.cluster.rpcTimeout;
    for (const [id, liveness] of this.liveness) {
      liveness.missedChecks += 1;
      if (liveness.missedChecks > config.cluster.checkAliveCount) {
        this.remove(id, 'it stopped keeping alive');
      } else if (liveness.missedChecks >= LATE) {
        if (liveness.goneSince !== undefined && now - liveness.goneSince > reconnection) this.remove(id, 'its bus address is gone');
        else void this.reachable(id);
      }
    }
  }

  /** Whether the worker still serves its bus address; a bus that cannot tell counts as yes. */
  private reachable(id: string): Promise<boolean> {
    let probe = this.probes.get(id);
    if (!probe) {
      probe = this.deps.bus.isServed(id).then(
        (served) => {
          const liveness = this.liveness.get(id);
          if (liveness && served) delete liveness.goneSince;
          else if (liveness) liveness.goneSince ??= Date.now();
          return served;
        },
        () => true,
      );
      this.probes.set(id, probe);
      void probe.finally(() => this.probes.delete(id));
    }
    return probe;
  }

  private remove(id: string, reason: string): void {
    const liveness = this.liveness.get(id);
    if (!liveness) return;
    this.liveness.delete(id);
    this.schedulers.get(liveness.purpose)!.removeWorker(id);
    // A worker that quits is stopping cleanly; any other removal means it was lost.
    if (reason === WORKER_QUIT) this.logger.info({ purpose: liveness.purpose, id, reason }, 'worker removed');
    else this.logger.warn({ purpose: liveness.purpose, id, reason }, 'worker removed');
    const event: ClusterEvent = { type: 'worker-quit', purpose: liveness.purpose, id };
    this.deps.bus.publish(CLUSTER_EVENTS, event);
  }

  private scheduler(purpose: Purpose): Scheduler {
    const scheduler = purposes.includes(purpose) ? this.schedulers.get(purpose) : undefined;
    if (!scheduler) throw clusterError('unknownPurpose');
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

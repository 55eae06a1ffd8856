import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { messageOf, rpcClient, type Bus, type RpcClient } from '../bus/index.js';
import { isClusterMode, type Config } from '../config/config.js';
import { type Logger, componentLogger } from '../logger.js';
import { MANAGER_ADDRESS, ManagerStates, WORKER_STATE_AVAILABLE, type ManagerRpc, type ManagerState, type Purpose, type WorkerInfo } from './api.js';
import { cpuLoadMeter, idleLoadMeter, type LoadMeter } from './load.js';
import { workerError } from './errors.js';

/**
 * `auto` measures CPU only in cluster mode: embedded, each purpose has a single worker, and
 * refusing every login because the host is busy would help nobody.
 */
function loadMeterFor(config: Config): LoadMeter {
  const { loadMeter } = config.cluster;
  const measure = loadMeter === 'cpu' || (loadMeter === 'auto' && isClusterMode(config));
  return measure ? cpuLoadMeter() : idleLoadMeter;
}

/** SPEC §9.1: this many failed keep-alives in a row mean the manager lost us. */
export const MAX_FAILED_KEEP_ALIVES = 4;

export const WorkerStates = {
  created: 'created',
  joining: 'joining',
  inService: 'in-service',
  recovering: 'recovering',
  quit: 'quit',
} as const;
export type WorkerState = (typeof WorkerStates)[keyof typeof WorkerStates];

export interface ClusterWorkerOptions {
  config: Config;
  bus: Bus;
  logger: Logger;
  purpose: Purpose;
  /** How the owner is reached and what it serves; `state` and `maxLoad` are filled in. */
  info?: Partial<Omit<WorkerInfo, 'state' | 'maxLoad'>>;
  /** Called when the manager forgot us while in service: every task we held is gone. */
  onLoss?: () => void;
  loadMeter?: LoadMeter;
}

/**
 * A component's membership of the cluster (SPEC §9.1): joins the manager, keeps alive, reports
 * load and tells the manager which tasks it runs. Its owner serves its own RPC at `id`.
 */
export class ClusterWorker {
  readonly id: string;
  readonly info: WorkerInfo;
  private readonly taskSet = new Set<string>();
  private readonly manager: RpcClient<ManagerRpc>;
  private readonly logger: Logger;
  private readonly loadMeter: LoadMeter;
  private readonly stopping = new AbortController();
  private currentState: WorkerState = WorkerStates.created;
  private failedKeepAlives = 0;
  private reportedLoad: number | undefined;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private loadTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ClusterWorkerOptions) {
    const { config, purpose } = options;
    const host = hostname();
    this.id = `${purpose}-${randomBytes(8).toString('hex')}@${host}`;
    this.info = {
      ip: '',
      hostname: host,
      port: 0,
      via_host: '',
      ssl: false,
      capacity: { isps: [], regions: [] },
      ...options.info,
      state: WORKER_STATE_AVAILABLE,
      maxLoad: config.cluster.maxLoad,
    };
    this.manager = rpcClient<ManagerRpc>(options.bus, MANAGER_ADDRESS, config.cluster.rpcTimeout);
    this.logger = componentLogger(options.logger, 'cluster-worker', { purpose, worker: this.id });
    this.loadMeter = options.loadMeter ?? loadMeterFor(config);
  }

  get state(): WorkerState {
    return this.currentState;
  }

  get tasks(): ReadonlySet<string> {
    return this.taskSet;
  }

  /** Joins the manager, retrying `joinRetries` times; rejects with the last failure. */
  async start(): Promise<void> {
    if (this.currentState !== WorkerStates.created) throw workerError('alreadyStarted');
    this.currentState = WorkerStates.joining;
    await this.join(this.options.config.cluster.joinRetries);
    if (this.stopping.signal.aborted) throw workerError('quitBeforeJoining');
    this.currentState = WorkerStates.inService;
    this.pickUp([...this.taskSet]);
    this.scheduleKeepAlive();
    this.loadTimer = setInterval(() => this.reportLoad(), this.options.config.cluster.loadReportPeriod);
  }

  addTask(task: string): void {
    if (this.taskSet.has(task)) return;
    this.taskSet.add(task);
    this.pickUp([task]);
  }

  removeTask(task: string): void {
    if (!this.taskSet.delete(task)) return;
    if (this.currentState !== WorkerStates.inService) return;
    this.manager.call('layDownTask', [this.id, task]).catch((error: unknown) => {
      this.logger.warn({ error: messageOf(error) }, 'could not lay down a task');
    });
  }

  async quit(): Promise<void> {
    if (this.currentState === WorkerStates.quit) return;
    const started = this.currentState !== WorkerStates.created;
    this.currentState = WorkerStates.quit;
    this.stopping.abort();
    clearTimeout(this.keepAliveTimer);
    clearInterval(this.loadTimer);
    if (!started) return;
    await this.manager.call('quit', [this.id]).catch((error: unknown) => {
      this.logger.warn({ error: messageOf(error) }, 'could not tell the cluster manager we quit');
    });
  }

  /** Tries `attempts` times, `joinRetryInterval` apart, until the manager takes us in. */
  private async join(attempts: number): Promise<ManagerState> {
    const { config } = this.options;
    for (let attempt = 1; ; attempt++) {
      if (this.stopping.signal.aborted) throw workerError('quitBeforeJoining');
      try {
        const managerState = await this.manager.call('join', [this.options.purpose, this.id, this.info]);
        this.reportedLoad = undefined;
        this.logger.info({ managerState }, 'joined the cluster manager');
        return managerState;
      } catch (error) {
        if (attempt >= attempts) throw error;
        this.logger.debug({ attempt, error: messageOf(error) }, 'join failed, retrying');
      }
      await delay(config.cluster.joinRetryInterval, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
  }

  private scheduleKeepAlive(): void {
    this.keepAliveTimer = setTimeout(() => void this.keepAlive(), this.options.config.cluster.keepAlivePeriod);
  }

  private async keepAlive(): Promise<void> {
    let answer: 'ok' | 'whoareyou' | undefined;
    try {
      answer = await this.manager.call('keepAlive', [this.id]);
      this.failedKeepAlives = 0;
    } catch (error) {
      this.failedKeepAlives += 1;
      this.logger.debug({ failures: this.failedKeepAlives, error: messageOf(error) }, 'keep-alive failed');
    }
    if (this.currentState !== WorkerStates.inService) return;
    if (answer === 'whoareyou') await this.rejoin();
    else if (this.failedKeepAlives >= MAX_FAILED_KEEP_ALIVES) await this.recover();
    if (this.currentState === WorkerStates.inService) this.scheduleKeepAlive();
  }

  /**
   * Keep-alives keep failing: the manager, or the broker between us, is gone for now. Keep asking;
   * a manager that still knows us (a broker outage, which it sat out too) has lost nothing, and gets
   * our tasks again in case some changed meanwhile. One that does not know us any more is re-joined.
   */
  private async recover(): Promise<void> {
    this.currentState = WorkerStates.recovering;
    this.failedKeepAlives = 0;
    this.logger.warn('keep-alives failing, waiting for the cluster manager');
    for (;;) {
      if (this.stopping.signal.aborted) return;
      try {
        const answer = await this.manager.call('keepAlive', [this.id]);
        if (answer === 'whoareyou') break;
        this.currentState = WorkerStates.inService;
        this.logger.info('the cluster manager still knows us');
        this.pickUp([...this.taskSet]);
        return;
      } catch (error) {
        this.logger.debug({ error: messageOf(error) }, 'keep-alive failed');
      }
      await delay(this.options.config.cluster.joinRetryInterval, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
    await this.rejoin();
  }

  /**
   * The manager forgot us. Re-join for as long as it takes (a standby may be taking over): a manager
   * still initializing is rebuilding its picture from our tasks; one already in service has given
   * our tasks away, which is a loss.
   */
  private async rejoin(): Promise<void> {
    this.currentState = WorkerStates.recovering;
    this.failedKeepAlives = 0;
    this.logger.warn('the cluster manager does not know us, joining again');
    let managerState: ManagerState;
    try {
      managerState = await this.join(Infinity);
    } catch {
      return;
    }
    if (this.stopping.signal.aborted) return;
    this.currentState = WorkerStates.inService;
    if (managerState === ManagerStates.initializing) {
      this.pickUp([...this.taskSet]);
      return;
    }
    this.logger.warn({ tasks: this.taskSet.size }, 'the cluster manager dropped our tasks');
    this.taskSet.clear();
    try {
      this.options.onLoss?.();
    } catch (error) {
      this.logger.error({ error: messageOf(error) }, 'loss handler failed');
    }
  }

  private pickUp(tasks: string[]): void {
    if (tasks.length === 0 || this.currentState !== WorkerStates.inService) return;
    this.manager.call('pickUpTasks', [this.id, tasks]).catch((error: unknown) => {
      this.logger.warn({ tasks: tasks.length, error: messageOf(error) }, 'could not pick up tasks');
    });
  }

  private reportLoad(): void {
    const load = Math.round(this.loadMeter.sample() * 100) / 100;
    if (load === this.reportedLoad || this.currentState !== WorkerStates.inService) return;
    this.reportedLoad = load;
    this.manager.cast('reportLoad', [this.id, load]);
  }
}

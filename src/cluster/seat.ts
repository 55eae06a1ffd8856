import { setTimeout as delay } from 'node:timers/promises';
import { type Logger, componentLogger } from '../logger.js';
import { messageOf } from '../protocol/errors.js';
import type { Leadership, Store } from '../store/index.js';
import { startClusterManager, type ClusterManager, type ClusterManagerDeps } from './manager.js';

export interface ManagerSeatDeps extends ClusterManagerDeps {
  /** Holds the leadership lock. */
  store: Store;
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
    private readonly deps: ManagerSeatDeps,
    private readonly onChange: (state: SeatState) => void = () => undefined,
  ) {
    this.logger = componentLogger(deps.logger, 'manager-seat');
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
    const { config } = this.deps;
    const stopped = this.stopping.signal;
    // Each turn: wait for the lock, serve as the manager until the lock is lost, stand by again.
    while (!stopped.aborted) {
      let lost!: () => void;
      const lockLost = new Promise<void>((resolve) => (lost = resolve));
      try {
        this.leadership = await this.deps.store.acquireLeadership(LEADERSHIP_LOCK, () => lost());
        if (stopped.aborted) break;
        this.manager = await startClusterManager(this.deps);
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

import { setTimeout as delay } from 'node:timers/promises';
import type { RpcClient } from '../bus/index.js';
import { isClusterMode, type Config } from '../config/config.js';
import { codeOf, type ErrorCode } from '../protocol/errors.js';
import type { ManagerRpc, ScheduledWorker } from './api.js';

/**
 * The longest a cluster takes to settle after a fault: a new manager initializing after a fail-over,
 * then the removal of a worker that died, and a call. Embedded, nothing fails over: nothing to wait for.
 */
export function settleTime(config: Config): number {
  const { cluster } = config;
  if (!isClusterMode(config)) return 0;
  return cluster.initialTime + cluster.checkPeriod * (cluster.checkAliveCount + 1) + cluster.rpcTimeout;
}

/**
 * Answers that mean "ask again soon": no manager serves (a fail-over is under way) or one lost the
 * call with its queue, the new one still initializes, the worker holding the task died and is not
 * removed yet, or this process's broker connection is down.
 */
const passing: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'bus.unreachable',
  'bus.timeout',
  'bus.disconnected',
  'cluster.notReady',
  'cluster.taskWorkerUnreachable',
]);

/** Schedules through whichever manager serves, waiting out a passing fault until `deadline`. */
export async function scheduleBy(
  manager: RpcClient<ManagerRpc>,
  request: Parameters<ManagerRpc['schedule']>,
  deadline: number,
  retryMs: number,
): Promise<ScheduledWorker> {
  for (;;) {
    try {
      return await manager.call('schedule', request);
    } catch (error) {
      if (!passing.has(codeOf(error)) || Date.now() + retryMs > deadline) throw error;
    }
    await delay(retryMs);
  }
}

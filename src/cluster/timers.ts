import { ConfigError, type Config } from '../config/config.js';
import { MAX_FAILED_KEEP_ALIVES } from './worker.js';

interface Invariant {
  /** What must stay below `limit`, in the configuration's own terms. */
  sum: string;
  value: number;
  limit: string;
  limitValue: number;
  why: string;
}

/** The relations between cluster timers that fail-over and liveness rely on (cluster mode only). */
function invariants({ bus, cluster }: Config): Invariant[] {
  const livenessWindow = cluster.checkPeriod * cluster.checkAliveCount;
  return [
    {
      sum: `cluster.rpcTimeout + ${MAX_FAILED_KEEP_ALIVES} × cluster.keepAlivePeriod + cluster.joinRetryInterval`,
      value: cluster.rpcTimeout + MAX_FAILED_KEEP_ALIVES * cluster.keepAlivePeriod + cluster.joinRetryInterval,
      limit: 'cluster.initialTime',
      limitValue: cluster.initialTime,
      why: 'after a manager fail-over, workers must re-join the new manager while it initializes, or their tasks and participants are lost',
    },
    {
      sum: 'cluster.keepAlivePeriod',
      value: cluster.keepAlivePeriod,
      limit: 'cluster.checkPeriod × cluster.checkAliveCount',
      limitValue: livenessWindow,
      why: 'the manager would remove live workers between two keep-alives',
    },
    {
      sum: 'bus.maxReconnectDelay + cluster.joinRetryInterval',
      value: bus.maxReconnectDelay + cluster.joinRetryInterval,
      limit: 'cluster.checkPeriod × cluster.checkAliveCount',
      limitValue: livenessWindow,
      why: 'after a broker outage, workers must reach the manager again within a liveness window of its return, or they are dropped',
    },
  ];
}

/** Refuses, naming the keys, timers under which a cluster would drop participants on a fail-over or at random. */
export function checkClusterTimers(config: Config): void {
  const broken = invariants(config).filter(({ value, limitValue }) => value >= limitValue);
  if (broken.length === 0) return;
  throw new ConfigError(
    broken
      .map(({ sum, value, limit, limitValue, why }) => `${sum} (${value} ms) must be less than ${limit} (${limitValue} ms): ${why}`)
      .join('; '),
  );
}

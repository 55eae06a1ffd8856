export * from './api.js';
export { ClusterManager, ManagerStates, startClusterManager, type ClusterManagerDeps } from './manager.js';
export {
  ClusterWorker,
  MAX_FAILED_KEEP_ALIVES,
  WorkerErrors,
  WorkerStates,
  type ClusterWorkerOptions,
  type WorkerState,
} from './worker.js';
export { cpuLoadMeter, type LoadMeter } from './load.js';
export { Scheduler, type SchedulerOptions } from './scheduler.js';
export { matchAll, matcherFor, portalMatcher, type MatchCandidate, type Matcher } from './matcher.js';
export { createStrategy, strategyNames, type Candidate, type Strategy, type StrategyName } from './strategies/index.js';

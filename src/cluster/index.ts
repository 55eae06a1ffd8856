export * from './api.js';
export { ClusterError, WorkerErrors } from './errors.js';
export { ClusterManager, startClusterManager, type ClusterManagerDeps } from './manager.js';
export {
  ClusterWorker,
  MAX_FAILED_KEEP_ALIVES,
  WorkerStates,
  type ClusterWorkerOptions,
  type WorkerState,
} from './worker.js';
export { LEADERSHIP_LOCK, ManagerSeat, SeatStates, type ManagerSeatDeps, type SeatState } from './seat.js';
export { cpuLoadMeter, type LoadMeter } from './load.js';
export { Scheduler, type SchedulerOptions } from './scheduler.js';
export { scheduleBy, settleTime } from './settle.js';
export { checkClusterTimers } from './timers.js';
export { matchAll, matcherFor, originMatcher, type MatchCandidate, type Matcher } from './matcher.js';
export { createStrategy, strategyNames, type Candidate, type Strategy, type StrategyName } from './strategies/index.js';

/** The cluster manager's bus surface (SPEC §9), shared by the manager and its callers. */
export const MANAGER_ADDRESS = 'cluster-manager';
/** Fan-out topic for cluster events that portals and agents react to. */
export const CLUSTER_EVENTS = 'cluster-events';

export type Purpose = 'portal' | 'conference';
export type ManagerState = 'initializing' | 'in-service';

/** The worker state in which it takes new tasks (SPEC §9.1, §9.3); a worker reporting none counts too. */
export const WORKER_STATE_AVAILABLE = 2;

export interface WorkerInfo {
  ip: string;
  hostname: string;
  port: number;
  via_host: string;
  ssl: boolean;
  state: number;
  maxLoad: number;
  capacity: { isps: string[]; regions: string[] };
}

export interface Preference {
  isp?: string | undefined;
  region?: string | undefined;
}

export interface ScheduledWorker {
  id: string;
  info: WorkerInfo;
}

export interface WorkerSnapshot {
  id: string;
  purpose: Purpose;
  state: number;
  load: number;
  info: WorkerInfo;
  tasks: string[];
  reservations: string[];
}

export type ClusterEvent =
  | { type: 'worker-quit'; purpose: Purpose; id: string }
  | { type: 'node-lost'; agent: string; node: string };

export type ManagerRpc = {
  join(purpose: Purpose, id: string, info: WorkerInfo): ManagerState;
  /** 'whoareyou' when the manager does not know the worker (it restarted or removed it). */
  keepAlive(id: string): 'ok' | 'whoareyou';
  reportLoad(id: string, load: number): void;
  pickUpTasks(id: string, tasks: string[]): void;
  layDownTask(id: string, task: string): void;
  quit(id: string): void;
  schedule(purpose: Purpose, task: string, preference: Preference, reserveTimeMs: number): ScheduledWorker;
  getScheduled(purpose: Purpose, task: string): string | null;
  getWorkers(purpose?: Purpose): WorkerSnapshot[];
};

export const ClusterErrors = {
  notReady: 'cluster manager is not ready.',
  fullLoad: 'No worker available, all in full load.',
  noMatch: 'No worker matches the preference.',
  unknownPurpose: 'Unknown purpose.',
  invalidWorker: 'Invalid worker info.',
  invalidTask: 'Invalid task.',
} as const;

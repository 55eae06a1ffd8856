/** The cluster manager's bus surface (SPEC §9), shared by the manager and its callers. */
import type { Preference, WorkerPurpose } from '../protocol/rest.js';

export { WORKER_STATE_AVAILABLE, type Preference } from '../protocol/rest.js';
export { ClusterErrors } from '../protocol/errors.js';

export const MANAGER_ADDRESS = 'cluster-manager';
/** Fan-out topic for cluster events that portals and agents react to. */
export const CLUSTER_EVENTS = 'cluster-events';

export type Purpose = WorkerPurpose;

export const ManagerStates = {
  initializing: 'initializing',
  inService: 'in-service',
} as const;
export type ManagerState = (typeof ManagerStates)[keyof typeof ManagerStates];

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

/**
 * Stands in for the cluster manager (SPEC §9) until the composition root is wired: it serves
 * just what the management API asks of the manager on the in-process bus, and records it.
 */
import type { Bus, RpcHandlers, Served } from '../../src/bus/index.js';
import { MANAGER_ADDRESS, type ManagerRpc, type Preference, type ScheduledWorker } from '../../src/cluster/api.js';

export interface ScheduleRequest {
  purpose: string;
  task: string;
  preference: Preference;
  reserveTimeMs: number;
}

export interface StandInManager {
  /** Every `schedule` call, in order. */
  readonly scheduled: ScheduleRequest[];
  /** The portal every `schedule` answers with. */
  portal: ScheduledWorker;
  /** When set, `schedule` fails with this message (as the real manager does, e.g. full load). */
  failure: string | undefined;
  /** What `getScheduled('conference', room)` answers: an agent's bus address, or null. */
  conferenceAgent: string | null;
  close(): Promise<void>;
}

export const standInPortal: ScheduledWorker = {
  id: 'portal-standin@localhost',
  info: {
    ip: '127.0.0.1',
    hostname: 'portal.example.test',
    port: 8080,
    via_host: '',
    ssl: false,
    state: 2,
    maxLoad: 0.85,
    capacity: { isps: [], regions: [] },
  },
};

export async function serveStandInManager(bus: Bus): Promise<StandInManager> {
  let served: Served | undefined;
  const manager: StandInManager = {
    scheduled: [],
    portal: standInPortal,
    failure: undefined,
    conferenceAgent: null,
    close: async () => served?.close(),
  };
  const handlers: Pick<RpcHandlers<ManagerRpc>, 'schedule' | 'getScheduled'> = {
    schedule: (purpose, task, preference, reserveTimeMs) => {
      manager.scheduled.push({ purpose, task, preference, reserveTimeMs });
      if (manager.failure !== undefined) throw new Error(manager.failure);
      return manager.portal;
    },
    getScheduled: () => manager.conferenceAgent,
  };
  served = await bus.serve(MANAGER_ADDRESS, handlers);
  return manager;
}

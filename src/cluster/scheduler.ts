import {
  WORKER_STATE_AVAILABLE,
  type Preference,
  type Purpose,
  type ScheduledWorker,
  type WorkerInfo,
  type WorkerSnapshot,
} from './api.js';
import { clusterError } from './errors.js';
import type { Matcher } from './matcher.js';
import type { Strategy } from './strategies/index.js';

/** setTimeout fires at once beyond this, which would turn a long reservation into none. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface WorkerEntry {
  id: string;
  info: WorkerInfo;
  load: number;
}

interface Assignment {
  worker: string;
  reserveTimeMs: number;
  /** Present while the assignment is only a reservation; it drops the assignment when it fires. */
  expiry: NodeJS.Timeout | undefined;
}

export interface SchedulerOptions {
  purpose: Purpose;
  strategy: Strategy;
  matcher: Matcher;
  /** Reservation length for a laid-down task this scheduler never scheduled itself. */
  defaultReserveMs: number;
}

/** Workers of one purpose and which of them holds (or has reserved) each task (SPEC §9.3). */
export class Scheduler {
  private readonly workers = new Map<string, WorkerEntry>();
  private readonly assignments = new Map<string, Assignment>();

  constructor(private readonly options: SchedulerOptions) {}

  /** Registers a worker, or refreshes the description of one already known (keeping its tasks). */
  addWorker(id: string, info: WorkerInfo): void {
    const known = this.workers.get(id);
    if (known) known.info = info;
    else this.workers.set(id, { id, info, load: 0 });
  }

  /** Forgets the worker and every task assigned or reserved to it. */
  removeWorker(id: string): void {
    if (!this.workers.delete(id)) return;
    for (const [task, assignment] of this.assignments) {
      if (assignment.worker === id) this.drop(task, assignment);
    }
  }

  updateLoad(id: string, load: number): void {
    const worker = this.workers.get(id);
    if (worker && Number.isFinite(load)) worker.load = load;
  }

  /** The worker now runs these tasks: their assignments become permanent. */
  pickUpTasks(id: string, tasks: readonly string[]): void {
    if (!this.workers.has(id)) return;
    for (const task of tasks) {
      const previous = this.assignments.get(task);
      if (previous) clearTimeout(previous.expiry);
      this.assignments.set(task, {
        worker: id,
        reserveTimeMs: previous?.reserveTimeMs ?? this.options.defaultReserveMs,
        expiry: undefined,
      });
    }
  }

  /** The worker no longer runs the task; it stays reserved to it for a while in case it comes back. */
  layDownTask(id: string, task: string): void {
    const assignment = this.assignments.get(task);
    if (!assignment || assignment.worker !== id || assignment.expiry) return;
    this.reserve(task, assignment);
  }

  /** The task's worker, else one picked among the available ones not in `exclude`, reserved for `reserveTimeMs`. */
  schedule(task: string, preference: Preference, reserveTimeMs: number, exclude: ReadonlySet<string> = new Set()): ScheduledWorker {
    const reserveMs = Number.isFinite(reserveTimeMs) && reserveTimeMs > 0
      ? Math.min(reserveTimeMs, MAX_TIMER_MS)
      : this.options.defaultReserveMs;
    const existing = this.assignments.get(task);
    const assigned = existing && this.workers.get(existing.worker);
    if (existing && assigned) {
      if (existing.expiry) {
        existing.reserveTimeMs = reserveMs;
        this.reserve(task, existing);
      }
      return { id: assigned.id, info: assigned.info };
    }
    const available = [...this.workers.values()].filter((worker) => isAvailable(worker) && !exclude.has(worker.id));
    if (available.length === 0) throw clusterError('fullLoad');
    const matched = this.options.matcher(available, preference);
    if (matched.length === 0) throw clusterError('noMatch');
    const chosen = this.options.strategy.pick(matched);
    this.reserve(task, { worker: chosen.id, reserveTimeMs: reserveMs, expiry: undefined });
    return { id: chosen.id, info: chosen.info };
  }

  /** Takes back a reservation of the task to the worker; false when the worker picked the task up. */
  cancel(task: string, worker: string): boolean {
    const assignment = this.assignments.get(task);
    if (!assignment || assignment.worker !== worker) return true;
    if (!assignment.expiry) return false;
    this.drop(task, assignment);
    return true;
  }

  getScheduled(task: string): string | null {
    return this.assignments.get(task)?.worker ?? null;
  }

  snapshot(): WorkerSnapshot[] {
    const byWorker = new Map<string, { tasks: string[]; reservations: string[] }>();
    for (const worker of this.workers.keys()) byWorker.set(worker, { tasks: [], reservations: [] });
    for (const [task, assignment] of this.assignments) {
      const lists = byWorker.get(assignment.worker)!;
      (assignment.expiry ? lists.reservations : lists.tasks).push(task);
    }
    return [...this.workers.values()].map((worker) => ({
      id: worker.id,
      purpose: this.options.purpose,
      state: worker.info.state,
      load: worker.load,
      info: worker.info,
      ...byWorker.get(worker.id)!,
    }));
  }

  close(): void {
    for (const [task, assignment] of this.assignments) this.drop(task, assignment);
  }

  private reserve(task: string, assignment: Assignment): void {
    clearTimeout(assignment.expiry);
    assignment.expiry = setTimeout(() => this.drop(task, assignment), assignment.reserveTimeMs);
    this.assignments.set(task, assignment);
  }

  private drop(task: string, assignment: Assignment): void {
    clearTimeout(assignment.expiry);
    if (this.assignments.get(task) === assignment) this.assignments.delete(task);
  }
}

function isAvailable(worker: WorkerEntry): boolean {
  const state = worker.info.state as number | undefined | null;
  return worker.load < worker.info.maxLoad && (state == null || state === WORKER_STATE_AVAILABLE);
}

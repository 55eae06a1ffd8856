/** A stream's tracks paused and played by JSON-patch-like updates from the management API (SPEC-MEDIA M7). */
import { isPlainObject } from '../bus/arguments.js';
import type { MediaKind } from '../protocol/socket.js';
import { conferenceError, mediaError } from './errors.js';

export type TrackStatus = 'active' | 'inactive';

export interface TrackStatusChange {
  kind: MediaKind;
  status: TrackStatus;
}

const statusPath = /^\/media\/(audio|video)\/status$/;
/** OWT's paths that place a stream in a mixed view: there are no mixed views here (SPEC-MEDIA M1). */
const mixingPath = /^\/info\/(inViews|layout)(\/|$)/;

function parseUpdate(update: unknown): TrackStatusChange {
  if (!isPlainObject(update)) throw conferenceError('invalidOp');
  const path = update['path'];
  if (typeof path === 'string' && mixingPath.test(path)) throw mediaError('mixing');
  if (update['op'] !== 'replace') throw conferenceError('invalidOp');
  const match = typeof path === 'string' ? statusPath.exec(path) : null;
  if (!match) throw conferenceError('invalidPath');
  const value = update['value'];
  if (value !== 'active' && value !== 'inactive') throw conferenceError('invalidValue');
  return { kind: match[1] as MediaKind, status: value };
}

/** Every update is checked before any is made; of several for one kind, the last one counts. */
export function parseStreamUpdates(updates: unknown[]): TrackStatusChange[] {
  const changes = new Map<MediaKind, TrackStatus>();
  for (const { kind, status } of updates.map(parseUpdate)) changes.set(kind, status);
  return [...changes].map(([kind, status]) => ({ kind, status }));
}

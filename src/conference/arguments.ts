/** Checks a participant arriving over the bus before it reaches room state. */
import { busError } from '../bus/index.js';
import { isPlainObject, requireId, requireList, requireSeq } from '../bus/arguments.js';
import type { Preference } from '../cluster/api.js';
import type { ParticipantInfo } from './api.js';

function requireOrigin(value: unknown): Preference {
  const expected = 'an object with optional string isp and region';
  if (!isPlainObject(value)) throw busError('invalidArgument', 'participant.origin', expected);
  const origin: Preference = {};
  for (const key of ['isp', 'region'] as const) {
    const field = value[key];
    if (field === undefined || field === null) continue;
    if (typeof field !== 'string') throw busError('invalidArgument', 'participant.origin', expected);
    origin[key] = field;
  }
  return origin;
}

/** Keeps only the known fields, so nothing a caller adds ends up in room state. */
export function requireParticipantInfo(value: unknown): ParticipantInfo {
  if (!isPlainObject(value)) throw busError('invalidArgument', 'participant', 'an object');
  return {
    id: requireId(value['id'], 'participant.id'),
    user: requireId(value['user'], 'participant.user'),
    role: requireId(value['role'], 'participant.role'),
    portal: requireId(value['portal'], 'participant.portal'),
    origin: requireOrigin(value['origin']),
  };
}

/** A portal's participants that were away, each with the number of the last notification it was sent. */
export function requireAway(value: unknown): Map<string, number> {
  const expected = 'a list of [participant id, number]';
  const away = new Map<string, number>();
  for (const entry of requireList(value, 'away')) {
    if (!Array.isArray(entry) || entry.length !== 2) throw busError('invalidArgument', 'away', expected);
    away.set(requireId(entry[0], 'away participant'), requireSeq(entry[1], 'away seq'));
  }
  return away;
}

/** Checks what arrives over the bus before it reaches room state: a bad caller gets an error, never a crash. */
import type { Preference } from '../cluster/api.js';
import { ConferenceErrors, type ParticipantInfo } from './api.js';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function requireId(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new Error(ConferenceErrors.invalidArgument(name, 'a non-empty string'));
  }
  return value;
}

export function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new Error(ConferenceErrors.invalidArgument(name, 'a string'));
  return value;
}

export function requireList(value: unknown, name: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(ConferenceErrors.invalidArgument(name, 'a list'));
  return value;
}

function requireOrigin(value: unknown): Preference {
  const expected = 'an object with optional string isp and region';
  if (!isPlainObject(value)) throw new Error(ConferenceErrors.invalidArgument('participant.origin', expected));
  const origin: Preference = {};
  for (const key of ['isp', 'region'] as const) {
    const field = value[key];
    if (field === undefined || field === null) continue;
    if (typeof field !== 'string') throw new Error(ConferenceErrors.invalidArgument('participant.origin', expected));
    origin[key] = field;
  }
  return origin;
}

/** Keeps only the known fields, so nothing a caller adds ends up in room state. */
export function requireParticipantInfo(value: unknown): ParticipantInfo {
  if (!isPlainObject(value)) throw new Error(ConferenceErrors.invalidArgument('participant', 'an object'));
  return {
    id: requireId(value['id'], 'participant.id'),
    user: requireId(value['user'], 'participant.user'),
    role: requireId(value['role'], 'participant.role'),
    portal: requireId(value['portal'], 'participant.portal'),
    origin: requireOrigin(value['origin']),
  };
}

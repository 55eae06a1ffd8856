/** Permissions derived from roles and changed by JSON-patch-like updates (SPEC §3, §4.6). */
import type { MediaRole } from '../store/index.js';
import type { Permission } from './api.js';
import { conferenceError } from './errors.js';
import { isPlainObject } from '../bus/arguments.js';

type MediaPermission = Permission['publish'];
type Direction = keyof Permission;
type Track = 'audio' | 'video';

type ParsedUpdate =
  | { direction: Direction; track: undefined; value: MediaPermission }
  | { direction: Direction; track: Track; value: boolean };

const permissionPath = /^\/permission\/(publish|subscribe)(?:\/(audio|video))?$/;

function mediaPermission(media: { audio: boolean; video: boolean }): MediaPermission {
  const audio = media.audio === true;
  const video = media.video === true;
  return audio || video ? { audio, video } : false;
}

/** A direction the role allows nothing in is `false`, as clients expect. */
export function permissionOfRole(role: MediaRole): Permission {
  return { publish: mediaPermission(role.publish), subscribe: mediaPermission(role.subscribe) };
}

/** A copy its holder may change, made directly: structuredClone costs fifty times as much. */
export function copyOfPermission({ publish, subscribe }: Permission): Permission {
  return { publish: publish && { ...publish }, subscribe: subscribe && { ...subscribe } };
}

/** `false`, or exactly `{audio: boolean, video: boolean}`; undefined for anything else. */
function asMediaPermission(value: unknown): MediaPermission | undefined {
  if (value === false) return false;
  if (!isPlainObject(value) || Object.keys(value).length !== 2) return undefined;
  const { audio, video } = value;
  return typeof audio === 'boolean' && typeof video === 'boolean' ? { audio, video } : undefined;
}

function parseUpdate(update: unknown): ParsedUpdate {
  if (!isPlainObject(update) || update['op'] !== 'replace') throw conferenceError('invalidOp');
  const path = update['path'];
  const match = typeof path === 'string' ? permissionPath.exec(path) : null;
  if (!match) throw conferenceError('invalidPath');
  const direction = match[1] as Direction;
  const track = match[2] as Track | undefined;
  const raw = update['value'];
  if (track === undefined) {
    const value = asMediaPermission(raw);
    if (value === undefined) throw conferenceError('invalidValue');
    return { direction, track, value };
  }
  if (typeof raw !== 'boolean') throw conferenceError('invalidValue');
  return { direction, track, value: raw };
}

/** Validates every update before applying any, so a bad list changes nothing. */
export function applyPermissionUpdates(current: Permission, updates: unknown[]): Permission {
  const parsed = updates.map(parseUpdate);
  const next = copyOfPermission(current);
  for (const update of parsed) {
    if (update.track === undefined) {
      next[update.direction] = update.value;
    } else {
      const media = next[update.direction] || { audio: false, video: false };
      next[update.direction] = { ...media, [update.track]: update.value };
    }
  }
  return next;
}

import type { Preference, Purpose, WorkerInfo } from './api.js';

export interface MatchCandidate {
  id: string;
  info: WorkerInfo;
}

/** Narrows the available workers to those fit for a task's preference; may return none. */
export type Matcher = <C extends MatchCandidate>(candidates: readonly C[], preference: Preference) => readonly C[];

/**
 * SPEC §9.4: a portal that lists ISPs serves only those; among the rest, portals listing the
 * preferred region are preferred, and when none does every remaining portal will do. Webrtc agents
 * are matched the same way (as OWT schedules them), so media stays near the token's origin.
 */
export const originMatcher: Matcher = (candidates, preference) => {
  const applicable = candidates.filter(({ info }) => {
    const isps = info.capacity.isps;
    return isps.length === 0 || (preference.isp !== undefined && isps.includes(preference.isp));
  });
  const suited = applicable.filter(
    ({ info }) => preference.region !== undefined && info.capacity.regions.includes(preference.region),
  );
  return suited.length > 0 ? suited : applicable;
};

export const matchAll: Matcher = (candidates) => candidates;

export function matcherFor(purpose: Purpose): Matcher {
  return purpose === 'conference' ? matchAll : originMatcher;
}

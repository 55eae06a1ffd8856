/** A worker the scheduler still considers after availability and matching. */
export interface Candidate {
  id: string;
  load: number;
}

/**
 * Picks one worker among non-empty `candidates` (in registration order). Strategies may keep
 * state between picks, so each scheduler owns its own instance.
 */
export interface Strategy {
  pick<C extends Candidate>(candidates: readonly C[]): C;
}

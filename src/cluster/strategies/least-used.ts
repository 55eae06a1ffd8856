import type { Candidate, Strategy } from './strategy.js';

/** The lowest load wins; the earliest registered breaks ties. */
export class LeastUsed implements Strategy {
  pick<C extends Candidate>(candidates: readonly C[]): C {
    return candidates.reduce((best, candidate) => (candidate.load < best.load ? candidate : best));
  }
}

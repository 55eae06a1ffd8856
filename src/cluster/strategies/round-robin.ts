import type { Candidate, Strategy } from './strategy.js';

/** Takes the candidates in turn. */
export class RoundRobin implements Strategy {
  private turn = 0;

  pick<C extends Candidate>(candidates: readonly C[]): C {
    const chosen = candidates[this.turn % candidates.length]!;
    this.turn = (this.turn + 1) % Number.MAX_SAFE_INTEGER;
    return chosen;
  }
}

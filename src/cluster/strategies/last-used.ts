import type { Candidate, Strategy } from './strategy.js';

/** Keeps giving work to the previous pick while it is still a candidate. */
export class LastUsed implements Strategy {
  private lastId: string | undefined;

  pick<C extends Candidate>(candidates: readonly C[]): C {
    const chosen = candidates.find((candidate) => candidate.id === this.lastId) ?? candidates[0]!;
    this.lastId = chosen.id;
    return chosen;
  }
}

import type { Candidate, Strategy } from './strategy.js';

/** The highest load wins, packing work onto as few workers as possible. */
export class MostUsed implements Strategy {
  pick<C extends Candidate>(candidates: readonly C[]): C {
    return candidates.reduce((best, candidate) => (candidate.load > best.load ? candidate : best));
  }
}

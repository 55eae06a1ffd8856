import { randomInt } from 'node:crypto';
import type { Candidate, Strategy } from './strategy.js';

export class RandomlyPick implements Strategy {
  pick<C extends Candidate>(candidates: readonly C[]): C {
    return candidates[randomInt(candidates.length)]!;
  }
}

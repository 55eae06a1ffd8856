import type { Candidate, Strategy } from './strategy.js';

/**
 * Smooth weighted round robin (as nginx balances upstreams): every pick raises each candidate's
 * current weight by its weight, takes the highest and lowers it by the total, so picks come out
 * proportional to the weights and interleaved rather than in bursts. Weight = (1 − load)·100.
 */
export class WeightRobin implements Strategy {
  private readonly currentWeights = new Map<string, number>();

  pick<C extends Candidate>(candidates: readonly C[]): C {
    const present = new Set(candidates.map((candidate) => candidate.id));
    for (const id of this.currentWeights.keys()) {
      if (!present.has(id)) this.currentWeights.delete(id);
    }
    let total = 0;
    let chosen = candidates[0]!;
    let chosenWeight = -Infinity;
    for (const candidate of candidates) {
      const weight = weightOf(candidate);
      const current = (this.currentWeights.get(candidate.id) ?? 0) + weight;
      this.currentWeights.set(candidate.id, current);
      total += weight;
      if (current > chosenWeight) {
        chosen = candidate;
        chosenWeight = current;
      }
    }
    this.currentWeights.set(chosen.id, chosenWeight - total);
    return chosen;
  }
}

/** Rounded so that loads like 0.7 give exactly 30, keeping the rotation periodic. */
function weightOf(candidate: Candidate): number {
  return Math.max(0, Math.round((1 - candidate.load) * 100));
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createStrategy, strategyNames, type Candidate } from '../../src/cluster/index.js';

const workers = (...loads: number[]): Candidate[] => loads.map((load, index) => ({ id: `w${index + 1}`, load }));

function pickMany(name: string, candidates: Candidate[], times: number): string[] {
  const strategy = createStrategy(name);
  return Array.from({ length: times }, () => strategy.pick(candidates).id);
}

function countOf(picks: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const id of picks) counts[id] = (counts[id] ?? 0) + 1;
  return counts;
}

describe('scheduling strategies', () => {
  it('the factory knows exactly the six strategies of the SPEC', () => {
    assert.deepEqual([...strategyNames].sort(), [
      'last-used', 'least-used', 'most-used', 'randomly-pick', 'round-robin', 'weight-robin',
    ]);
    for (const name of strategyNames) assert.equal(typeof createStrategy(name).pick, 'function');
  });

  it('the factory refuses an unknown strategy name, including inherited property names', () => {
    assert.throws(() => createStrategy('fastest'), /Unknown scheduling strategy: fastest/);
    assert.throws(() => createStrategy('toString'), /Unknown scheduling strategy: toString/);
  });

  it('least-used picks the lowest load, the earliest registered on a tie', () => {
    assert.equal(createStrategy('least-used').pick(workers(0.5, 0.2, 0.7)).id, 'w2');
    assert.equal(createStrategy('least-used').pick(workers(0.3, 0.1, 0.1)).id, 'w2');
  });

  it('most-used picks the highest load, the earliest registered on a tie', () => {
    assert.equal(createStrategy('most-used').pick(workers(0.5, 0.2, 0.7)).id, 'w3');
    assert.equal(createStrategy('most-used').pick(workers(0.8, 0.1, 0.8)).id, 'w1');
  });

  it('last-used keeps its previous pick while that worker is still a candidate', () => {
    const strategy = createStrategy('last-used');
    const all = workers(0.5, 0.1, 0.3);
    assert.equal(strategy.pick(all).id, 'w1');
    assert.equal(strategy.pick([all[2]!, all[0]!]).id, 'w1');
    assert.equal(strategy.pick([all[1]!, all[2]!]).id, 'w2');
    assert.equal(strategy.pick(all).id, 'w2');
  });

  it('round-robin takes the candidates in turn', () => {
    assert.deepEqual(pickMany('round-robin', workers(0.1, 0.9, 0.5), 7), ['w1', 'w2', 'w3', 'w1', 'w2', 'w3', 'w1']);
  });

  it('randomly-pick only ever returns candidates and reaches each of them', () => {
    const picks = pickMany('randomly-pick', workers(0.1, 0.2, 0.3), 300);
    assert.deepEqual(Object.keys(countOf(picks)).sort(), ['w1', 'w2', 'w3']);
  });

  it('weight-robin with loads 0.1/0.4/0.7 picks in proportion 90/60/30, interleaved in every period of six', () => {
    const picks = pickMany('weight-robin', workers(0.1, 0.4, 0.7), 180);
    assert.deepEqual(countOf(picks), { w1: 90, w2: 60, w3: 30 });
    for (let start = 0; start < picks.length; start += 6) {
      assert.deepEqual(countOf(picks.slice(start, start + 6)), { w1: 3, w2: 2, w3: 1 }, `period at ${start}`);
    }
    const longestRun = picks.reduce(
      (state, id, index) => {
        const run = index > 0 && picks[index - 1] === id ? state.run + 1 : 1;
        return { run, longest: Math.max(state.longest, run) };
      },
      { run: 0, longest: 0 },
    ).longest;
    assert.ok(longestRun <= 2, `smooth rotation never repeats a worker more than twice, got ${longestRun}`);
  });

  it('weight-robin shares evenly between the workers that remain when one leaves', () => {
    const strategy = createStrategy('weight-robin');
    const [a, b, c] = workers(0.5, 0.5, 0.5) as [Candidate, Candidate, Candidate];
    for (let i = 0; i < 5; i++) strategy.pick([a, b, c]);
    const counts = countOf(Array.from({ length: 100 }, () => strategy.pick([a, c]).id));
    assert.deepEqual(Object.keys(counts).sort(), ['w1', 'w3']);
    assert.ok(Math.abs(counts['w1']! - counts['w3']!) <= 2, JSON.stringify(counts));
  });
});

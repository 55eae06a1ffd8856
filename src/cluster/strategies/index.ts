import { LastUsed } from './last-used.js';
import { LeastUsed } from './least-used.js';
import { MostUsed } from './most-used.js';
import { RandomlyPick } from './randomly-pick.js';
import { RoundRobin } from './round-robin.js';
import type { Strategy } from './strategy.js';
import { WeightRobin } from './weight-robin.js';

export type { Candidate, Strategy } from './strategy.js';

const constructors = {
  'least-used': LeastUsed,
  'most-used': MostUsed,
  'last-used': LastUsed,
  'round-robin': RoundRobin,
  'randomly-pick': RandomlyPick,
  'weight-robin': WeightRobin,
} as const satisfies Record<string, new () => Strategy>;

export type StrategyName = keyof typeof constructors;
export const strategyNames = Object.keys(constructors) as StrategyName[];

/** The one place a strategy name becomes a strategy; unknown names are refused. */
export function createStrategy(name: string): Strategy {
  if (!Object.hasOwn(constructors, name)) throw new Error(`Unknown scheduling strategy: ${name}`);
  return new constructors[name as StrategyName]();
}

// When a run breaks an invariant, find a smaller scenario (same seed) that still breaks one: fewer
// agents, less time, one article, no faults, fewer kinds of agent. Greedy: each step tries the
// simplifications in order and keeps the first that still fails, until none does or the budget of
// runs is spent. The result is what a developer replays first (TigerBeetle's VOPR does the same
// with its seeds; fast-check calls it shrinking).
import type { Scenario } from './scenario.js';

export interface Reduction {
  readonly scenario: Scenario;
  /** The violation the smallest scenario ends with. */
  readonly message: string;
  readonly runs: number;
}

/** Simpler neighbours of a scenario, most effective first; each differs in one respect. */
export function simplifications(scenario: Scenario): Scenario[] {
  const candidates: Scenario[] = [
    { ...scenario, buyers: Math.ceil(scenario.buyers / 2) },
    { ...scenario, sellers: Math.ceil(scenario.sellers / 2) },
    { ...scenario, hours: Math.max(0.01, Math.round((scenario.hours / 2) * 1000) / 1000) },
    { ...scenario, articles: 1 },
    { ...scenario, restartEveryMinutes: 0 },
    { ...scenario, network: { ...scenario.network, lossProbability: 0 } },
    { ...scenario, network: { ...scenario.network, latencyMinMs: 0, latencyMaxMs: 0 } },
    { ...scenario, arrivals: 'poisson' },
    { ...scenario, adaptiveSellers: 0 },
    { ...scenario, flakySellers: 0 },
    { ...scenario, cheatingSellers: 0 },
    { ...scenario, forgingSellers: 0 },
    { ...scenario, priceTakers: 0 },
    { ...scenario, silentBuyers: 0 },
  ];
  const key = JSON.stringify(scenario);
  return candidates.filter((candidate) => JSON.stringify(candidate) !== key);
}

/**
 * Shrinks `scenario`, which fails with `message`. `fails` runs a scenario and returns its
 * violation, or undefined when it passes.
 */
export async function reduce(scenario: Scenario, message: string, fails: (candidate: Scenario) => Promise<string | undefined>, runsMax = 30, onStep?: (smallest: Scenario, runs: number) => void): Promise<Reduction> {
  let smallest = scenario;
  let smallestMessage = message;
  let runs = 0;
  for (let improved = true; improved && runs < runsMax; ) {
    improved = false;
    for (const candidate of simplifications(smallest)) {
      if (runs >= runsMax) break;
      runs++;
      const failure = await fails(candidate);
      if (failure === undefined) continue;
      smallest = candidate;
      smallestMessage = failure;
      improved = true;
      onStep?.(smallest, runs);
      break;
    }
  }
  return { scenario: smallest, message: smallestMessage, runs };
}

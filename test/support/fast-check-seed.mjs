// Preloaded by `npm test` (scripts/run-tests.ts): property tests without a seed of their own
// run from one fixed seed, so CI is repeatable and a red run replays exactly. FC_SEED=N picks
// another seed; FC_SEED=random explores (fast-check prints the seed of any failure).
import fc from 'fast-check';

const chosen = process.env.FC_SEED;
if (chosen !== 'random') {
  const seed = chosen === undefined || chosen === '' ? 20261208 : Number(chosen);
  if (!Number.isSafeInteger(seed)) throw new Error(`FC_SEED must be an integer or "random", not ${JSON.stringify(chosen)}`);
  fc.configureGlobal({ seed });
}

// Goal: the fast core is the market the naive reference model describes, and the seven market
// invariants hold after every step: money is conserved; no balance is negative; no bid is matched
// twice; the trade price is the earlier bid's; every transaction is retired by its deadline; a
// seller is credited only after a valid signed receipt; an expired bid's hold is fully released.
// Method: model-based testing. Random sequences of bids, withdrawals, transaction messages
// (valid and invalid, real signatures), money commands and clock jumps run through the core and
// the reference model (test/market/support/reference-model.ts); after every step the verdicts and the
// state hashes must agree, core.checkInvariants() must pass, and the auditor (support/auditor.ts)
// checks the invariants from the events. fast-check shrinks any failure to a short sequence;
// the seeded runs print their seed so a failure is reproduced with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createPrng } from '../../src/random.js';
import { Driver, intentArbitrary, randomIntent } from './support/scenario.js';

test('property: core and reference model agree, invariants hold, after every step', () => {
  fc.assert(
    fc.property(fc.array(intentArbitrary, { minLength: 1, maxLength: 80, size: 'max' }), (intents) => {
      const driver = new Driver();
      for (const intent of intents) driver.run(intent);
    }),
    { numRuns: 150 },
  );
});

function seededRun(seed: number, steps: number, options: ConstructorParameters<typeof Driver>[0]): Driver {
  const prng = createPrng(seed);
  const driver = new Driver(options);
  try {
    for (let step = 0; step < steps; step++) driver.run(randomIntent(prng));
  } catch (error) {
    throw new Error(`SEED=${seed} failed at step ${driver.steps}; reproduce with seededRun(${seed}, ...): ${(error as Error).message}`);
  }
  return driver;
}

test('seeded long runs: 40 000 commands, state hashes compared every 100 (STYLE.md example 11)', () => {
  for (const seed of [1, 2, 3, 4]) {
    const driver = seededRun(seed, 10_000, { compareEvery: 100 });
    const state = driver.core.exportState();
    assert.ok(state.txSeq > 100, `SEED=${seed}: the run traded (${state.txSeq} transactions)`);
  }
});

test('the core stepping its machines with XState transition() equals the compiled stepper', () => {
  for (const seed of [11, 12]) {
    const compiled = new Driver({ stepper: 'compiled', compareEvery: 0 });
    const xstate = new Driver({ stepper: 'xstate', compareEvery: 0 });
    const prng = createPrng(seed);
    for (let step = 0; step < 600; step++) {
      const intent = randomIntent(prng);
      const left = compiled.run(intent);
      const right = xstate.run(intent);
      assert.deepEqual(right, left, `SEED=${seed} step ${step}: same result`);
      assert.equal(xstate.core.stateHash(), compiled.core.stateHash(), `SEED=${seed} step ${step}: same state`);
    }
  }
});

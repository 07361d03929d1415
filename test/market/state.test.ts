// Goal: the core's whole state exports as plain data and rebuilds into a core that is the same
// market: same stateHash(), and from then on the same results and events for the same commands
// (a journal replayed onto a snapshot must give back the live state). The hash is canonical
// (key order does not matter, every field does), and a corrupted snapshot is refused.
// Method: seeded random runs; at several points a clone is rebuilt from exportState() (after a
// JSON round trip, as a snapshot file would be) and then mirrors every command of the original.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MarketCore } from '../../src/market/core.js';
import { canonicalJson, hashMarketState } from '../../src/market/state.js';
import type { MarketState } from '../../src/market/state.js';
import { createPrng } from '../../src/random.js';
import { verifyReceipt } from './support/participants.js';
import { Driver, randomIntent } from './support/scenario.js';

/** The same data with every object's keys in reverse order. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([key, member]) => [key, reverseKeys(member)]));
}

function snapshotClone(core: MarketCore): MarketCore {
  const state = JSON.parse(JSON.stringify(core.exportState())) as MarketState;
  return MarketCore.fromState(state, { verifyReceipt });
}

test('a core rebuilt from its exported state has the same hash and behaves identically afterwards', () => {
  for (const seed of [21, 22, 23]) {
    const clones: MarketCore[] = [];
    let liveAtSnapshots = 0;
    const driver = new Driver({
      compareEvery: 0,
      onCommand: (command, result) => {
        for (const clone of clones) assert.deepEqual(clone.execute(command), result, `SEED=${seed}: a clone mirrors the live core`);
      },
    });
    const prng = createPrng(seed);
    for (let step = 1; step <= 1_500; step++) {
      driver.run(randomIntent(prng));
      if (step % 500 === 0) {
        const clone = snapshotClone(driver.core);
        const state = driver.core.exportState();
        liveAtSnapshots += state.bids.length + state.transactions.length + state.deposits.length;
        assert.equal(clone.stateHash(), driver.core.stateHash(), `SEED=${seed}: the clone has the same hash`);
        clones.push(clone);
      }
    }
    for (const clone of clones) assert.equal(clone.stateHash(), driver.core.stateHash(), `SEED=${seed}: clones end equal`);
    assert.ok(liveAtSnapshots > 0, `SEED=${seed}: the snapshots held live bids, transactions or deposits`);
  }
});

test('the hash is over canonical JSON: key order is irrelevant, every value counts', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  const driver = new Driver({ compareEvery: 0 });
  const prng = createPrng(5);
  for (let step = 0; step < 300; step++) driver.run(randomIntent(prng));
  const state = driver.core.exportState();
  const reordered = reverseKeys(state) as MarketState;
  assert.equal(hashMarketState(reordered), hashMarketState(state));
  assert.notEqual(hashMarketState({ ...state, feesSats: state.feesSats + 1 }), hashMarketState(state));
  assert.match(driver.core.stateHash(), /^[0-9a-f]{64}$/);
});

test('a snapshot that breaks an invariant is refused', () => {
  const driver = new Driver({ compareEvery: 0 });
  const prng = createPrng(6);
  for (let step = 0; step < 400; step++) driver.run(randomIntent(prng));
  const state = driver.core.exportState();
  const first = state.accounts[0]!;
  const richer = { ...state, accounts: [{ ...first, availableSats: first.availableSats + 1 }, ...state.accounts.slice(1)] };
  assert.throws(() => MarketCore.fromState(richer, { verifyReceipt }), /money is conserved/);
  assert.throws(() => MarketCore.fromState({ ...state, version: 1 as 5 }, { verifyReceipt }), /market state version 1 is not supported/);
});

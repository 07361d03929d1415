// Goal: the fee is exactly ceil(price × numerator / denominator), in whole satoshis, for every
// price an article allows, including where a float division would round wrongly. Method:
// fast-check against BigInt arithmetic over the whole safe range, plus the original's examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { feeFor, isSats } from '../../src/market/money.js';
import { MONEY_SATS_MAX } from '../../src/market/limits.js';

function bigCeil(price: number, numerator: number, denominator: number): number {
  const product = BigInt(price) * BigInt(numerator);
  return Number((product + BigInt(denominator) - 1n) / BigInt(denominator));
}

test("the original's 3 % fee rounds up", () => {
  const ratio = { feeNumerator: 3, feeDenominator: 100 };
  assert.equal(feeFor(0, ratio), 0, 'free bids pay no fee');
  assert.equal(feeFor(1, ratio), 1, '0.03 sat rounds up to 1');
  assert.equal(feeFor(33, ratio), 1);
  assert.equal(feeFor(34, ratio), 2);
  assert.equal(feeFor(100, ratio), 3);
  assert.equal(feeFor(100_000, ratio), 3_000, 'mBTC 1 pays uBTC 30');
  assert.equal(feeFor(MONEY_SATS_MAX, ratio), 63_000_000_000_000);
});

test('property: fee = ceil(price × n / d) exactly, between 0 and the price', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1_000_000 }).chain((denominator) =>
        fc.tuple(fc.constant(denominator), fc.integer({ min: 0, max: denominator })),
      ),
      fc.nat(MONEY_SATS_MAX),
      ([denominator, numerator], price) => {
        fc.pre(Number.isSafeInteger(price * numerator));
        const fee = feeFor(price, { feeNumerator: numerator, feeDenominator: denominator });
        assert.equal(fee, bigCeil(price, numerator, denominator));
        assert.ok(fee >= 0 && fee <= price);
      },
    ),
    { numRuns: 2_000 },
  );
});

test('exact at the top of the safe range, where price × numerator nears 2^53', () => {
  const price = 1_286_742_750_677_284; // × 7 = 9_007_199_254_740_988, three below 2^53 - 1
  assert.equal(feeFor(price, { feeNumerator: 7, feeDenominator: 7 }), price);
  for (const denominator of [11, 13, 997, 999_983]) {
    assert.equal(feeFor(price - 1, { feeNumerator: 7, feeDenominator: denominator }), bigCeil(price - 1, 7, denominator));
  }
  assert.throws(() => feeFor(price + 1, { feeNumerator: 7, feeDenominator: 7 }), /safe integer/, 'articles bound price × numerator');
});

test('isSats accepts whole satoshis within the supply only', () => {
  for (const ok of [0, 1, MONEY_SATS_MAX]) assert.equal(isSats(ok), true, String(ok));
  for (const bad of [-1, 0.5, MONEY_SATS_MAX + 1, Number.NaN, Infinity, '5', null]) assert.equal(isSats(bad), false, String(bad));
});

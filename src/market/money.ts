// Money is integer satoshis held in a `number` and asserted safe (never a float, never bigint,
// so that one representation runs through the core, the ledger and the wire).
import { assert } from '../assert.js';
import { MONEY_SATS_MAX } from './limits.js';

/** True for a whole number of satoshis in [0, MONEY_SATS_MAX]. */
export function isSats(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MONEY_SATS_MAX;
}

export function assertSats(value: number, name: string): void {
  // The message is built only on failure: this runs for every transfer.
  if (!isSats(value)) assert(false, `"${name}" expected whole satoshis in [0, ${MONEY_SATS_MAX}], got ${value}`);
}

export interface FeeRatio {
  readonly feeNumerator: number;
  readonly feeDenominator: number;
}

/**
 * The fee on a price: ceil(price × numerator / denominator), exactly, as the original rounds it
 * (up, in the exchange's favour, so that a non-zero fee ratio never charges 0 on a priced unit).
 * Exact because the article guarantees price × numerator is a safe integer, and `%` and the
 * division of a multiple are exact on safe integers.
 */
export function feeFor(priceSats: number, ratio: FeeRatio): number {
  const product = priceSats * ratio.feeNumerator;
  assert(Number.isSafeInteger(product), 'price × fee numerator must be a safe integer');
  const remainder = product % ratio.feeDenominator;
  const fee = (product - remainder) / ratio.feeDenominator + (remainder > 0 ? 1 : 0);
  assert(fee >= 0 && fee <= priceSats, 'a fee is between 0 and the price');
  return fee;
}

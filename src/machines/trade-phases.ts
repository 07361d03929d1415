// What each state of a trade guarantees about its context: a buy that is `matched` has its
// transaction id and its buyer secret, a sale that is `working` has the work, and so on. The
// machines (trade.ts) set these fields on the transition into the state; `buyPhase` and
// `sellPhase` check that once, at the boundary (a state read back from disk is checked the same
// way), so the code that acts on a state reads its fields without assertions.
import { assert } from '../assert.js';
import type { BuyContext, BuyState, BuyValue, SellContext, SellState, SellValue } from './trade.js';

/** `C` with the fields `K` known to be set. */
type With<C, K extends keyof C> = C & { readonly [P in K]: NonNullable<C[P]> };

const BUY_FIELDS = {
  clearance: [],
  bidding: ['priceSats', 'clearedBy'],
  bidPlaced: ['priceSats', 'clearedBy', 'bidId'],
  matched: ['priceSats', 'clearedBy', 'bidId', 'txId', 'buyerSecret'],
  transferring: ['priceSats', 'clearedBy', 'bidId', 'txId', 'buyerSecret', 'workerUrl'],
  receipted: ['priceSats', 'clearedBy', 'bidId', 'txId', 'buyerSecret', 'workerUrl', 'encryptedFileKey'],
  verifying: ['priceSats', 'clearedBy', 'bidId', 'txId', 'buyerSecret', 'workerUrl', 'encryptedFileKey', 'resultKey'],
  local: ['clearedBy'],
  done: ['clearedBy', 'resultFileKey'],
  failed: [],
} as const satisfies { readonly [V in BuyValue]: readonly (keyof BuyContext)[] };

const SELL_FIELDS = {
  bidding: [],
  bidPlaced: ['bidId'],
  matched: ['bidId', 'txId', 'buyer'],
  working: ['bidId', 'txId', 'buyer', 'workFileKey', 'buyerSecret'],
  delivering: ['bidId', 'txId', 'buyer', 'workFileKey', 'buyerSecret', 'encryptedFileKey', 'resultKey', 'resultHash'],
  receipted: ['bidId', 'txId', 'buyer', 'workFileKey', 'buyerSecret', 'encryptedFileKey', 'resultKey', 'resultHash', 'receipt'],
  done: ['bidId', 'txId', 'buyer', 'workFileKey', 'buyerSecret', 'encryptedFileKey', 'resultKey', 'resultHash', 'receipt'],
  ended: [],
  failed: [],
} as const satisfies { readonly [V in SellValue]: readonly (keyof SellContext)[] };

export type BuyPhase = { readonly [V in BuyValue]: { readonly value: V; readonly context: With<BuyContext, (typeof BUY_FIELDS)[V][number]> } }[BuyValue];
export type SellPhase = { readonly [V in SellValue]: { readonly value: V; readonly context: With<SellContext, (typeof SELL_FIELDS)[V][number]> } }[SellValue];
/** One state of a buy (or sale), with what it guarantees. */
export type BuyPhaseOf<V extends BuyValue> = Extract<BuyPhase, { readonly value: V }>;
export type SellPhaseOf<V extends SellValue> = Extract<SellPhase, { readonly value: V }>;

function check(side: string, value: string, context: { readonly tradeId: string } & object, fields: readonly string[]): void {
  for (const field of fields) {
    const present = (context as Record<string, unknown>)[field];
    assert(present !== null && present !== undefined, `${side} trade ${context.tradeId} is ${value} but has no ${field}`);
  }
}

/** The buy's state with what it guarantees; throws if the context breaks that (a bug, or a corrupt record). */
export function buyPhase(state: BuyState): BuyPhase {
  check('buy', state.value, state.context, BUY_FIELDS[state.value]);
  return state as BuyPhase; // checked above, field by field
}

/** The sale's state with what it guarantees; throws if the context breaks that. */
export function sellPhase(state: SellState): SellPhase {
  check('sell', state.value, state.context, SELL_FIELDS[state.value]);
  return state as SellPhase; // checked above, field by field
}

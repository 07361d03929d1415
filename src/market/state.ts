// The market's whole state as plain data: what the core exports for snapshots and rebuilds
// from, what the reference model produces too, and what `stateHash()` hashes. Only live things
// are in it (resting bids, active transactions, open holds, pending deposits and payouts):
// closed ones left through events, which the journal keeps. Arrays are in a fixed order (by
// sequence number or by id), and the hash is SHA-256 over JSON with sorted keys, so two
// implementations that agree on the market agree on the hash.
import { createHash } from 'node:crypto';
import type { ArticleSpec } from './articles.js';
import type { LastTrade } from './order-book.js';
import type { Reputation } from './reputation.js';
import type { BidContext, BidValue } from '../machines/bid.js';
import type { TxContext, TxValue } from '../machines/transaction.js';
import type { WithdrawalContext, WithdrawalValue } from '../machines/withdrawal.js';

/**
 * 2: transactions carry the seller's result commitment and the state the reputation counts.
 * 3: deposit addresses, and deposits by outpoint with the block they were credited in.
 * 4: withdrawals (machines with destination and idempotency key) replace payouts.
 * 5: payout batches (inputs, change index, the PSBT for the payer, signed candidates).
 */
export const MARKET_STATE_VERSION = 5;

export interface AccountSnapshot {
  readonly address: string;
  readonly frozen: boolean;
  readonly availableSats: number;
  readonly heldSats: number;
  readonly depositPendingSats: number;
  readonly payoutPendingSats: number;
}

export type BidSnapshot = BidContext & { readonly state: BidValue };
export type TxSnapshot = TxContext & { readonly phase: TxValue };

export interface HoldSnapshot {
  readonly holdId: string;
  readonly owner: string;
  readonly amountSats: number;
}

export type WithdrawalSnapshot = WithdrawalContext & { readonly state: WithdrawalValue };

export interface PayoutBatchSnapshot {
  readonly batchId: string;
  readonly withdrawalIds: readonly string[];
  readonly inputs: readonly { readonly txid: string; readonly vout: number; readonly valueSats: number; readonly chain: 0 | 1; readonly index: number }[];
  readonly changeIndex: number;
  readonly createdMs: number;
  readonly unsigned: { readonly psbtBase64: string; readonly feeSats: number; readonly changeSats: number; readonly feeRateSatVb: number } | null;
  readonly candidates: readonly { readonly txid: string; readonly rawHex: string; readonly feeSats: number; readonly feeRateSatVb: number; readonly signedMs: number }[];
}

export interface WithdrawalHistorySnapshot {
  readonly participant: string;
  readonly atMs: number;
  readonly amountSats: number;
}

export interface WithdrawalKeySnapshot {
  readonly participant: string;
  readonly key: string;
  readonly withdrawalId: string;
  readonly destination: string;
  readonly amountSats: number;
}

export interface DepositAddressSnapshot {
  readonly index: number;
  readonly address: string;
  readonly participant: string;
  /** Whether any output (credited or not) has paid it. */
  readonly used: boolean;
}

export interface DepositSnapshot {
  /** The outpoint, `txid:vout`. */
  readonly id: string;
  readonly participant: string;
  readonly address: string;
  readonly amountSats: number;
  /** The block it was credited in; null while pending (seen, confirming). */
  readonly block: { readonly height: number; readonly hash: string } | null;
}

export interface MarketState {
  readonly version: typeof MARKET_STATE_VERSION;
  readonly nowMs: number;
  readonly bidSeq: number;
  readonly txSeq: number;
  readonly openBidsPerArticleMax: number;
  /** Sorted by articleId. */
  readonly articles: readonly ArticleSpec[];
  /** Sorted by article. */
  readonly lastTrades: readonly (LastTrade & { readonly article: string })[];
  /** Sorted by address. */
  readonly accounts: readonly AccountSnapshot[];
  /** Resting bids, sorted by seq. */
  readonly bids: readonly BidSnapshot[];
  /** Active transactions, sorted by seq. */
  readonly transactions: readonly TxSnapshot[];
  /** Sorted by holdId. */
  readonly holds: readonly HoldSnapshot[];
  readonly feesSats: number;
  readonly worldSats: number;
  /** The next deposit address index to reserve. */
  readonly depositIndexNext: number;
  /** Sorted by index. */
  readonly depositAddresses: readonly DepositAddressSnapshot[];
  /** Pending and credited (not yet final) deposits, sorted by id. */
  readonly deposits: readonly DepositSnapshot[];
  /** Sorted; final and too-small deposits are kept so that an outpoint is never counted twice. */
  readonly closedDepositIds: readonly string[];
  /** The last withdrawal sequence number (ids are w<seq>). */
  readonly withdrawalSeq: number;
  /** Live (not completed or refunded) withdrawals, sorted by id. */
  readonly withdrawals: readonly WithdrawalSnapshot[];
  /** Every idempotency key used, sorted by participant then key. */
  readonly withdrawalKeys: readonly WithdrawalKeySnapshot[];
  readonly withdrawalPolicy: { readonly dailyLimitSats: number; readonly manualAboveSats: number; readonly newDestinationDelayMs: number };
  /** Requests within the daily window, by participant (in order), then time. */
  readonly withdrawalHistory: readonly WithdrawalHistorySnapshot[];
  /** Destinations each participant was paid at, sorted. */
  readonly withdrawalDestinations: readonly { readonly participant: string; readonly destination: string }[];
  /** The last payout batch sequence number (ids are b<seq>). */
  readonly payoutBatchSeq: number;
  /** The next index on the wallet's change branch. */
  readonly changeIndexNext: number;
  /** Batches not yet completed or failed, sorted by id. */
  readonly payoutBatches: readonly PayoutBatchSnapshot[];
  /** Sorted by address: participants with at least one retired transaction. */
  readonly reputations: readonly Reputation[];
}

/** Code-unit order: the same everywhere, unlike localeCompare. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON with the keys of every object sorted; undefined members are left out, as JSON does. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, member: unknown) => {
    if (!isPlainObject(member)) return member;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(member).sort(compareStrings)) sorted[key] = member[key];
    return sorted;
  });
}

export function hashMarketState(state: MarketState): string {
  return createHash('sha256').update(canonicalJson(state)).digest('hex');
}

// Reputation: public counts of how each participant's transactions ended, as seller and as buyer,
// counted by the core when a transaction retires (so they follow from the journal and are in the
// state's hash). A buyer's daemon refuses sellers that lost disputes, and checks sellers with
// little history more often where an article takes spot checks (docs/market-rules.md §6a).
import type { TxPhase, TxSettlement } from '../machines/transaction.js';

export interface TradeCounts {
  /** Paid against a receipt: accepted, or the buyer stayed silent. */
  readonly finished: number;
  /** Ended in RESULT_DISPUTED, however decided. */
  readonly disputed: number;
  /** Disputes decided against this side (by evidence or by the arbiter giving it less than half). */
  readonly disputesLost: number;
  /** Ended in WORK_DISPUTED: the seller refused the work or the buyer cancelled. */
  readonly workRejected: number;
  /** Ran out of time before a result (someone went quiet). */
  readonly timedOut: number;
}

export interface Reputation {
  readonly address: string;
  readonly sales: TradeCounts;
  readonly purchases: TradeCounts;
}

export const NO_TRADES: TradeCounts = { finished: 0, disputed: 0, disputesLost: 0, workRejected: 0, timedOut: 0 };

/** How a retirement counts for each side: which counter goes up, and who lost a dispute. */
export function retirementCounts(
  phase: TxPhase,
  priceSats: number,
  settlement: TxSettlement,
  decided: boolean,
): { readonly counter: keyof TradeCounts; readonly sellerLost: boolean; readonly buyerLost: boolean } {
  if (phase === 'FINISHED' || phase === 'UNVERIFIED') return { counter: 'finished', sellerLost: false, buyerLost: false };
  if (phase === 'WORK_DISPUTED') return { counter: 'workRejected', sellerLost: false, buyerLost: false };
  if (phase === 'RESULT_DISPUTED') {
    // Undecided, nobody is known to have lost; decided, the side given less than half lost.
    const twice = 2 * settlement.sellerSats;
    return { counter: 'disputed', sellerLost: decided && twice < priceSats, buyerLost: decided && twice > priceSats };
  }
  return { counter: 'timedOut', sellerLost: false, buyerLost: false };
}

export function bump(counts: TradeCounts, counter: keyof TradeCounts, lost: boolean): TradeCounts {
  return { ...counts, [counter]: counts[counter] + 1, disputesLost: counts.disputesLost + (lost ? 1 : 0) };
}

/** By default a buyer refuses any seller that lost a dispute (a buy mandate may allow more). */
export const SELLER_DISPUTES_LOST_MAX_DEFAULT = 0;

/** Why a buyer refuses a matched seller with these counts, or null when it trades with it. */
export function sellerRefusal(seller: string, sales: TradeCounts, disputesLostMax: number): string | null {
  if (sales.disputesLost <= disputesLostMax) return null;
  return `the seller ${seller} lost ${sales.disputesLost} disputes (more than the ${disputesLostMax} allowed): refused`;
}

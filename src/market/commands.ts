// What goes into the market core and what comes out. Every command carries its time (`nowMs`):
// the core reads no clock. Participants are addresses the server layer has already
// authenticated (signature and nonce checked); commands without a participant come from trusted
// parts of the exchange (the payment processor, the arbiter, the operator).
import type { ArticleSpec } from './articles.js';
import type { TransferEvent } from './ledger.js';
import type { RejectionName } from './rejections.js';
import type { TxMessageType } from './tx-messages.js';
import type { BidSide } from '../machines/bid.js';
import type { TxPhase } from '../machines/transaction.js';
import type { WithdrawalEvent, WithdrawalValue } from '../machines/withdrawal.js';
import type { WithdrawalPolicy } from './withdrawals.js';
import type { BatchInput, UnsignedPayout } from './payout-batches.js';

/** What the processor saw of a batch's transaction, or the operator's decision (FAIL, before any signature or after a conflict). */
export type PayoutBatchStep =
  | { readonly type: 'BROADCAST' }
  | { readonly type: 'CONFIRM'; readonly txid: string; readonly block: ChainBlock }
  | { readonly type: 'REORG' }
  | { readonly type: 'COMPLETE' }
  | { readonly type: 'CONFLICT' }
  | { readonly type: 'FAIL'; readonly reason: string };

interface Timed {
  readonly nowMs: number;
}

/** A block of the best chain: its height and hash (64 lower-case hex characters). */
export interface ChainBlock {
  readonly height: number;
  readonly hash: string;
}

/** What happened to a deposit, in the `deposit` event. */
export type DepositChange = 'seen' | 'too_small' | 'credited' | 'dropped' | 'moved' | 'reversed' | 'final';

export type MarketCommand =
  | (Timed & { readonly type: 'advanceTime' })
  | (Timed & { readonly type: 'defineArticle'; readonly article: ArticleSpec })
  | (Timed & {
      readonly type: 'placeBid';
      readonly participant: string;
      readonly side: BidSide;
      readonly article: string;
      readonly priceSats: number;
      /** BUY only: sellers this bid must not be matched with (AVOID_SELLERS_MAX at most). */
      readonly avoid?: readonly string[];
    })
  | (Timed & { readonly type: 'withdrawBid'; readonly participant: string; readonly bidId: string })
  | (Timed & {
      readonly type: 'txMessage';
      readonly participant: string;
      readonly txId: string;
      readonly message: TxMessageType;
      /** Exactly the fields TX_MESSAGE_FIELDS declares for the message, as strings. */
      readonly fields: Readonly<Record<string, string>>;
    })
  | (Timed & { readonly type: 'resolveDispute'; readonly txId: string; readonly sellerSats: number })
  /** The buyer's evidence for a disputed transaction: other sellers' results for the same work. */
  | (Timed & { readonly type: 'submitEvidence'; readonly participant: string; readonly txId: string; readonly witnesses: readonly string[] })
  | (Timed & { readonly type: 'credit'; readonly participant: string; readonly amountSats: number })
  /** The server derived `address` for the core's next index (nextDepositIndex()); the core reserves it, or returns an unused one at the bound. */
  | (Timed & { readonly type: 'requestDepositAddress'; readonly participant: string; readonly index: number; readonly address: string })
  /** The chain watcher saw an output paying a deposit address (mempool or block); `depositId` is its outpoint `txid:vout`. */
  | (Timed & { readonly type: 'depositSeen'; readonly depositId: string; readonly address: string; readonly amountSats: number })
  /** The output reached its confirmations in this block: credited (spendable). */
  | (Timed & { readonly type: 'depositConfirmed'; readonly depositId: string; readonly block: ChainBlock })
  /** A pending deposit left the chain (replaced, double-spent, reorged out): nothing was spendable; the outpoint may recur. */
  | (Timed & { readonly type: 'depositDropped'; readonly depositId: string })
  /** A credited deposit's block was reorged out but the output is confirmed deeply enough in another one. */
  | (Timed & { readonly type: 'depositMoved'; readonly depositId: string; readonly block: ChainBlock })
  /** A credited deposit left the best chain: the credit is reversed (the account may owe money). */
  | (Timed & { readonly type: 'depositReversed'; readonly depositId: string })
  /** A credited deposit is buried deeply enough that it is no longer watched. */
  | (Timed & { readonly type: 'depositFinal'; readonly depositId: string })
  /** The participant's withdrawal to `destination` (validated and normalised by the server); `key` makes it idempotent. */
  | (Timed & { readonly type: 'requestWithdrawal'; readonly participant: string; readonly key: string; readonly destination: string; readonly amountSats: number })
  /** The admin's withdrawal rules (daily limit, manual review threshold, delay for new destinations). */
  | (Timed & { readonly type: 'setWithdrawalPolicy'; readonly policy: WithdrawalPolicy })
  /** The payout processor or the operator moves a withdrawal one step (the machine decides whether it may). */
  | (Timed & { readonly type: 'withdrawalStep'; readonly withdrawalId: string; readonly step: WithdrawalEvent })
  /**
   * The payout processor batches approved withdrawals into one transaction: `batchId` is the
   * core's next (nextBatchId()), `changeIndex` its next change index; the PSBT pays each
   * withdrawal exactly, `changeSats` back, and `feeSats` = inputs − withdrawals − change.
   */
  | (Timed & { readonly type: 'payoutBatch'; readonly batchId: string; readonly withdrawalIds: readonly string[]; readonly inputs: readonly BatchInput[]; readonly changeIndex: number; readonly unsigned: UnsignedPayout })
  /** A fee bump (RBF) of the batch's last candidate: the same inputs and outputs, less change. */
  | (Timed & { readonly type: 'payoutBump'; readonly batchId: string; readonly unsigned: UnsignedPayout })
  /** The payer's signature, checked against the unsigned PSBT by the processor: recorded before any broadcast. */
  | (Timed & { readonly type: 'payoutSigned'; readonly batchId: string; readonly txid: string; readonly rawHex: string })
  /** One step for every withdrawal of a batch (the chain as the processor saw it, or the operator's FAIL). */
  | (Timed & { readonly type: 'payoutBatchStep'; readonly batchId: string; readonly step: PayoutBatchStep })
  | (Timed & { readonly type: 'freezeAccount'; readonly participant: string })
  | (Timed & { readonly type: 'unfreezeAccount'; readonly participant: string });

export type MarketCommandType = MarketCommand['type'];
/** A command before its time is set (distributes over the union, unlike a plain Omit). */
export type UntimedCommand = MarketCommand extends infer C ? (C extends MarketCommand ? Omit<C, 'nowMs'> : never) : never;
export type CommandOf<T extends MarketCommandType> = Extract<MarketCommand, { readonly type: T }>;

export type CoreEvent =
  | TransferEvent
  | { readonly type: 'articleDefined'; readonly article: ArticleSpec }
  | {
      readonly type: 'bidAccepted';
      readonly bidId: string;
      readonly participant: string;
      readonly article: string;
      readonly side: BidSide;
      readonly priceSats: number;
      readonly feeSats: number;
      readonly holdSats: number;
      readonly expiresMs: number;
    }
  | { readonly type: 'bidPlaced'; readonly bidId: string }
  | { readonly type: 'bidExpired'; readonly bidId: string; readonly atMs: number }
  | { readonly type: 'bidWithdrawn'; readonly bidId: string; readonly atMs: number }
  | {
      readonly type: 'trade';
      readonly txId: string;
      readonly article: string;
      readonly buyBidId: string;
      readonly sellBidId: string;
      /** The earlier bid, whose price is the trade price. */
      readonly restingBidId: string;
      readonly buyer: string;
      readonly seller: string;
      readonly priceSats: number;
      readonly feeSats: number;
      readonly atMs: number;
      readonly deadlineMs: number;
    }
  | {
      readonly type: 'txMessageAccepted';
      readonly txId: string;
      readonly message: TxMessageType;
      readonly from: TxPhase;
      readonly to: TxPhase;
      readonly deadlineMs: number;
      readonly revision: number;
    }
  | {
      readonly type: 'txRetired';
      readonly txId: string;
      readonly phase: TxPhase;
      readonly atMs: number;
      readonly sellerSats: number;
      readonly feeSats: number;
      readonly refundSats: number;
      readonly byArbiter: boolean;
      /** Settled by the majority of independent results (submitEvidence). */
      readonly byEvidence: boolean;
    }
  | {
      readonly type: 'depositAddressReserved';
      readonly participant: string;
      readonly index: number;
      readonly address: string;
      /** False when the participant had the most unused addresses allowed and got its newest again. */
      readonly fresh: boolean;
    }
  | {
      readonly type: 'deposit';
      readonly depositId: string;
      readonly participant: string;
      readonly address: string;
      readonly amountSats: number;
      readonly change: DepositChange;
      /** The block credited in (credited, moved, final); null otherwise. */
      readonly block: ChainBlock | null;
    }
  /** A reversed deposit left the available balance negative: the account is frozen until it is repaid. */
  | { readonly type: 'accountOverdrawn'; readonly participant: string; readonly availableSats: number }
  | {
      readonly type: 'withdrawal';
      readonly withdrawalId: string;
      readonly participant: string;
      readonly state: WithdrawalValue;
      readonly destination: string;
      readonly amountSats: number;
      readonly txid: string | null;
      /** A request that repeated an earlier one (same key and body): nothing changed. */
      readonly repeated: boolean;
    }
  | { readonly type: 'withdrawalPolicySet'; readonly policy: WithdrawalPolicy }
  | {
      readonly type: 'payoutBatch';
      readonly batchId: string;
      readonly change: 'created' | 'bump' | 'signed' | PayoutBatchStep['type'];
      readonly withdrawalIds: readonly string[];
      /** The candidate signed or confirmed, where there is one. */
      readonly txid: string | null;
    }
  | { readonly type: 'accountFrozen'; readonly participant: string }
  | { readonly type: 'accountUnfrozen'; readonly participant: string };

export type CommandResult =
  | { readonly status: 'accepted'; readonly events: readonly CoreEvent[] }
  | {
      readonly status: 'rejected';
      readonly rejection: RejectionName;
      readonly code: number;
      /** Deadlines that fell due up to the command's time fire even when it is rejected. */
      readonly events: readonly CoreEvent[];
    };

// The daemon's trade machines: one purchase (buy) or one sale (sell) as the daemon sees it. The
// machines decide which fact moves a trade where; trade-logic.ts adds what to do in each state
// (the effects) and drops facts about an earlier bid or transaction; the daemon's executors
// (src/daemon/buyer.ts, seller.ts) and the simulator's (sim/agents.ts) do that I/O and report back
// with facts. Every context is plain data, persisted after each step, so a restarted daemon
// resumes a trade from its state (docs/daemon.md, "Durability").
//
// Buy:  clearance ─CLEARED─▶ bidding ─BID_PLACED─▶ bidPlaced ─MATCHED─▶ matched ─SELLER_READY─▶
//       transferring ─RESULT_RECEIVED─▶ receipted ─KEY─▶ verifying ─VERIFIED─▶ done
//       clearance ─LOCAL─▶ local ─VERIFIED─▶ done      (a worker of this daemon, no market, no money)
//       bid expired: bidding again; a failed transaction: a new bid while attempts remain, else failed.
// Sell: bidding ─BID_PLACED─▶ bidPlaced ─MATCHED─▶ matched ─WORK_RECEIVED─▶ working ─RESULT_READY─▶
//       delivering ─RECEIPT─▶ receipted ─PUBLISHED─▶ done;  bidPlaced ─BID_ENDED─▶ ended;  any ─FAIL─▶ failed
import { AVOID_SELLERS_MAX } from '../market/limits.js';
import { defineFlatMachine, updateFor } from './flat-machine.js';
import type { MachineState } from './flat-machine.js';

export type BuyValue =
  | 'clearance'
  | 'bidding'
  | 'bidPlaced'
  | 'matched'
  | 'transferring'
  | 'receipted'
  | 'verifying'
  | 'local'
  | 'done'
  | 'failed';

export interface BuyContext {
  readonly tradeId: string;
  readonly article: string;
  readonly workFileKey: string;
  readonly workSize: number;
  readonly createdMs: number;
  readonly updatedMs: number;
  /** Price limit of the bid; null until cleared. */
  readonly priceSats: number | null;
  /** What cleared the buy: a mandate id, 'request' (explicit price) or 'local'. */
  readonly clearedBy: string | null;
  /** Bids placed so far (each failed transaction or expired bid costs one). */
  readonly attempts: number;
  readonly attemptsMax: number;
  readonly bidId: string | null;
  readonly txId: string | null;
  /** The matched transaction's seller, where the exchange said (null until matched). */
  readonly seller: string | null;
  /**
   * Sellers the next bid avoids: those the request named, and the seller of each attempt whose
   * transaction failed, so a retry goes to someone else (the newest AVOID_SELLERS_MAX kept).
   */
  readonly avoid: readonly string[];
  /** 32 random bytes, hex, fresh per transaction: sent to the seller only with the work. */
  readonly buyerSecret: string | null;
  readonly workerUrl: string | null;
  readonly encryptedFileKey: string | null;
  readonly resultKey: string | null;
  readonly resultFileKey: string | null;
  /** The matched transaction's price and fee (what the buyer pays, both held at the match). */
  readonly deal: Deal | null;
  /** When the current phase ends at the latest (ms), where known: a deadline of the actor host. */
  readonly phaseEndsMs: number | null;
  readonly error: string | null;
}

/** What a transaction costs: the buyer pays price + fee, the seller earns the price. */
export interface Deal {
  readonly priceSats: number;
  readonly feeSats: number;
}

export interface BuyInput {
  readonly tradeId: string;
  readonly article: string;
  readonly workFileKey: string;
  readonly workSize: number;
  readonly attemptsMax: number;
  readonly nowMs: number;
  /** How long clearance may wait for a mandate or a local worker (ms; 0: decide at once). */
  readonly clearanceWaitMs: number;
  /** Sellers not to buy from (e.g. those that failed this work before). */
  readonly avoid?: readonly string[];
}

type Timed = { readonly nowMs: number };
export type BuyEvent =
  | ({ readonly type: 'CLEARED'; readonly priceSats: number; readonly clearedBy: string } & Timed)
  | ({ readonly type: 'LOCAL'; readonly workerId: string } & Timed)
  /** `endsMs`: when the bid's lifetime ends. */
  | ({ readonly type: 'BID_PLACED'; readonly bidId: string; readonly endsMs: number } & Timed)
  | ({ readonly type: 'BID_ENDED'; readonly bidId: string; readonly reason: string } & Timed)
  | ({ readonly type: 'MATCHED'; readonly bidId: string; readonly txId: string; readonly buyerSecret: string; readonly deal?: Deal; readonly seller?: string } & Timed)
  /** The transaction's current phase deadline, as the exchange keeps it. */
  | ({ readonly type: 'TX_DEADLINE'; readonly txId: string; readonly deadlineMs: number } & Timed)
  | ({ readonly type: 'SELLER_READY'; readonly txId: string; readonly workerUrl: string } & Timed)
  | ({ readonly type: 'RESULT_RECEIVED'; readonly txId: string; readonly encryptedFileKey: string } & Timed)
  | ({ readonly type: 'KEY'; readonly txId: string; readonly resultKey: string } & Timed)
  /** `txId` null: checked from a local worker, no transaction. */
  /** `seller`: where the result came from, when not this transaction's seller (a witness's result, after the seller's was outvoted). */
  | ({ readonly type: 'VERIFIED'; readonly txId: string | null; readonly resultFileKey: string; readonly seller?: string } & Timed)
  /** `txId`: the transaction the failure is about (null: none, e.g. a refused bid). */
  | ({ readonly type: 'FAIL'; readonly txId: string | null; readonly reason: string } & Timed)
  | ({ readonly type: 'CANCEL'; readonly reason: string } & Timed);

export type BuyState = MachineState<BuyValue, BuyContext>;

const touch = <C extends { updatedMs: number }>(c: C, e: Timed): C => ({ ...c, updatedMs: e.nowMs });
/** The avoid list with `seller` added last (once), keeping the newest AVOID_SELLERS_MAX. */
export function avoiding(avoid: readonly string[] | undefined, seller: string | null): readonly string[] {
  const list = avoid ?? [];
  if (seller === null || list.includes(seller)) return list;
  return [...list, seller].slice(-AVOID_SELLERS_MAX);
}

/** Forgets the transaction a failure ended, so the next bid starts clean, and avoids its seller. */
const freshAttempt = (c: BuyContext, e: Extract<BuyEvent, { readonly type: 'BID_ENDED' | 'FAIL' }>): BuyContext => ({
  ...c,
  updatedMs: e.nowMs,
  bidId: null,
  txId: null,
  seller: null,
  avoid: avoiding(c.avoid, c.seller ?? null),
  buyerSecret: null,
  workerUrl: null,
  encryptedFileKey: null,
  resultKey: null,
  deal: null,
  phaseEndsMs: null,
  error: e.reason,
});

const buyUpdate = <T extends BuyEvent['type']>(types: readonly T[], update: (c: BuyContext, e: Extract<BuyEvent, { readonly type: T }>) => BuyContext) =>
  updateFor<BuyContext, BuyEvent, T>(types, update);
const sellUpdate = <T extends SellEvent['type']>(types: readonly T[], update: (c: SellContext, e: Extract<SellEvent, { readonly type: T }>) => SellContext) =>
  updateFor<SellContext, SellEvent, T>(types, update);

export const buyTradeMachine = defineFlatMachine({
  id: 'buyTrade',
  initial: 'clearance' as BuyValue,
  context: (input: BuyInput): BuyContext => ({
    tradeId: input.tradeId,
    article: input.article,
    workFileKey: input.workFileKey,
    workSize: input.workSize,
    createdMs: input.nowMs,
    updatedMs: input.nowMs,
    priceSats: null,
    clearedBy: null,
    attempts: 0,
    attemptsMax: input.attemptsMax,
    bidId: null,
    txId: null,
    seller: null,
    avoid: (input.avoid ?? []).slice(-AVOID_SELLERS_MAX),
    buyerSecret: null,
    workerUrl: null,
    encryptedFileKey: null,
    resultKey: null,
    resultFileKey: null,
    deal: null,
    phaseEndsMs: input.clearanceWaitMs > 0 ? input.nowMs + input.clearanceWaitMs : null,
    error: null,
  }),
  guards: {
    attemptsLeft: (c: BuyContext) => c.attempts < c.attemptsMax,
  },
  updates: {
    clear: buyUpdate(['CLEARED'], (c, e) => ({ ...touch(c, e), priceSats: e.priceSats, clearedBy: e.clearedBy, phaseEndsMs: null })),
    clearLocal: buyUpdate(['LOCAL'], (c, e) => ({ ...touch(c, e), clearedBy: `local:${e.workerId}`, phaseEndsMs: null })),
    placed: buyUpdate(['BID_PLACED'], (c, e) => ({ ...touch(c, e), bidId: e.bidId, attempts: c.attempts + 1, phaseEndsMs: e.endsMs })),
    matched: buyUpdate(['MATCHED'], (c, e) => ({ ...touch(c, e), txId: e.txId, seller: e.seller ?? null, buyerSecret: e.buyerSecret, deal: e.deal ?? null, phaseEndsMs: null })),
    deadline: buyUpdate(['TX_DEADLINE'], (c, e) => ({ ...c, phaseEndsMs: e.deadlineMs })),
    sellerReady: buyUpdate(['SELLER_READY'], (c, e) => ({ ...touch(c, e), workerUrl: e.workerUrl })),
    received: buyUpdate(['RESULT_RECEIVED'], (c, e) => ({ ...touch(c, e), encryptedFileKey: e.encryptedFileKey })),
    key: buyUpdate(['KEY'], (c, e) => ({ ...touch(c, e), resultKey: e.resultKey })),
    verified: buyUpdate(['VERIFIED'], (c, e) => ({ ...touch(c, e), resultFileKey: e.resultFileKey, seller: e.seller ?? c.seller, phaseEndsMs: null, error: null })),
    retry: buyUpdate(['BID_ENDED', 'FAIL'], freshAttempt),
    fail: buyUpdate(['BID_ENDED', 'FAIL', 'CANCEL'], (c, e) => ({ ...touch(c, e), phaseEndsMs: null, error: e.reason })),
  },
  states: {
    clearance: {
      on: {
        CLEARED: [{ target: 'bidding', actions: ['clear'] }],
        LOCAL: [{ target: 'local', actions: ['clearLocal'] }],
        CANCEL: [{ target: 'failed', actions: ['fail'] }],
      },
    },
    bidding: {
      on: {
        BID_PLACED: [{ target: 'bidPlaced', actions: ['placed'] }],
        FAIL: [{ target: 'failed', actions: ['fail'] }],
        CANCEL: [{ target: 'failed', actions: ['fail'] }],
      },
    },
    bidPlaced: {
      on: {
        MATCHED: [{ target: 'matched', actions: ['matched'] }],
        BID_ENDED: [
          { target: 'bidding', guard: 'attemptsLeft', actions: ['retry'] },
          { target: 'failed', actions: ['fail'] },
        ],
        CANCEL: [{ target: 'failed', actions: ['fail'] }],
      },
    },
    matched: {
      on: {
        SELLER_READY: [{ target: 'transferring', actions: ['sellerReady'] }],
        TX_DEADLINE: [{ actions: ['deadline'] }],
        FAIL: [
          { target: 'bidding', guard: 'attemptsLeft', actions: ['retry'] },
          { target: 'failed', actions: ['fail'] },
        ],
        CANCEL: [{ target: 'failed', actions: ['fail'] }],
      },
    },
    transferring: {
      on: {
        RESULT_RECEIVED: [{ target: 'receipted', actions: ['received'] }],
        TX_DEADLINE: [{ actions: ['deadline'] }],
        FAIL: [
          { target: 'bidding', guard: 'attemptsLeft', actions: ['retry'] },
          { target: 'failed', actions: ['fail'] },
        ],
        CANCEL: [{ target: 'failed', actions: ['fail'] }],
      },
    },
    receipted: {
      on: {
        KEY: [{ target: 'verifying', actions: ['key'] }],
        TX_DEADLINE: [{ actions: ['deadline'] }],
        FAIL: [
          { target: 'bidding', guard: 'attemptsLeft', actions: ['retry'] },
          { target: 'failed', actions: ['fail'] },
        ],
      },
    },
    verifying: {
      on: {
        VERIFIED: [{ target: 'done', actions: ['verified'] }],
        FAIL: [
          { target: 'bidding', guard: 'attemptsLeft', actions: ['retry'] },
          { target: 'failed', actions: ['fail'] },
        ],
      },
    },
    local: {
      on: {
        VERIFIED: [{ target: 'done', actions: ['verified'] }],
        FAIL: [{ target: 'failed', actions: ['fail'] }],
      },
    },
    done: { final: true },
    failed: { final: true },
  },
});

export type SellValue = 'bidding' | 'bidPlaced' | 'matched' | 'working' | 'delivering' | 'receipted' | 'done' | 'ended' | 'failed';

export interface SellContext {
  readonly tradeId: string;
  readonly article: string;
  readonly workerId: string;
  readonly priceSats: number;
  readonly mandateId: string;
  readonly createdMs: number;
  readonly updatedMs: number;
  readonly bidId: string | null;
  readonly txId: string | null;
  readonly buyer: string | null;
  readonly workFileKey: string | null;
  readonly buyerSecret: string | null;
  /** The encrypted result (a CAFS file) and its one-time key, kept until the receipt. */
  readonly encryptedFileKey: string | null;
  readonly resultKey: string | null;
  /** SHA-256 of the plain result: the seller's commitment, published with the key. */
  readonly resultHash: string | null;
  readonly receipt: string | null;
  /** The matched transaction's price (what this sale earns) and the buyer's fee. */
  readonly deal: Deal | null;
  /** When the current phase ends at the latest (ms), where known: a deadline of the actor host. */
  readonly phaseEndsMs: number | null;
  readonly error: string | null;
}

export interface SellInput {
  readonly tradeId: string;
  readonly article: string;
  readonly workerId: string;
  readonly priceSats: number;
  readonly mandateId: string;
  readonly nowMs: number;
}

export type SellEvent =
  | ({ readonly type: 'BID_PLACED'; readonly bidId: string; readonly endsMs: number } & Timed)
  | ({ readonly type: 'BID_ENDED'; readonly bidId: string; readonly reason: string } & Timed)
  | ({ readonly type: 'MATCHED'; readonly bidId: string; readonly txId: string; readonly buyer: string; readonly deal?: Deal } & Timed)
  | ({ readonly type: 'TX_DEADLINE'; readonly txId: string; readonly deadlineMs: number } & Timed)
  | ({ readonly type: 'WORK_RECEIVED'; readonly txId: string; readonly workFileKey: string; readonly buyerSecret: string } & Timed)
  | ({ readonly type: 'RESULT_READY'; readonly txId: string; readonly encryptedFileKey: string; readonly resultKey: string; readonly resultHash: string } & Timed)
  | ({ readonly type: 'RECEIPT'; readonly txId: string; readonly receipt: string } & Timed)
  | ({ readonly type: 'PUBLISHED'; readonly txId: string } & Timed)
  /**
   * `txId`: the transaction it is about (null: none). `blame`: 'self' when this daemon failed (its
   * worker, its link: the worker is blocked a while), 'peer' when the buyer or the exchange ended it.
   */
  | ({ readonly type: 'FAIL'; readonly txId: string | null; readonly reason: string; readonly blame: 'self' | 'peer' } & Timed);

export type SellState = MachineState<SellValue, SellContext>;

export const sellTradeMachine = defineFlatMachine({
  id: 'sellTrade',
  initial: 'bidding' as SellValue,
  context: (input: SellInput): SellContext => ({
    tradeId: input.tradeId,
    article: input.article,
    workerId: input.workerId,
    priceSats: input.priceSats,
    mandateId: input.mandateId,
    createdMs: input.nowMs,
    updatedMs: input.nowMs,
    bidId: null,
    txId: null,
    buyer: null,
    workFileKey: null,
    buyerSecret: null,
    encryptedFileKey: null,
    resultKey: null,
    resultHash: null,
    receipt: null,
    deal: null,
    phaseEndsMs: null,
    error: null,
  }),
  guards: {},
  updates: {
    placed: sellUpdate(['BID_PLACED'], (c, e) => ({ ...touch(c, e), bidId: e.bidId, phaseEndsMs: e.endsMs })),
    matched: sellUpdate(['MATCHED'], (c, e) => ({ ...touch(c, e), txId: e.txId, buyer: e.buyer, deal: e.deal ?? null, phaseEndsMs: null })),
    deadline: sellUpdate(['TX_DEADLINE'], (c, e) => ({ ...c, phaseEndsMs: e.deadlineMs })),
    work: sellUpdate(['WORK_RECEIVED'], (c, e) => ({ ...touch(c, e), workFileKey: e.workFileKey, buyerSecret: e.buyerSecret })),
    result: sellUpdate(['RESULT_READY'], (c, e) => ({ ...touch(c, e), encryptedFileKey: e.encryptedFileKey, resultKey: e.resultKey, resultHash: e.resultHash })),
    receipt: sellUpdate(['RECEIPT'], (c, e) => ({ ...touch(c, e), receipt: e.receipt })),
    touch: sellUpdate(['PUBLISHED'], (c, e) => ({ ...touch(c, e), phaseEndsMs: null })),
    fail: sellUpdate(['BID_ENDED', 'FAIL'], (c, e) => ({ ...touch(c, e), phaseEndsMs: null, error: e.reason })),
  },
  states: {
    bidding: {
      on: {
        BID_PLACED: [{ target: 'bidPlaced', actions: ['placed'] }],
        FAIL: [{ target: 'failed', actions: ['fail'] }],
      },
    },
    bidPlaced: {
      on: {
        MATCHED: [{ target: 'matched', actions: ['matched'] }],
        BID_ENDED: [{ target: 'ended', actions: ['fail'] }],
        FAIL: [{ target: 'failed', actions: ['fail'] }],
      },
    },
    matched: {
      on: {
        WORK_RECEIVED: [{ target: 'working', actions: ['work'] }],
        TX_DEADLINE: [{ actions: ['deadline'] }],
        FAIL: [{ target: 'failed', actions: ['fail'] }],
      },
    },
    working: {
      on: {
        RESULT_READY: [{ target: 'delivering', actions: ['result'] }],
        TX_DEADLINE: [{ actions: ['deadline'] }],
        FAIL: [{ target: 'failed', actions: ['fail'] }],
      },
    },
    delivering: {
      on: {
        RECEIPT: [{ target: 'receipted', actions: ['receipt'] }],
        TX_DEADLINE: [{ actions: ['deadline'] }],
        FAIL: [{ target: 'failed', actions: ['fail'] }],
      },
    },
    receipted: {
      on: {
        PUBLISHED: [{ target: 'done', actions: ['touch'] }],
        TX_DEADLINE: [{ actions: ['deadline'] }],
        FAIL: [{ target: 'failed', actions: ['fail'] }],
      },
    },
    done: { final: true },
    ended: { final: true },
    failed: { final: true },
  },
});

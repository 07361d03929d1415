// The daemon's trade machines: one purchase (buy) or one sale (sell) as the daemon sees it. The
// machines decide; the daemon's drivers (src/daemon/buyer.ts, seller.ts) do the I/O each state
// asks for and report back with events. Every context is plain data, persisted after each step,
// so a restarted daemon resumes a trade from its state (docs/daemon.md, "Durability").
//
// Buy:  clearance ─CLEARED─▶ bidding ─BID_PLACED─▶ bidPlaced ─MATCHED─▶ matched ─SELLER_READY─▶
//       transferring ─RESULT_RECEIVED─▶ receipted ─KEY─▶ verifying ─VERIFIED─▶ done
//       clearance ─LOCAL─▶ local ─VERIFIED─▶ done      (a worker of this daemon, no market, no money)
//       bid expired: bidding again; a failed transaction: a new bid while attempts remain, else failed.
// Sell: bidding ─BID_PLACED─▶ bidPlaced ─MATCHED─▶ matched ─WORK_RECEIVED─▶ working ─RESULT_READY─▶
//       delivering ─RECEIPT─▶ receipted ─PUBLISHED─▶ done;  bidPlaced ─BID_ENDED─▶ ended;  any ─FAIL─▶ failed
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
  /** 32 random bytes, hex, fresh per transaction: sent to the seller only with the work. */
  readonly buyerSecret: string | null;
  readonly workerUrl: string | null;
  readonly encryptedFileKey: string | null;
  readonly resultKey: string | null;
  readonly resultFileKey: string | null;
  /** The matched transaction's price and fee (what the buyer pays, both held at the match). */
  readonly deal: Deal | null;
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
}

type Timed = { readonly nowMs: number };
export type BuyEvent =
  | ({ readonly type: 'CLEARED'; readonly priceSats: number; readonly clearedBy: string } & Timed)
  | ({ readonly type: 'LOCAL'; readonly workerId: string } & Timed)
  | ({ readonly type: 'BID_PLACED'; readonly bidId: string } & Timed)
  | ({ readonly type: 'BID_ENDED'; readonly reason: string } & Timed)
  | ({ readonly type: 'MATCHED'; readonly txId: string; readonly buyerSecret: string; readonly deal?: Deal } & Timed)
  | ({ readonly type: 'SELLER_READY'; readonly workerUrl: string } & Timed)
  | ({ readonly type: 'RESULT_RECEIVED'; readonly encryptedFileKey: string } & Timed)
  | ({ readonly type: 'KEY'; readonly resultKey: string } & Timed)
  | ({ readonly type: 'VERIFIED'; readonly resultFileKey: string } & Timed)
  | ({ readonly type: 'FAIL'; readonly reason: string } & Timed)
  | ({ readonly type: 'CANCEL'; readonly reason: string } & Timed);

export type BuyState = MachineState<BuyValue, BuyContext>;

const touch = <C extends { updatedMs: number }>(c: C, e: Timed): C => ({ ...c, updatedMs: e.nowMs });
/** Forgets the transaction a failure ended, so the next bid starts clean. */
const freshAttempt = (c: BuyContext, e: Extract<BuyEvent, { readonly type: 'BID_ENDED' | 'FAIL' }>): BuyContext => ({
  ...c,
  updatedMs: e.nowMs,
  bidId: null,
  txId: null,
  buyerSecret: null,
  workerUrl: null,
  encryptedFileKey: null,
  resultKey: null,
  deal: null,
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
    buyerSecret: null,
    workerUrl: null,
    encryptedFileKey: null,
    resultKey: null,
    resultFileKey: null,
    deal: null,
    error: null,
  }),
  guards: {
    attemptsLeft: (c: BuyContext) => c.attempts < c.attemptsMax,
  },
  updates: {
    clear: buyUpdate(['CLEARED'], (c, e) => ({ ...touch(c, e), priceSats: e.priceSats, clearedBy: e.clearedBy })),
    clearLocal: buyUpdate(['LOCAL'], (c, e) => ({ ...touch(c, e), clearedBy: `local:${e.workerId}` })),
    placed: buyUpdate(['BID_PLACED'], (c, e) => ({ ...touch(c, e), bidId: e.bidId, attempts: c.attempts + 1 })),
    matched: buyUpdate(['MATCHED'], (c, e) => ({ ...touch(c, e), txId: e.txId, buyerSecret: e.buyerSecret, deal: e.deal ?? null })),
    sellerReady: buyUpdate(['SELLER_READY'], (c, e) => ({ ...touch(c, e), workerUrl: e.workerUrl })),
    received: buyUpdate(['RESULT_RECEIVED'], (c, e) => ({ ...touch(c, e), encryptedFileKey: e.encryptedFileKey })),
    key: buyUpdate(['KEY'], (c, e) => ({ ...touch(c, e), resultKey: e.resultKey })),
    verified: buyUpdate(['VERIFIED'], (c, e) => ({ ...touch(c, e), resultFileKey: e.resultFileKey, error: null })),
    retry: buyUpdate(['BID_ENDED', 'FAIL'], freshAttempt),
    fail: buyUpdate(['BID_ENDED', 'FAIL', 'CANCEL'], (c, e) => ({ ...touch(c, e), error: e.reason })),
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
        FAIL: [
          { target: 'bidding', guard: 'attemptsLeft', actions: ['retry'] },
          { target: 'failed', actions: ['fail'] },
        ],
      },
    },
    transferring: {
      on: {
        RESULT_RECEIVED: [{ target: 'receipted', actions: ['received'] }],
        FAIL: [
          { target: 'bidding', guard: 'attemptsLeft', actions: ['retry'] },
          { target: 'failed', actions: ['fail'] },
        ],
      },
    },
    receipted: {
      on: {
        KEY: [{ target: 'verifying', actions: ['key'] }],
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
  readonly receipt: string | null;
  /** The matched transaction's price (what this sale earns) and the buyer's fee. */
  readonly deal: Deal | null;
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
  | ({ readonly type: 'BID_PLACED'; readonly bidId: string } & Timed)
  | ({ readonly type: 'BID_ENDED'; readonly reason: string } & Timed)
  | ({ readonly type: 'MATCHED'; readonly txId: string; readonly buyer: string; readonly deal?: Deal } & Timed)
  | ({ readonly type: 'WORK_RECEIVED'; readonly workFileKey: string; readonly buyerSecret: string } & Timed)
  | ({ readonly type: 'RESULT_READY'; readonly encryptedFileKey: string; readonly resultKey: string } & Timed)
  | ({ readonly type: 'RECEIPT'; readonly receipt: string } & Timed)
  | ({ readonly type: 'PUBLISHED' } & Timed)
  | ({ readonly type: 'FAIL'; readonly reason: string } & Timed);

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
    receipt: null,
    deal: null,
    error: null,
  }),
  guards: {},
  updates: {
    placed: sellUpdate(['BID_PLACED'], (c, e) => ({ ...touch(c, e), bidId: e.bidId })),
    matched: sellUpdate(['MATCHED'], (c, e) => ({ ...touch(c, e), txId: e.txId, buyer: e.buyer, deal: e.deal ?? null })),
    work: sellUpdate(['WORK_RECEIVED'], (c, e) => ({ ...touch(c, e), workFileKey: e.workFileKey, buyerSecret: e.buyerSecret })),
    result: sellUpdate(['RESULT_READY'], (c, e) => ({ ...touch(c, e), encryptedFileKey: e.encryptedFileKey, resultKey: e.resultKey })),
    receipt: sellUpdate(['RECEIPT'], (c, e) => ({ ...touch(c, e), receipt: e.receipt })),
    touch: sellUpdate(['PUBLISHED'], (c, e) => touch(c, e)),
    fail: sellUpdate(['BID_ENDED', 'FAIL'], (c, e) => ({ ...touch(c, e), error: e.reason })),
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
        FAIL: [{ target: 'failed', actions: ['fail'] }],
      },
    },
    working: {
      on: {
        RESULT_READY: [{ target: 'delivering', actions: ['result'] }],
        FAIL: [{ target: 'failed', actions: ['fail'] }],
      },
    },
    delivering: {
      on: {
        RECEIPT: [{ target: 'receipted', actions: ['receipt'] }],
        FAIL: [{ target: 'failed', actions: ['fail'] }],
      },
    },
    receipted: {
      on: {
        PUBLISHED: [{ target: 'done', actions: ['touch'] }],
        FAIL: [{ target: 'failed', actions: ['fail'] }],
      },
    },
    done: { final: true },
    ended: { final: true },
    failed: { final: true },
  },
});

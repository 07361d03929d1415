// The transaction machine: created by a match, driven by the buyer's and the seller's signed
// messages, retired by its deadline. Phases and their rules follow the original BitWrk
// (reference §2.5) with two changes, both in docs/market-rules.md:
//   * rejectresult leads to RESULT_DISPUTED (the original sent it to WORK_DISPUTED and refunded the
//     buyer, who already held the result key); the funds stay held until an arbiter decides or
//     the dispute window ends, and then neither side gets the price (the exchange keeps it).
//   * acceptresult is taken only in UNVERIFIED, so that a seller is never paid without the
//     buyer's signed receipt.
// Deadlines are absolute times in the context; the core keeps its own deadline queue and sends
// RETIRE when one falls due (no XState `after` timers: their scheduler reads the wall clock).
// Who may send which message, and the field checks, live in src/market/tx-messages.ts; the
// guards here repeat the checks that decide a transition (pair assertions with the core).
import { createHash } from 'node:crypto';
import { defineFlatMachine, updateFor } from './flat-machine.js';
import type { MachineState, TransitionSpec } from './flat-machine.js';

export const TX_PHASES = [
  'ESTABLISHING',
  'BUYER_ESTABLISHED',
  'SELLER_ESTABLISHED',
  'TRANSMITTING',
  'WORKING',
  'UNVERIFIED',
  'FINISHED',
  'WORK_DISPUTED',
  'RESULT_DISPUTED',
] as const;
export type TxPhase = (typeof TX_PHASES)[number];
export type TxValue = TxPhase | 'RETIRED';

/** Time a new transaction has to get going. */
export const TX_ESTABLISH_MS = 60_000;
/** Added to the deadline on reaching TRANSMITTING, WORKING and UNVERIFIED. */
export const TX_TRANSMITTING_GRANT_MS = 2 * 60_000;
export const TX_WORKING_GRANT_MS = 5 * 60_000;
export const TX_UNVERIFIED_GRANT_MS = 15 * 60_000;
/** How long an arbiter has to decide a RESULT_DISPUTED transaction, from the rejection. */
export const TX_DISPUTE_WINDOW_MS = 7 * 24 * 60 * 60_000;

export interface TxSettlement {
  readonly sellerSats: number;
  readonly feeSats: number;
  readonly refundSats: number;
}

export interface TxContext {
  readonly txId: string;
  readonly seq: number;
  readonly article: string;
  readonly buyer: string;
  readonly seller: string;
  readonly buyBidId: string;
  readonly sellBidId: string;
  readonly priceSats: number;
  readonly feeSats: number;
  readonly createdMs: number;
  readonly deadlineMs: number;
  /** +1 on every accepted message and on retirement. */
  readonly revision: number;
  readonly workHash: string | null;
  readonly workSecretHash: string | null;
  readonly workerUrl: string | null;
  readonly buyerSecret: string | null;
  readonly encResultHash: string | null;
  readonly encResultHashSig: string | null;
  readonly encResultKey: string | null;
  /** The seller's signed commitment to the SHA-256 of the plain result (what evidence compares). */
  readonly resultHash: string | null;
  readonly rejectReason: string | null;
  readonly retiredPhase: TxPhase | null;
  readonly retiredMs: number | null;
  readonly settlement: TxSettlement | null;
}

export type TxInput = Pick<
  TxContext,
  'txId' | 'seq' | 'article' | 'buyer' | 'seller' | 'buyBidId' | 'sellBidId' | 'priceSats' | 'feeSats' | 'createdMs'
>;

export type TxEvent =
  | { readonly type: 'WORK'; readonly nowMs: number; readonly workHash: string; readonly workSecretHash: string }
  | { readonly type: 'WORKER_URL'; readonly nowMs: number; readonly workerUrl: string }
  | { readonly type: 'BUYER_SECRET'; readonly nowMs: number; readonly buyerSecret: string }
  | { readonly type: 'REJECT_WORK'; readonly nowMs: number; readonly reason: string }
  | {
      readonly type: 'ENC_RESULT';
      readonly nowMs: number;
      readonly encResultHash: string;
      readonly encResultHashSig: string;
      readonly encResultKey: string;
      readonly resultHash: string;
      /** The core checked encResultHashSig against the buyer's address (verifyReceipt). */
      readonly receiptVerified: boolean;
    }
  | { readonly type: 'REJECT_RESULT'; readonly nowMs: number; readonly reason: string }
  | { readonly type: 'ACCEPT_RESULT'; readonly nowMs: number }
  | { readonly type: 'RETIRE'; readonly nowMs: number }
  | { readonly type: 'RESOLVE_DISPUTE'; readonly nowMs: number; readonly sellerSats: number };

export type TxState = MachineState<TxValue, TxContext>;

/** SHA-256(workHash ‖ secret) over the raw 32-byte values, as hex: the buyer's commitment. */
export function workSecretHashOf(workHashHex: string, secretHex: string): string {
  return createHash('sha256').update(Buffer.from(workHashHex + secretHex, 'hex')).digest('hex');
}

/** Who gets what when a transaction retires in `phase` (sellerSats given by an arbiter only). */
export function settlementFor(context: TxContext, phase: TxPhase, arbiterSellerSats: number | null): TxSettlement {
  const { priceSats, feeSats } = context;
  if (arbiterSellerSats !== null) {
    return { sellerSats: arbiterSellerSats, feeSats, refundSats: priceSats - arbiterSellerSats };
  }
  // The receipt stands: delivered (UNVERIFIED, the buyer stayed silent) or accepted (FINISHED).
  if (phase === 'FINISHED' || phase === 'UNVERIFIED') {
    return { sellerSats: priceSats, feeSats, refundSats: 0 };
  }
  // Disputed and nobody decided: neither side gets the price, so neither gains by forcing a
  // dispute (a seller by delivering garbage, a buyer by rejecting good work); the exchange keeps
  // it with the fee (docs/market-rules.md §6 says why).
  if (phase === 'RESULT_DISPUTED') {
    return { sellerSats: 0, feeSats: feeSats + priceSats, refundSats: 0 };
  }
  return { sellerSats: 0, feeSats: 0, refundSats: priceSats + feeSats };
}

function newTxContext(input: TxInput): TxContext {
  return {
    txId: input.txId,
    seq: input.seq,
    article: input.article,
    buyer: input.buyer,
    seller: input.seller,
    buyBidId: input.buyBidId,
    sellBidId: input.sellBidId,
    priceSats: input.priceSats,
    feeSats: input.feeSats,
    createdMs: input.createdMs,
    deadlineMs: input.createdMs + TX_ESTABLISH_MS,
    revision: 0,
    workHash: null,
    workSecretHash: null,
    workerUrl: null,
    buyerSecret: null,
    encResultHash: null,
    encResultHashSig: null,
    encResultKey: null,
    resultHash: null,
    rejectReason: null,
    retiredPhase: null,
    retiredMs: null,
    settlement: null,
  };
}

const live = (context: TxContext, event: TxEvent): boolean => event.nowMs < context.deadlineMs;

type Guard = 'live' | 'liveSecretMatches' | 'liveReceiptVerified' | 'due' | 'validShare';
type Update =
  | 'bump'
  | 'recordWork'
  | 'recordWorkerUrl'
  | 'recordSecret'
  | 'recordResult'
  | 'recordReason'
  | 'grantTransmitting'
  | 'grantWorking'
  | 'grantUnverified'
  | 'retireNow'
  | 'openDispute'
  | 'resolveDispute'
  | `retire_${TxPhase}`;
type Candidates = readonly TransitionSpec<TxValue, Guard, Update>[];

const retireUpdates = Object.fromEntries(
  TX_PHASES.map((phase) => [
    `retire_${phase}`,
    (context: TxContext, event: TxEvent): TxContext => ({
      ...context,
      retiredPhase: phase,
      retiredMs: event.nowMs,
      revision: context.revision + 1,
      settlement: settlementFor(context, phase, null),
    }),
  ]),
) as { readonly [K in `retire_${TxPhase}`]: (context: TxContext, event: TxEvent) => TxContext };

const retireWhenDue = (phase: TxPhase): Candidates => [{ target: 'RETIRED', guard: 'due', actions: [`retire_${phase}`] }];
const message = (target: TxValue, guard: Guard, record?: Update): Candidates => [
  { target, guard, actions: record === undefined ? ['bump'] : ['bump', record] },
];

const txUpdates: { readonly [K in Update]: (context: TxContext, event: TxEvent) => TxContext } = {
  bump: (c: TxContext) => ({ ...c, revision: c.revision + 1 }),
  recordWork: updateFor<TxContext, TxEvent, 'WORK'>(['WORK'], (c, e) => ({ ...c, workHash: e.workHash, workSecretHash: e.workSecretHash })),
  recordWorkerUrl: updateFor<TxContext, TxEvent, 'WORKER_URL'>(['WORKER_URL'], (c, e) => ({ ...c, workerUrl: e.workerUrl })),
  recordSecret: updateFor<TxContext, TxEvent, 'BUYER_SECRET'>(['BUYER_SECRET'], (c, e) => ({ ...c, buyerSecret: e.buyerSecret })),
  recordResult: updateFor<TxContext, TxEvent, 'ENC_RESULT'>(['ENC_RESULT'], (c, e) => ({ ...c, encResultHash: e.encResultHash, encResultHashSig: e.encResultHashSig, encResultKey: e.encResultKey, resultHash: e.resultHash })),
  recordReason: updateFor<TxContext, TxEvent, 'REJECT_WORK' | 'REJECT_RESULT'>(['REJECT_WORK', 'REJECT_RESULT'], (c, e) => ({ ...c, rejectReason: e.reason })),
  grantTransmitting: (c: TxContext) => ({ ...c, deadlineMs: c.deadlineMs + TX_TRANSMITTING_GRANT_MS }),
  grantWorking: (c: TxContext) => ({ ...c, deadlineMs: c.deadlineMs + TX_WORKING_GRANT_MS }),
  grantUnverified: (c: TxContext) => ({ ...c, deadlineMs: c.deadlineMs + TX_UNVERIFIED_GRANT_MS }),
  retireNow: (c: TxContext, e: TxEvent) => ({ ...c, deadlineMs: e.nowMs }),
  openDispute: (c: TxContext, e: TxEvent) => ({ ...c, deadlineMs: e.nowMs + TX_DISPUTE_WINDOW_MS }),
  resolveDispute: updateFor<TxContext, TxEvent, 'RESOLVE_DISPUTE'>(['RESOLVE_DISPUTE'], (c, e) => ({
    ...c,
    retiredPhase: 'RESULT_DISPUTED' as const,
    retiredMs: e.nowMs,
    revision: c.revision + 1,
    settlement: settlementFor(c, 'RESULT_DISPUTED', e.sellerSats),
  })),
  ...retireUpdates
};

export const txMachine = defineFlatMachine({
  id: 'transaction',
  initial: 'ESTABLISHING' as TxValue,
  context: newTxContext,
  guards: {
    live,
    liveSecretMatches: (c: TxContext, e: TxEvent) =>
      live(c, e) && e.type === 'BUYER_SECRET' && c.workHash !== null && workSecretHashOf(c.workHash, e.buyerSecret) === c.workSecretHash,
    liveReceiptVerified: (c: TxContext, e: TxEvent) => live(c, e) && e.type === 'ENC_RESULT' && e.receiptVerified,
    due: (c: TxContext, e: TxEvent) => e.nowMs >= c.deadlineMs,
    validShare: (c: TxContext, e: TxEvent) =>
      e.type === 'RESOLVE_DISPUTE' && Number.isSafeInteger(e.sellerSats) && e.sellerSats >= 0 && e.sellerSats <= c.priceSats,
  },
  updates: txUpdates,
  states: {
    ESTABLISHING: {
      on: {
        WORK: message('BUYER_ESTABLISHED', 'live', 'recordWork'),
        WORKER_URL: message('SELLER_ESTABLISHED', 'live', 'recordWorkerUrl'),
        RETIRE: retireWhenDue('ESTABLISHING'),
      },
    },
    BUYER_ESTABLISHED: {
      on: {
        WORKER_URL: message('TRANSMITTING', 'live', 'recordWorkerUrl'),
        BUYER_SECRET: message('WORKING', 'liveSecretMatches', 'recordSecret'),
        RETIRE: retireWhenDue('BUYER_ESTABLISHED'),
      },
    },
    SELLER_ESTABLISHED: {
      on: {
        WORK: message('TRANSMITTING', 'live', 'recordWork'),
        REJECT_WORK: message('WORK_DISPUTED', 'live', 'recordReason'),
        RETIRE: retireWhenDue('SELLER_ESTABLISHED'),
      },
    },
    TRANSMITTING: {
      entry: ['grantTransmitting'],
      on: {
        BUYER_SECRET: message('WORKING', 'liveSecretMatches', 'recordSecret'),
        REJECT_WORK: message('WORK_DISPUTED', 'live', 'recordReason'),
        RETIRE: retireWhenDue('TRANSMITTING'),
      },
    },
    WORKING: {
      entry: ['grantWorking'],
      on: {
        ENC_RESULT: message('UNVERIFIED', 'liveReceiptVerified', 'recordResult'),
        REJECT_WORK: message('WORK_DISPUTED', 'live', 'recordReason'),
        RETIRE: retireWhenDue('WORKING'),
      },
    },
    UNVERIFIED: {
      entry: ['grantUnverified'],
      on: {
        ACCEPT_RESULT: message('FINISHED', 'live'),
        REJECT_RESULT: message('RESULT_DISPUTED', 'live', 'recordReason'),
        RETIRE: retireWhenDue('UNVERIFIED'),
      },
    },
    FINISHED: { entry: ['retireNow'], on: { RETIRE: retireWhenDue('FINISHED') } },
    WORK_DISPUTED: { entry: ['retireNow'], on: { RETIRE: retireWhenDue('WORK_DISPUTED') } },
    RESULT_DISPUTED: {
      entry: ['openDispute'],
      on: {
        RESOLVE_DISPUTE: [{ target: 'RETIRED', guard: 'validShare', actions: ['resolveDispute'] }],
        RETIRE: retireWhenDue('RESULT_DISPUTED'),
      },
    },
    RETIRED: { final: true },
  },
});

// The daemon's trade logic as a pure step: (state, fact) → (next state, effects). The machines
// (trade.ts) say which fact moves a trade where; this module adds the rest of the decision:
//
// - Stale facts are dropped. A fact about a bid or a transaction names it, and a fact about an
//   earlier bid or transaction (a late error from the previous peer session, an answer for a bid
//   that was withdrawn) never changes the current attempt; the step says so with an `ignored`
//   effect (a log line).
// - Deadlines: a phase that can wait forever has `phaseEndsMs`; the host sends TIMEOUT then, and
//   the step decides what that means in the phase (clearance: no permission; a resting bid: no
//   word of it; a transaction: the seller or the buyer went quiet).
// - Effects: what to do in each state (`entryEffects`, run again after a restore) and on each
//   transition (spend a mandate on the first bid, close the peer session of a transaction that is
//   over, block a worker that failed, log the end). Effects are plain data; the daemon's
//   executors (src/daemon/buyer.ts, seller.ts) and the simulator's (sim/agents.ts) carry them out
//   and report back with facts.
import { workSecretHashOf } from './transaction.js';
import { buyTradeMachine, sellTradeMachine } from './trade.js';
import type { BuyContext, BuyEvent, BuyInput, BuyState, SellEvent, SellInput, SellState } from './trade.js';
import { buyPhase, sellPhase } from './trade-phases.js';

/** Extra time past a bid's lifetime (or a transaction's deadline) before the trade stops waiting for word of it. */
export const WORD_GRACE_MS = 60_000;

/** The host's deadline fact: the phase's `phaseEndsMs` (plus grace) has come. */
export interface Timeout {
  readonly type: 'TIMEOUT';
  readonly nowMs: number;
}

export type BuyFact = BuyEvent | Timeout;
export type SellFact = SellEvent | Timeout;

/** What a buy trade asks its executor to do. */
export type BuyEffect =
  /** Clearance: a local worker, a mandate, or the request's price; answer CLEARED, LOCAL or CANCEL. */
  | { readonly type: 'seekClearance'; readonly article: string }
  | { readonly type: 'runLocal'; readonly workerId: string; readonly workFileKey: string }
  /** Answer BID_PLACED (or FAIL with txId null). `avoid`: sellers the bid must not be matched with. */
  | { readonly type: 'placeBid'; readonly article: string; readonly priceSats: number; readonly attempt: number; readonly avoid: readonly string[] }
  /** The first bid of a buy a mandate cleared spends one of its trades. */
  | { readonly type: 'useMandate'; readonly mandateId: string }
  /** A buy a mandate cleared ended before its first bid: the reserved trade is free again. */
  | { readonly type: 'releaseMandate'; readonly mandateId: string }
  /** Answer MATCHED or BID_ENDED for this bid. */
  | { readonly type: 'watchBid'; readonly bidId: string }
  | { readonly type: 'withdrawBid'; readonly bidId: string }
  /** Publish the work hash and its secret hash (unless published), then answer SELLER_READY. */
  | { readonly type: 'commitWork'; readonly txId: string; readonly workHash: string; readonly workSecretHash: string }
  /** Send the work and the secret to the seller; answer RESULT_RECEIVED. */
  | { readonly type: 'sendWork'; readonly txId: string; readonly workerUrl: string; readonly workFileKey: string; readonly buyerSecret: string }
  /** Sign the receipt; answer KEY (from the seller, or as published on the exchange). */
  | { readonly type: 'fetchKey'; readonly txId: string; readonly workerUrl: string; readonly encryptedFileKey: string }
  /** Decrypt and check; accept (answer VERIFIED) or reject (answer FAIL) on the exchange. */
  | { readonly type: 'verify'; readonly txId: string; readonly encryptedFileKey: string; readonly resultKey: string }
  /** This trade is done with the transaction: close its peer session. */
  | { readonly type: 'closeSession'; readonly txId: string }
  | { readonly type: 'ended'; readonly value: 'done' | 'failed'; readonly reason: string | null }
  | { readonly type: 'ignored'; readonly fact: string; readonly why: string };

/** What a sell trade asks its executor to do. */
export type SellEffect =
  | { readonly type: 'placeBid'; readonly article: string; readonly priceSats: number }
  | { readonly type: 'watchBid'; readonly bidId: string }
  | { readonly type: 'withdrawBid'; readonly bidId: string }
  | { readonly type: 'useMandate'; readonly mandateId: string }
  /** Tell the buyer where to find this seller (unless told); await the work (WORK_RECEIVED); FAIL when the transaction ends. */
  | { readonly type: 'announce'; readonly txId: string }
  /** Run the worker on the work; encrypt; answer RESULT_READY. */
  | { readonly type: 'runWorker'; readonly txId: string; readonly workerId: string; readonly workFileKey: string }
  /** Hand over the encrypted result; await the receipt (RECEIPT); FAIL when the transaction ends. */
  | { readonly type: 'awaitReceipt'; readonly txId: string }
  /** Publish the result hash, the receipt and the sealed key; answer PUBLISHED. */
  | { readonly type: 'publish'; readonly txId: string; readonly encryptedFileKey: string; readonly receipt: string; readonly resultKey: string; readonly resultHash: string }
  /** This side failed (its worker, its link): keep the worker from new bids a while. */
  | { readonly type: 'blockWorker'; readonly workerId: string; readonly reason: string }
  | { readonly type: 'ended'; readonly value: 'done' | 'ended' | 'failed'; readonly workerId: string; readonly reason: string | null }
  | { readonly type: 'ignored'; readonly fact: string; readonly why: string };

export interface TradeStep<S, F> {
  readonly state: S;
  readonly effects: readonly F[];
}

const buy = buyTradeMachine.compiled;
const sell = sellTradeMachine.compiled;

/** Why a fact is about another bid or transaction than the trade's current one, if it is. */
function staleness(context: { readonly bidId: string | null; readonly txId: string | null }, fact: BuyFact | SellFact): string | undefined {
  if ((fact.type === 'BID_ENDED' || fact.type === 'MATCHED') && fact.bidId !== context.bidId) return `it is about bid ${fact.bidId}, the trade's is ${context.bidId ?? 'none'}`;
  if ('txId' in fact && fact.type !== 'MATCHED' && fact.txId !== context.txId) return `it is about transaction ${fact.txId ?? 'none'}, the trade's is ${context.txId ?? 'none'}`;
  return undefined;
}

function describeFact(fact: BuyFact | SellFact): string {
  return 'reason' in fact ? `${fact.type} (${fact.reason})` : fact.type;
}

const isMandate = (clearedBy: string | null): clearedBy is string => clearedBy !== null && clearedBy !== 'request' && !clearedBy.startsWith('local:');

/** The machine event a buy's TIMEOUT stands for in its phase, if any. */
function buyTimeout(state: BuyState, nowMs: number): BuyEvent | undefined {
  const { value, context } = state;
  switch (value) {
    case 'clearance':
      return { type: 'CANCEL', nowMs, reason: `no permission to buy ${context.article}: create a buy mandate (POST /mandates) or give a price (?price=)` };
    case 'bidPlaced':
      return { type: 'BID_ENDED', nowMs, bidId: context.bidId ?? '', reason: `no word of bid ${context.bidId ?? ''} by the end of its lifetime` };
    case 'matched':
      return { type: 'FAIL', nowMs, txId: context.txId, reason: 'the seller never answered by the transaction\'s deadline' };
    case 'transferring':
      return { type: 'FAIL', nowMs, txId: context.txId, reason: 'the seller sent no result by the transaction\'s deadline' };
    default:
      return undefined; // a receipted buy waits for its key as long as the exchange keeps it
  }
}

const NO_SELLER = 'no seller took bid';

const EARLIER = '; the attempt before ended: ';

/**
 * A bid that ended unmatched, said truly: which attempt, why, and what an earlier attempt that was
 * matched ended with (carried over from attempt to attempt: "no seller" alone would be false).
 */
function noSellerReason(context: BuyContext, detail: string): string {
  const { attempts, attemptsMax, error } = context;
  let earlier = '';
  if (attempts > 1 && error !== null) earlier = error.startsWith(NO_SELLER) ? error.slice(error.indexOf(EARLIER) >= 0 ? error.indexOf(EARLIER) : error.length) : `${EARLIER}${error}`;
  return `${NO_SELLER} ${attempts} of ${attemptsMax} (${detail})${earlier}`;
}

/** Starts a buy trade: its first state and what to do in it. */
export function startBuy(input: BuyInput): TradeStep<BuyState, BuyEffect> {
  const state = buy.initial(input);
  return { state, effects: buyEntryEffects(state) };
}

/** One fact applied to a buy trade. */
export function stepBuy(state: BuyState, fact: BuyFact): TradeStep<BuyState, BuyEffect> {
  if (buy.isFinal(state.value)) return { state, effects: [] };
  const stale = fact.type === 'TIMEOUT' ? undefined : staleness(state.context, fact);
  if (stale !== undefined) return { state, effects: [{ type: 'ignored', fact: describeFact(fact), why: stale }] };
  let event: BuyEvent | undefined = fact.type === 'TIMEOUT' ? buyTimeout(state, fact.nowMs) : fact;
  // An expired bid's reason is the logic's to say: which attempt, and what went before.
  if (event?.type === 'BID_ENDED' && state.value === 'bidPlaced') event = { ...event, reason: noSellerReason(state.context, event.reason) };
  if (event === undefined) return { state, effects: [] };
  const next = buy.step(state, event);
  if (next === state) return { state, effects: [{ type: 'ignored', fact: describeFact(fact), why: `not in phase ${state.value}` }] };
  const effects: BuyEffect[] = [];
  const before = state.context;
  const after = next.context;
  if (fact.type === 'TIMEOUT' && state.value === 'bidPlaced' && before.bidId !== null) effects.push({ type: 'withdrawBid', bidId: before.bidId });
  if (before.txId !== null && after.txId !== before.txId) effects.push({ type: 'closeSession', txId: before.txId });
  if (event.type === 'BID_PLACED' && after.attempts === 1 && isMandate(after.clearedBy)) effects.push({ type: 'useMandate', mandateId: after.clearedBy });
  if (next.value !== state.value || after.attempts !== before.attempts) effects.push(...buyEntryEffects(next));
  return { state: next, effects };
}

/** What to do in the buy's state: on entering it, and again when a restarted daemon takes it up. */
export function buyEntryEffects(state: BuyState): BuyEffect[] {
  const phase = buyPhase(state);
  switch (phase.value) {
    case 'clearance':
      return [{ type: 'seekClearance', article: phase.context.article }];
    case 'local':
      return [{ type: 'runLocal', workerId: phase.context.clearedBy.slice('local:'.length), workFileKey: phase.context.workFileKey }];
    case 'bidding':
      // `?? []`: trades saved before avoid lists existed.
      return [{ type: 'placeBid', article: phase.context.article, priceSats: phase.context.priceSats, attempt: phase.context.attempts + 1, avoid: phase.context.avoid ?? [] }];
    case 'bidPlaced':
      return [{ type: 'watchBid', bidId: phase.context.bidId }];
    case 'matched': {
      const { txId, workFileKey, buyerSecret } = phase.context;
      return [{ type: 'commitWork', txId, workHash: workFileKey, workSecretHash: workSecretHashOf(workFileKey, buyerSecret) }];
    }
    case 'transferring': {
      const { txId, workerUrl, workFileKey, buyerSecret } = phase.context;
      return [{ type: 'sendWork', txId, workerUrl, workFileKey, buyerSecret }];
    }
    case 'receipted': {
      const { txId, workerUrl, encryptedFileKey } = phase.context;
      return [{ type: 'fetchKey', txId, workerUrl, encryptedFileKey }];
    }
    case 'verifying': {
      const { txId, encryptedFileKey, resultKey } = phase.context;
      return [{ type: 'verify', txId, encryptedFileKey, resultKey }];
    }
    case 'done':
    case 'failed': {
      const { context } = phase;
      const effects: BuyEffect[] = [];
      if (context.attempts === 0 && isMandate(context.clearedBy)) effects.push({ type: 'releaseMandate', mandateId: context.clearedBy });
      effects.push({ type: 'ended', value: phase.value, reason: context.error });
      return effects;
    }
  }
}

/** When the buy stops waiting in its phase (ms), if it has such a deadline. */
export function buyDeadlineMs(state: BuyState): number | undefined {
  const { value, context } = state;
  if (context.phaseEndsMs === null || context.phaseEndsMs === undefined || buy.isFinal(value)) return undefined;
  return value === 'clearance' ? context.phaseEndsMs : context.phaseEndsMs + WORD_GRACE_MS;
}

/** The machine event a sale's TIMEOUT stands for in its phase, if any. */
function sellTimeout(state: SellState, nowMs: number): SellEvent | undefined {
  const { value, context } = state;
  switch (value) {
    case 'bidPlaced':
      return { type: 'BID_ENDED', nowMs, bidId: context.bidId ?? '', reason: `no word of bid ${context.bidId ?? ''} by the end of its lifetime` };
    case 'matched':
      return { type: 'FAIL', nowMs, txId: context.txId, blame: 'peer', reason: 'the buyer never sent the work by the transaction\'s deadline' };
    case 'delivering':
      return { type: 'FAIL', nowMs, txId: context.txId, blame: 'peer', reason: 'no receipt from the buyer by the transaction\'s deadline' };
    default:
      return undefined; // working and publishing end by their own answers
  }
}

/** Starts a sell trade: its first state and what to do in it. */
export function startSell(input: SellInput): TradeStep<SellState, SellEffect> {
  const state = sell.initial(input);
  return { state, effects: sellEntryEffects(state) };
}

/** One fact applied to a sell trade. */
export function stepSell(state: SellState, fact: SellFact): TradeStep<SellState, SellEffect> {
  if (sell.isFinal(state.value)) return { state, effects: [] };
  const stale = fact.type === 'TIMEOUT' ? undefined : staleness(state.context, fact);
  if (stale !== undefined) return { state, effects: [{ type: 'ignored', fact: describeFact(fact), why: stale }] };
  const event = fact.type === 'TIMEOUT' ? sellTimeout(state, fact.nowMs) : fact;
  if (event === undefined) return { state, effects: [] };
  const next = sell.step(state, event);
  if (next === state) return { state, effects: [{ type: 'ignored', fact: describeFact(fact), why: `not in phase ${state.value}` }] };
  const effects: SellEffect[] = [];
  if (fact.type === 'TIMEOUT' && state.value === 'bidPlaced' && state.context.bidId !== null) effects.push({ type: 'withdrawBid', bidId: state.context.bidId });
  if (event.type === 'MATCHED') effects.push({ type: 'useMandate', mandateId: next.context.mandateId });
  if (event.type === 'FAIL' && event.blame === 'self') effects.push({ type: 'blockWorker', workerId: next.context.workerId, reason: event.reason });
  if (next.value !== state.value) effects.push(...sellEntryEffects(next));
  return { state: next, effects };
}

/** What to do in the sale's state: on entering it, and again when a restarted daemon takes it up. */
export function sellEntryEffects(state: SellState): SellEffect[] {
  const phase = sellPhase(state);
  switch (phase.value) {
    case 'bidding':
      return [{ type: 'placeBid', article: phase.context.article, priceSats: phase.context.priceSats }];
    case 'bidPlaced':
      return [{ type: 'watchBid', bidId: phase.context.bidId }];
    case 'matched':
      return [{ type: 'announce', txId: phase.context.txId }];
    case 'working':
      return [{ type: 'runWorker', txId: phase.context.txId, workerId: phase.context.workerId, workFileKey: phase.context.workFileKey }];
    case 'delivering':
      return [{ type: 'awaitReceipt', txId: phase.context.txId }];
    case 'receipted': {
      const { txId, encryptedFileKey, receipt, resultKey, resultHash } = phase.context;
      return [{ type: 'publish', txId, encryptedFileKey, receipt, resultKey, resultHash }];
    }
    case 'done':
    case 'ended':
    case 'failed':
      return [{ type: 'ended', value: phase.value, workerId: phase.context.workerId, reason: phase.context.error }];
  }
}

/** When the sale stops waiting in its phase (ms), if it has such a deadline. */
export function sellDeadlineMs(state: SellState): number | undefined {
  const { value, context } = state;
  if (context.phaseEndsMs === null || context.phaseEndsMs === undefined || sell.isFinal(value)) return undefined;
  return context.phaseEndsMs + WORD_GRACE_MS;
}


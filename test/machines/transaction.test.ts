// Goal: the transaction machine follows the phase table (reference §2.5, with our two changes:
// rejectresult → RESULT_DISPUTED, acceptresult only from UNVERIFIED), grants the deadlines,
// checks the work secret and the receipt flag, refuses everything after the deadline, and
// settles each retirement by the documented money rule. Method: the full phase × event table,
// every line stepped through XState's transition() and the compiled stepper alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { transition } from 'xstate';
import {
  settlementFor,
  TX_DISPUTE_WINDOW_MS,
  TX_ESTABLISH_MS,
  TX_PHASES,
  txMachine,
  workSecretHashOf,
} from '../../src/machines/transaction.js';
import type { TxContext, TxEvent, TxPhase, TxState, TxValue } from '../../src/machines/transaction.js';

const WORK = '11'.repeat(32);
const SECRET = '22'.repeat(32);
const T0 = 1_000_000;
const INPUT = {
  txId: 't1', seq: 1, article: 'fnord', buyer: '1Buyer', seller: '1Seller', buyBidId: 'b1', sellBidId: 'b2',
  priceSats: 100, feeSats: 3, createdMs: T0,
};

function step(state: TxState, event: TxEvent): TxState {
  const snapshot = txMachine.machine.resolveState({ value: state.value, context: state.context });
  const [next] = transition(txMachine.machine, snapshot, event);
  const viaXState: TxState = next === snapshot ? state : { value: next.value as TxValue, context: next.context };
  assert.deepEqual(txMachine.compiled.step(state, event), viaXState, 'compiled stepper agrees with XState');
  return viaXState;
}

/** A transaction in `phase`, with the work committed so that the secret can be checked. */
function inPhase(phase: TxPhase): TxState {
  const initial = txMachine.compiled.initial(INPUT);
  const context: TxContext = { ...initial.context, workHash: WORK, workSecretHash: workSecretHashOf(WORK, SECRET), deadlineMs: T0 + 10_000_000 };
  return { value: phase, context };
}

const NOW = T0 + 1_000;
const EVENTS: Record<string, TxEvent> = {
  workhash: { type: 'WORK', nowMs: NOW, workHash: WORK, workSecretHash: workSecretHashOf(WORK, SECRET) },
  workerurl: { type: 'WORKER_URL', nowMs: NOW, workerUrl: 'https://seller.example/' },
  buyersecret: { type: 'BUYER_SECRET', nowMs: NOW, buyerSecret: SECRET },
  rejectwork: { type: 'REJECT_WORK', nowMs: NOW, reason: 'worker crashed' },
  encresult: { type: 'ENC_RESULT', nowMs: NOW, encResultHash: '33'.repeat(32), encResultHashSig: 'sig', encResultKey: '44'.repeat(32), resultHash: '55'.repeat(32), receiptVerified: true },
  rejectresult: { type: 'REJECT_RESULT', nowMs: NOW, reason: 'black frames' },
  acceptresult: { type: 'ACCEPT_RESULT', nowMs: NOW },
};

/** The phase each message leads to, from each phase that takes it; absent means refused. */
const TABLE: Record<string, Partial<Record<TxPhase, TxPhase>>> = {
  workhash: { ESTABLISHING: 'BUYER_ESTABLISHED', SELLER_ESTABLISHED: 'TRANSMITTING' },
  workerurl: { ESTABLISHING: 'SELLER_ESTABLISHED', BUYER_ESTABLISHED: 'TRANSMITTING' },
  buyersecret: { BUYER_ESTABLISHED: 'WORKING', TRANSMITTING: 'WORKING' },
  rejectwork: { SELLER_ESTABLISHED: 'WORK_DISPUTED', TRANSMITTING: 'WORK_DISPUTED', WORKING: 'WORK_DISPUTED' },
  encresult: { WORKING: 'UNVERIFIED' },
  rejectresult: { UNVERIFIED: 'RESULT_DISPUTED' },
  acceptresult: { UNVERIFIED: 'FINISHED' },
};

test('the phase table: every message in every phase', () => {
  for (const [message, moves] of Object.entries(TABLE)) {
    for (const phase of TX_PHASES) {
      const before = inPhase(phase);
      const after = step(before, EVENTS[message]!);
      const expected = moves[phase];
      if (expected === undefined) assert.equal(after, before, `${message} is refused in ${phase}`);
      else {
        assert.equal(after.value, expected, `${message}: ${phase} -> ${expected}`);
        assert.equal(after.context.revision, before.context.revision + 1, 'every accepted message bumps the revision');
      }
    }
  }
});

test('deadlines: 1 min at creation, +2 on TRANSMITTING, +5 on WORKING, +15 on UNVERIFIED', () => {
  let state = txMachine.compiled.initial(INPUT);
  assert.equal(state.context.deadlineMs, T0 + TX_ESTABLISH_MS);
  state = step(state, EVENTS['workhash']!);
  assert.equal(state.context.deadlineMs, T0 + 60_000, 'BUYER_ESTABLISHED grants nothing');
  state = step(state, EVENTS['workerurl']!);
  assert.equal(state.context.deadlineMs, T0 + 3 * 60_000);
  state = step(state, EVENTS['buyersecret']!);
  assert.equal(state.context.deadlineMs, T0 + 8 * 60_000);
  state = step(state, EVENTS['encresult']!);
  assert.equal(state.context.deadlineMs, T0 + 23 * 60_000, 'a full run lives at most 23 minutes');
  const disputed = step(state, EVENTS['rejectresult']!);
  assert.equal(disputed.context.deadlineMs, NOW + TX_DISPUTE_WINDOW_MS, 'the dispute window runs from the rejection');
  assert.equal(disputed.context.rejectReason, 'black frames');
  const finished = step(state, EVENTS['acceptresult']!);
  assert.equal(finished.context.deadlineMs, NOW, 'a final phase is due at once');
});

test('messages at or after the deadline are refused; RETIRE only when due', () => {
  const state = { ...inPhase('ESTABLISHING'), context: { ...inPhase('ESTABLISHING').context, deadlineMs: NOW } };
  assert.equal(step(state, EVENTS['workhash']!), state, 'nowMs == deadline is too late');
  assert.equal(step(state, { type: 'RETIRE', nowMs: NOW - 1 }), state, 'not due yet');
  assert.equal(step(state, { type: 'RETIRE', nowMs: NOW }).value, 'RETIRED');
});

test('the secret must hash with the work to the committed hash; the receipt must be verified', () => {
  const transmitting = inPhase('TRANSMITTING');
  assert.equal(step(transmitting, { type: 'BUYER_SECRET', nowMs: NOW, buyerSecret: '55'.repeat(32) }), transmitting);
  assert.equal(step(transmitting, EVENTS['buyersecret']!).context.buyerSecret, SECRET);
  const working = inPhase('WORKING');
  const unverified = { ...(EVENTS['encresult'] as Extract<TxEvent, { type: 'ENC_RESULT' }>), receiptVerified: false };
  assert.equal(step(working, unverified), working);
  const delivered = step(working, EVENTS['encresult']!);
  assert.equal(delivered.context.encResultKey, '44'.repeat(32));
  assert.equal(delivered.context.encResultHashSig, 'sig');
});

test('retirement settles by phase: receipt-backed phases pay the seller, an undecided dispute pays neither side, the rest refund the buyer', () => {
  for (const phase of TX_PHASES) {
    const retired = step(inPhase(phase), { type: 'RETIRE', nowMs: T0 + 10_000_000 });
    assert.equal(retired.value, 'RETIRED');
    assert.equal(retired.context.retiredPhase, phase);
    const paid = phase === 'FINISHED' || phase === 'UNVERIFIED';
    const expected = paid ? { sellerSats: 100, feeSats: 3, refundSats: 0 } : phase === 'RESULT_DISPUTED' ? { sellerSats: 0, feeSats: 103, refundSats: 0 } : { sellerSats: 0, feeSats: 0, refundSats: 103 };
    assert.deepEqual(retired.context.settlement, expected, `retired in ${phase}`);
  }
});

test('an arbiter splits a disputed price: fee to the exchange, the share to the seller, the rest back', () => {
  const disputed = inPhase('RESULT_DISPUTED');
  assert.equal(step(disputed, { type: 'RESOLVE_DISPUTE', nowMs: NOW, sellerSats: 101 }), disputed, 'more than the price');
  assert.equal(step(disputed, { type: 'RESOLVE_DISPUTE', nowMs: NOW, sellerSats: -1 }), disputed);
  const split = step(disputed, { type: 'RESOLVE_DISPUTE', nowMs: NOW, sellerSats: 40 });
  assert.equal(split.value, 'RETIRED');
  assert.deepEqual(split.context.settlement, { sellerSats: 40, feeSats: 3, refundSats: 60 });
  assert.equal(step(inPhase('UNVERIFIED'), { type: 'RESOLVE_DISPUTE', nowMs: NOW, sellerSats: 40 }).value, 'UNVERIFIED');
});

test('settlement always splits exactly price + fee', () => {
  const context = inPhase('WORKING').context;
  for (const phase of TX_PHASES) {
    for (const share of [null, 0, 50, 100]) {
      const s = settlementFor(context, phase, share);
      assert.equal(s.sellerSats + s.feeSats + s.refundSats, context.priceSats + context.feeSats);
    }
  }
});

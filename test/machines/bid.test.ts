// Goal: the bid machine's rules, one line per (state, event): a bid rests or matches once,
// expires only at or after its expiry, matches only before it, and a closed bid takes nothing.
// Method: pure transitions through XState's own transition() (STYLE.md example 1), each line
// checked against the compiled stepper too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { transition } from 'xstate';
import { bidMachine } from '../../src/machines/bid.js';
import type { BidEvent, BidState, BidValue } from '../../src/machines/bid.js';

const INPUT = {
  bidId: 'b7', seq: 7, participant: '1Seller', article: 'fnord', side: 'SELL' as const,
  priceSats: 100, feeSats: 3, holdSats: 0, createdMs: 1_000, expiresMs: 121_000,
};

function at(value: BidValue): BidState {
  const queued = bidMachine.compiled.initial(INPUT);
  return value === 'queued' ? queued : { value, context: queued.context };
}

function step(state: BidState, event: BidEvent): BidState {
  const snapshot = bidMachine.machine.resolveState({ value: state.value, context: state.context });
  const [next] = transition(bidMachine.machine, snapshot, event);
  const viaXState: BidState = next === snapshot ? state : { value: next.value as BidValue, context: next.context };
  const compiled = bidMachine.compiled.step(state, event);
  assert.deepEqual(compiled, viaXState, 'compiled stepper agrees with XState');
  return compiled;
}

test('a new bid is queued with no transaction and nothing closed', () => {
  const state = bidMachine.compiled.initial(INPUT);
  assert.equal(state.value, 'queued');
  assert.equal(state.context.txId, null);
  assert.equal(state.context.closedMs, null);
  assert.deepEqual(bidMachine.xstate.initial(INPUT), state);
});

test('transitions, one line per state and event', () => {
  const cases: Array<[BidValue, BidEvent, BidValue | 'unchanged']> = [
    ['queued', { type: 'PLACE' }, 'placed'],
    ['queued', { type: 'MATCH', txId: 't1', nowMs: 2_000 }, 'matched'],
    ['queued', { type: 'EXPIRE', nowMs: 121_000 }, 'unchanged'],
    ['queued', { type: 'WITHDRAW', nowMs: 2_000 }, 'unchanged'],
    ['placed', { type: 'PLACE' }, 'unchanged'],
    ['placed', { type: 'MATCH', txId: 't1', nowMs: 120_999 }, 'matched'],
    ['placed', { type: 'MATCH', txId: 't1', nowMs: 121_000 }, 'unchanged'],
    ['placed', { type: 'EXPIRE', nowMs: 120_999 }, 'unchanged'],
    ['placed', { type: 'EXPIRE', nowMs: 121_000 }, 'expired'],
    ['placed', { type: 'WITHDRAW', nowMs: 5_000 }, 'withdrawn'],
    ['matched', { type: 'MATCH', txId: 't2', nowMs: 5_000 }, 'unchanged'],
    ['matched', { type: 'WITHDRAW', nowMs: 5_000 }, 'unchanged'],
    ['expired', { type: 'MATCH', txId: 't2', nowMs: 5_000 }, 'unchanged'],
    ['withdrawn', { type: 'PLACE' }, 'unchanged'],
  ];
  for (const [from, event, expected] of cases) {
    const before = at(from);
    const after = step(before, event);
    if (expected === 'unchanged') assert.equal(after, before, `${from} ignores ${event.type}`);
    else assert.equal(after.value, expected, `${from} --${event.type}--> ${expected}`);
  }
});

test('a match records the transaction and the time; expiry and withdrawal record the time', () => {
  const matched = step(at('placed'), { type: 'MATCH', txId: 't9', nowMs: 3_000 });
  assert.equal(matched.context.txId, 't9');
  assert.equal(matched.context.closedMs, 3_000);
  assert.equal(step(at('placed'), { type: 'EXPIRE', nowMs: 130_000 }).context.closedMs, 130_000);
  const withdrawn = step(at('placed'), { type: 'WITHDRAW', nowMs: 4_000 });
  assert.equal(withdrawn.context.closedMs, 4_000);
  assert.equal(withdrawn.context.txId, null);
  assert.equal(withdrawn.context.priceSats, 100, 'terms never change');
});

test('matched, expired and withdrawn are final', () => {
  for (const value of ['matched', 'expired', 'withdrawn'] as const) assert.equal(bidMachine.compiled.isFinal(value), true);
  for (const value of ['queued', 'placed'] as const) assert.equal(bidMachine.compiled.isFinal(value), false);
});

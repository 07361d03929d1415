// Goal: the compiled stepper the market core runs by default behaves exactly like XState's own
// pure `transition()` on the same machine, for every machine we define, and a spec outside the
// supported subset is refused when it is defined. Method: fast-check draws sequences of events
// (valid and nonsensical, in any state) for each machine and steps both steppers side by side,
// comparing state value, context and "unchanged" after every event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { transition } from 'xstate';
import { accountMachine } from '../../src/machines/account.js';
import type { AccountEvent } from '../../src/machines/account.js';
import { bidMachine } from '../../src/machines/bid.js';
import type { BidEvent } from '../../src/machines/bid.js';
import { defineFlatMachine, updateFor } from '../../src/machines/flat-machine.js';
import type { EventObject, FlatMachine } from '../../src/machines/flat-machine.js';
import { txMachine, workSecretHashOf } from '../../src/machines/transaction.js';
import type { TxEvent } from '../../src/machines/transaction.js';
import { workerMachine } from '../../src/machines/worker.js';
import type { WorkerEvent } from '../../src/machines/worker.js';

function checkEquivalent<V extends string, C, E extends EventObject, I>(
  definition: FlatMachine<V, C, E, I>,
  input: I,
  events: readonly E[],
): void {
  let compiled = definition.compiled.initial(input);
  let reference = definition.xstate.initial(input);
  assert.deepEqual(compiled, reference, 'initial states agree');
  for (const event of events) {
    const nextCompiled = definition.compiled.step(compiled, event);
    const nextReference = definition.xstate.step(reference, event);
    assert.deepEqual(nextCompiled, nextReference, `after ${JSON.stringify(event)}`);
    assert.equal(nextCompiled === compiled, nextReference === reference, `"unchanged" agrees on ${event.type}`);
    compiled = nextCompiled;
    reference = nextReference;
  }
}

const nowMs = fc.integer({ min: 0, max: 3_000_000 });
const hex64 = fc.constantFrom('00'.repeat(32), 'ab'.repeat(32), 'cd'.repeat(32));

test('the bid machine: compiled stepper equals XState transition()', () => {
  const event: fc.Arbitrary<BidEvent> = fc.oneof(
    fc.constant({ type: 'PLACE' as const }),
    fc.record({ type: fc.constant('MATCH' as const), txId: fc.constantFrom('t1', 't2'), nowMs }),
    fc.record({ type: fc.constant('EXPIRE' as const), nowMs }),
    fc.record({ type: fc.constant('WITHDRAW' as const), nowMs }),
  );
  const input = {
    bidId: 'b1', seq: 1, participant: 'p', article: 'a', side: 'BUY' as const,
    priceSats: 100, feeSats: 3, holdSats: 103, createdMs: 0, expiresMs: 1_000_000,
  };
  fc.assert(fc.property(fc.array(event, { maxLength: 8 }), (events) => checkEquivalent(bidMachine, input, events)));
});

test('the account machine: compiled stepper equals XState transition()', () => {
  const types = ['HOLD', 'RELEASE', 'SETTLE', 'CREDIT', 'DEPOSIT_SEEN', 'DEPOSIT_CONFIRMED', 'DEPOSIT_DROPPED',
    'PAYOUT_REQUEST', 'PAYOUT_SENT', 'PAYOUT_FAILED'] as const;
  const event: fc.Arbitrary<AccountEvent> = fc.oneof(
    fc.record({ type: fc.constantFrom(...types), amountSats: fc.nat(500) }),
    fc.constantFrom({ type: 'FREEZE' as const }, { type: 'UNFREEZE' as const }),
  );
  fc.assert(fc.property(fc.array(event, { maxLength: 20 }), (events) => checkEquivalent(accountMachine, '1Addr', events)));
});

test('the transaction machine: compiled stepper equals XState transition()', () => {
  const secret = 'ab'.repeat(32);
  const event: fc.Arbitrary<TxEvent> = fc.oneof(
    fc.record({ type: fc.constant('WORK' as const), nowMs, workHash: fc.constant('00'.repeat(32)), workSecretHash: fc.constantFrom(workSecretHashOf('00'.repeat(32), secret), 'ff'.repeat(32)) }),
    fc.record({ type: fc.constant('WORKER_URL' as const), nowMs, workerUrl: fc.constant('https://w.example/') }),
    fc.record({ type: fc.constant('BUYER_SECRET' as const), nowMs, buyerSecret: fc.constantFrom(secret, 'cd'.repeat(32)) }),
    fc.record({ type: fc.constant('REJECT_WORK' as const), nowMs, reason: fc.constant('no') }),
    fc.record({
      type: fc.constant('ENC_RESULT' as const), nowMs, encResultHash: hex64, encResultHashSig: fc.constant('sig'),
      encResultKey: hex64, resultHash: hex64, receiptVerified: fc.boolean(),
    }),
    fc.record({ type: fc.constant('REJECT_RESULT' as const), nowMs, reason: fc.constant('bad') }),
    fc.record({ type: fc.constant('ACCEPT_RESULT' as const), nowMs }),
    fc.record({ type: fc.constant('RETIRE' as const), nowMs }),
    fc.record({ type: fc.constant('RESOLVE_DISPUTE' as const), nowMs, sellerSats: fc.integer({ min: -1, max: 120 }) }),
  );
  const input = {
    txId: 't1', seq: 1, article: 'a', buyer: 'B', seller: 'S', buyBidId: 'b1', sellBidId: 'b2',
    priceSats: 100, feeSats: 3, createdMs: 0,
  };
  fc.assert(fc.property(fc.array(event, { maxLength: 12 }), (events) => checkEquivalent(txMachine, input, events)));
});

test('the worker machine: compiled stepper equals XState transition()', () => {
  const event: fc.Arbitrary<WorkerEvent> = fc.oneof(
    fc.record({ type: fc.constantFrom('READY' as const, 'DONE' as const, 'FAILED' as const, 'GONE' as const), nowMs }),
    fc.record({ type: fc.constant('ASSIGN' as const), nowMs, txId: fc.constant('t9') }),
    fc.record({ type: fc.constant('REGISTER' as const), nowMs, article: fc.constantFrom('a', 'b') }),
  );
  const input = { workerId: 'w1', article: 'a', nowMs: 0 };
  fc.assert(fc.property(fc.array(event, { maxLength: 12 }), (events) => checkEquivalent(workerMachine, input, events)));
});

test('the generated XState machine works with XState transition() directly (STYLE example 1)', () => {
  const [placed, actions] = transition(
    bidMachine.machine,
    bidMachine.machine.resolveState({ value: 'queued', context: bidMachine.compiled.initial({
      bidId: 'b1', seq: 1, participant: 'p', article: 'a', side: 'SELL', priceSats: 5, feeSats: 1, holdSats: 0,
      createdMs: 0, expiresMs: 10,
    }).context }),
    { type: 'PLACE' },
  );
  assert.equal(placed.value, 'placed');
  assert.deepEqual(actions, [], 'no effects: money and timers are the core\'s job');
});

test('specs outside the supported subset are refused at definition', () => {
  const base = {
    id: 'm',
    initial: 'a' as 'a' | 'b',
    context: () => ({ n: 0 }),
    guards: {},
    updates: { inc: (c: { n: number }) => ({ ...c, n: c.n + 1 }) },
  };
  // Test errors by descending precedence.
  assert.throws(() => defineFlatMachine({ ...base, initial: 'x' as 'a' | 'b', states: { a: {}, b: {} } }), /initial state/);
  assert.throws(() => defineFlatMachine({ ...base, states: { a: { on: { GO: [{ target: 'a' }] } }, b: {} } }), /self-target/);
  assert.throws(() => defineFlatMachine({ ...base, states: { a: { on: { GO: [{ target: 'c' as 'b' }] } }, b: {} } }), /unknown target/);
  assert.throws(() => defineFlatMachine({ ...base, states: { a: { on: { GO: [{ actions: ['nope' as 'inc'] }] } }, b: {} } }), /unknown update/);
  assert.throws(() => defineFlatMachine({ ...base, states: { a: {}, b: { final: true, on: { GO: [{ target: 'a' }] } } } }), /final state/);
  const fine = defineFlatMachine({ ...base, states: { a: { on: { GO: [{ target: 'b', actions: ['inc'] }] } }, b: { final: true } } });
  const next = fine.compiled.step(fine.compiled.initial(undefined as never), { type: 'GO' });
  assert.deepEqual(next, { value: 'b', context: { n: 1 } });
  assert.equal(fine.compiled.step(next, { type: 'GO' }), next, 'a final state ignores events');
});

test('an update written for some events is refused under another, and throws when called with one', () => {
  type E = { readonly type: 'A'; readonly n: number } | { readonly type: 'B' };
  const add = updateFor<{ n: number }, E, 'A'>(['A'], (context, event) => ({ n: context.n + event.n }));
  const spec = (on: 'A' | 'B') => ({
    id: 'typed',
    initial: 'one' as 'one' | 'two',
    context: () => ({ n: 0 }),
    guards: {},
    updates: { add },
    states: { one: { on: { [on]: [{ target: 'two' as const, actions: ['add' as const] }] } }, two: { final: true as const } },
  });
  assert.throws(() => defineFlatMachine(spec('B')), /typed\.one\.B: update add is for A only/);
  const machine = defineFlatMachine(spec('A'));
  assert.deepEqual(machine.compiled.step(machine.compiled.initial(undefined as never), { type: 'A', n: 2 }).context, { n: 2 });
  assert.throws(() => add({ n: 0 }, { type: 'B' }), /an update for A called with B/);
});

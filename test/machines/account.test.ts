// Goal: the account machine never lets a bucket go negative, a frozen account takes no new
// commitments while owed money still flows, and every money event moves exactly its amount.
// Method: a table of single steps from known balances, then a fast-check property that random
// event sequences keep every bucket whole and non-negative and the total changed only by money
// entering or leaving (CREDIT, DEPOSIT_SEEN in; SETTLE, DEPOSIT_DROPPED, PAYOUT_SENT out).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { accountMachine } from '../../src/machines/account.js';
import type { AccountContext, AccountEvent, AccountMoneyEventType, AccountState } from '../../src/machines/account.js';

const stepper = accountMachine.compiled;

function withBalances(value: 'active' | 'frozen', balances: Partial<AccountContext>): AccountState {
  return { value, context: { ...stepper.initial('1Alice').context, ...balances } };
}

const FUNDED = { availableSats: 100, heldSats: 50, depositPendingSats: 30, payoutPendingSats: 20 };

test('each money event moves its amount between the right buckets', () => {
  const cases: Array<[AccountMoneyEventType, Partial<AccountContext>]> = [
    ['HOLD', { availableSats: 90, heldSats: 60 }],
    ['RELEASE', { availableSats: 110, heldSats: 40 }],
    ['SETTLE', { heldSats: 40 }],
    ['CREDIT', { availableSats: 110 }],
    ['DEPOSIT_SEEN', { depositPendingSats: 40 }],
    ['DEPOSIT_CONFIRMED', { depositPendingSats: 20, availableSats: 110 }],
    ['DEPOSIT_DROPPED', { depositPendingSats: 20 }],
    ['PAYOUT_REQUEST', { availableSats: 90, payoutPendingSats: 30 }],
    ['PAYOUT_SENT', { payoutPendingSats: 10 }],
    ['PAYOUT_FAILED', { payoutPendingSats: 10, availableSats: 110 }],
  ];
  for (const [type, expected] of cases) {
    const next = stepper.step(withBalances('active', FUNDED), { type, amountSats: 10 });
    assert.deepEqual(next.context, { ...withBalances('active', FUNDED).context, ...expected }, type);
  }
});

test('guards refuse any step that would make a bucket negative', () => {
  for (const type of ['HOLD', 'PAYOUT_REQUEST'] as const) {
    const state = withBalances('active', FUNDED);
    assert.equal(stepper.step(state, { type, amountSats: 101 }), state, `${type} beyond available`);
    assert.notEqual(stepper.step(state, { type, amountSats: 100 }), state, `${type} of exactly available`);
  }
  const cases: Array<[AccountMoneyEventType, number]> = [
    ['RELEASE', 51], ['SETTLE', 51], ['DEPOSIT_CONFIRMED', 31], ['DEPOSIT_DROPPED', 31], ['PAYOUT_SENT', 21], ['PAYOUT_FAILED', 21],
  ];
  for (const [type, amountSats] of cases) {
    const state = withBalances('active', FUNDED);
    assert.equal(stepper.step(state, { type, amountSats }), state, `${type} of ${amountSats}`);
  }
});

test('frozen: no new holds or payouts, but owed money flows and the account can be unfrozen', () => {
  const frozen = stepper.step(withBalances('active', FUNDED), { type: 'FREEZE' });
  assert.equal(frozen.value, 'frozen');
  assert.equal(stepper.step(frozen, { type: 'HOLD', amountSats: 1 }), frozen);
  assert.equal(stepper.step(frozen, { type: 'PAYOUT_REQUEST', amountSats: 1 }), frozen);
  assert.equal(stepper.step(frozen, { type: 'FREEZE' }), frozen);
  for (const type of ['RELEASE', 'SETTLE', 'CREDIT', 'DEPOSIT_SEEN', 'DEPOSIT_CONFIRMED', 'PAYOUT_SENT', 'PAYOUT_FAILED'] as const) {
    assert.notEqual(stepper.step(frozen, { type, amountSats: 1 }), frozen, `${type} flows while frozen`);
  }
  assert.equal(stepper.step(frozen, { type: 'UNFREEZE' }).value, 'active');
});

test('property: random events keep buckets whole, non-negative and the total accounted for', () => {
  const types = ['HOLD', 'RELEASE', 'SETTLE', 'CREDIT', 'DEPOSIT_SEEN', 'DEPOSIT_CONFIRMED', 'DEPOSIT_DROPPED',
    'PAYOUT_REQUEST', 'PAYOUT_SENT', 'PAYOUT_FAILED'] as const;
  const event: fc.Arbitrary<AccountEvent> = fc.oneof(
    { weight: 9, arbitrary: fc.record({ type: fc.constantFrom(...types), amountSats: fc.nat(200) }) },
    { weight: 1, arbitrary: fc.constantFrom({ type: 'FREEZE' as const }, { type: 'UNFREEZE' as const }) },
  );
  const total = (c: AccountContext) => c.availableSats + c.heldSats + c.depositPendingSats + c.payoutPendingSats;
  fc.assert(
    fc.property(fc.array(event, { maxLength: 40 }), (events) => {
      let state = stepper.initial('1Alice');
      let expected = 0;
      for (const e of events) {
        const next = stepper.step(state, e);
        if (next !== state && 'amountSats' in e) {
          if (e.type === 'CREDIT' || e.type === 'DEPOSIT_SEEN') expected += e.amountSats;
          if (e.type === 'SETTLE' || e.type === 'DEPOSIT_DROPPED' || e.type === 'PAYOUT_SENT') expected -= e.amountSats;
        }
        state = next;
        for (const sats of [state.context.availableSats, state.context.heldSats, state.context.depositPendingSats, state.context.payoutPendingSats]) {
          assert.ok(Number.isSafeInteger(sats) && sats >= 0);
        }
        assert.equal(total(state.context), expected);
      }
    }),
  );
});

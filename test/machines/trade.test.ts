// Goal: the daemon's trade machines keep the promises the daemon's code relies on, under any order
// of facts: every state has the context fields it guarantees (trade-phases.ts), a buy never places
// more bids than its attempts allow, a retry forgets the failed transaction, and final states take
// nothing more. Method: fast-check over random event sequences (every event type, in any state,
// with random fields), stepped with the compiled steppers the daemon runs; one line per case for
// the paths a purchase and a sale take when all goes well.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { buyPhase, sellPhase } from '../../src/machines/trade-phases.js';
import { buyTradeMachine, sellTradeMachine, type BuyEvent, type SellEvent } from '../../src/machines/trade.js';

const buy = buyTradeMachine.compiled;
const sell = sellTradeMachine.compiled;
const id = fc.stringMatching(/^[a-z0-9]{1,6}$/);
const BUY_INPUT = { tradeId: 'b-1', article: 'a', workFileKey: 'w', workSize: 1, attemptsMax: 3, nowMs: 0, clearanceWaitMs: 0 };
const SELL_INPUT = { tradeId: 's-1', article: 'a', workerId: 'w', priceSats: 1, mandateId: 'm1', nowMs: 0 };

const buyEvent: fc.Arbitrary<BuyEvent> = fc.oneof(
  fc.record({ type: fc.constant('CLEARED' as const), priceSats: fc.nat(10_000), clearedBy: fc.constantFrom('m1', 'request') }),
  fc.record({ type: fc.constant('LOCAL' as const), workerId: id }),
  fc.record({ type: fc.constant('BID_PLACED' as const), bidId: id, endsMs: fc.nat() }),
  fc.record({ type: fc.constant('BID_ENDED' as const), bidId: id, reason: id }),
  fc.record({ type: fc.constant('MATCHED' as const), bidId: id, txId: id, buyerSecret: id }),
  fc.record({ type: fc.constant('TX_DEADLINE' as const), txId: id, deadlineMs: fc.nat() }),
  fc.record({ type: fc.constant('SELLER_READY' as const), txId: id, workerUrl: id }),
  fc.record({ type: fc.constant('RESULT_RECEIVED' as const), txId: id, encryptedFileKey: id }),
  fc.record({ type: fc.constant('KEY' as const), txId: id, resultKey: id }),
  fc.record({ type: fc.constant('VERIFIED' as const), txId: fc.option(id), resultFileKey: id }),
  fc.record({ type: fc.constant('FAIL' as const), txId: fc.option(id), reason: id }),
  fc.record({ type: fc.constant('CANCEL' as const), reason: id }),
).map((event) => ({ ...event, nowMs: 1 }) as BuyEvent);

const sellEvent: fc.Arbitrary<SellEvent> = fc.oneof(
  fc.record({ type: fc.constant('BID_PLACED' as const), bidId: id, endsMs: fc.nat() }),
  fc.record({ type: fc.constant('BID_ENDED' as const), bidId: id, reason: id }),
  fc.record({ type: fc.constant('MATCHED' as const), bidId: id, txId: id, buyer: id }),
  fc.record({ type: fc.constant('TX_DEADLINE' as const), txId: id, deadlineMs: fc.nat() }),
  fc.record({ type: fc.constant('WORK_RECEIVED' as const), txId: id, workFileKey: id, buyerSecret: id }),
  fc.record({ type: fc.constant('RESULT_READY' as const), txId: id, encryptedFileKey: id, resultKey: id, resultHash: id }),
  fc.record({ type: fc.constant('RECEIPT' as const), txId: id, receipt: id }),
  fc.record({ type: fc.constant('PUBLISHED' as const), txId: id }),
  fc.record({ type: fc.constant('FAIL' as const), txId: fc.option(id), reason: id, blame: fc.constantFrom('self' as const, 'peer' as const) }),
).map((event) => ({ ...event, nowMs: 1 }) as SellEvent);

test('property: every buy state has what it guarantees; bids stay within the attempts; final is final', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4 }), fc.array(buyEvent, { maxLength: 60 }), (attemptsMax, events) => {
      let state = buy.initial({ tradeId: 'b-1', article: 'a', workFileKey: 'w', workSize: 1, attemptsMax, nowMs: 0, clearanceWaitMs: 0 });
      for (const event of events) {
        const next = buy.step(state, event);
        if (buy.isFinal(state.value)) assert.equal(next, state, 'a final trade takes nothing');
        buyPhase(next); // throws if a guaranteed field is missing
        assert.ok(next.context.attempts <= attemptsMax, `${next.context.attempts} bids of at most ${attemptsMax}`);
        if (next.value === 'bidding' && state.value !== 'clearance' && state.value !== 'bidding') {
          assert.deepEqual([next.context.bidId, next.context.txId, next.context.buyerSecret], [null, null, null], 'a retry forgets the failed transaction');
        }
        state = next;
      }
    }),
  );
});

test('property: every sell state has what it guarantees; final is final', () => {
  fc.assert(
    fc.property(fc.array(sellEvent, { maxLength: 40 }), (events) => {
      let state = sell.initial({ tradeId: 's-1', article: 'a', workerId: 'w', priceSats: 1, mandateId: 'm1', nowMs: 0 });
      for (const event of events) {
        const next = sell.step(state, event);
        if (sell.isFinal(state.value)) assert.equal(next, state, 'a final sale takes nothing');
        sellPhase(next);
        state = next;
      }
    }),
  );
});

test('property: the compiled steppers the daemon runs agree with XState on the same trade machines', () => {
  fc.assert(
    fc.property(fc.array(buyEvent, { maxLength: 30 }), fc.array(sellEvent, { maxLength: 30 }), (buyEvents, sellEvents) => {
      let [compiled, xstate] = [buy.initial(BUY_INPUT), buyTradeMachine.xstate.initial(BUY_INPUT)];
      for (const event of buyEvents) {
        [compiled, xstate] = [buy.step(compiled, event), buyTradeMachine.xstate.step(xstate, event)];
        assert.deepEqual(compiled, xstate);
      }
      let [sale, saleX] = [sell.initial(SELL_INPUT), sellTradeMachine.xstate.initial(SELL_INPUT)];
      for (const event of sellEvents) {
        [sale, saleX] = [sell.step(sale, event), sellTradeMachine.xstate.step(saleX, event)];
        assert.deepEqual(sale, saleX);
      }
    }),
    { numRuns: 50 },
  );
});

test('a purchase that goes well, and what each of its states guarantees', () => {
  const steps: BuyEvent[] = [
    { type: 'CLEARED', nowMs: 1, priceSats: 1200, clearedBy: 'm1' },
    { type: 'BID_PLACED', nowMs: 2, bidId: 'b7', endsMs: 120_002 },
    { type: 'MATCHED', nowMs: 3, bidId: 'b7', txId: 't1', buyerSecret: 'ab', deal: { priceSats: 1000, feeSats: 30 } },
    { type: 'SELLER_READY', nowMs: 4, txId: 't1', workerUrl: 'ws://seller/peer' },
    { type: 'RESULT_RECEIVED', nowMs: 5, txId: 't1', encryptedFileKey: 'e' },
    { type: 'KEY', nowMs: 6, txId: 't1', resultKey: 'k' },
    { type: 'VERIFIED', nowMs: 7, txId: 't1', resultFileKey: 'r' },
  ];
  let state = buy.initial({ tradeId: 'b-1', article: 'a', workFileKey: 'w', workSize: 1, attemptsMax: 3, nowMs: 0, clearanceWaitMs: 0 });
  const values: string[] = [];
  for (const event of steps) {
    state = buy.step(state, event);
    values.push(buyPhase(state).value);
  }
  assert.deepEqual(values, ['bidding', 'bidPlaced', 'matched', 'transferring', 'receipted', 'verifying', 'done']);
  assert.deepEqual(state.context.deal, { priceSats: 1000, feeSats: 30 });
  assert.equal(state.context.attempts, 1);
});

test('a state read back without a field it guarantees is refused, naming the field', () => {
  const broken = { value: 'matched' as const, context: { ...buy.initial({ tradeId: 'b-9', article: 'a', workFileKey: 'w', workSize: 1, attemptsMax: 3, nowMs: 0, clearanceWaitMs: 0 }).context, priceSats: 1, clearedBy: 'm1', bidId: 'b1' } };
  assert.throws(() => buyPhase(broken), /buy trade b-9 is matched but has no txId/);
});

// Goal: the daemon's trade logic keeps its promises under any order of facts: a fact about another
// bid or transaction than the trade's current one changes nothing (B1: a late error of a dead peer
// session), a mandate's trade is spent once and only after a bid (B7) and released when a buy ends
// without one, every phase entered asks for its work exactly once, an ended trade says so once, a
// deadline means what the phase waited for, and a bid that ended after a matched attempt says what
// that attempt ended with. Method: fast-check over random fact sequences drawn from a small pool of
// ids (so that stale facts are common), stepping the pure logic; one line per deadline case.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { buyEntryEffects, buyDeadlineMs, startBuy, startSell, stepBuy, stepSell, WORD_GRACE_MS, type BuyEffect, type BuyFact, type SellEffect, type SellFact } from '../../src/machines/trade-logic.js';
import type { BuyState, SellState } from '../../src/machines/trade.js';

const id = fc.constantFrom('a', 'b', 'c');
const now = fc.nat(1_000_000);
const buyFact: fc.Arbitrary<BuyFact> = fc.oneof(
  fc.record({ type: fc.constant('CLEARED' as const), nowMs: now, priceSats: fc.nat(10_000), clearedBy: fc.constantFrom('m1', 'request') }),
  fc.record({ type: fc.constant('BID_PLACED' as const), nowMs: now, bidId: id, endsMs: now }),
  fc.record({ type: fc.constant('BID_ENDED' as const), nowMs: now, bidId: id, reason: fc.constant('expired') }),
  fc.record({ type: fc.constant('MATCHED' as const), nowMs: now, bidId: id, txId: id, buyerSecret: fc.constant('ab') }),
  fc.record({ type: fc.constant('TX_DEADLINE' as const), nowMs: now, txId: id, deadlineMs: now }),
  fc.record({ type: fc.constant('SELLER_READY' as const), nowMs: now, txId: id, workerUrl: fc.constant('ws://s/peer') }),
  fc.record({ type: fc.constant('RESULT_RECEIVED' as const), nowMs: now, txId: id, encryptedFileKey: fc.constant('e') }),
  fc.record({ type: fc.constant('KEY' as const), nowMs: now, txId: id, resultKey: fc.constant('k') }),
  fc.record({ type: fc.constant('VERIFIED' as const), nowMs: now, txId: fc.option(id), resultFileKey: fc.constant('r') }),
  fc.record({ type: fc.constant('FAIL' as const), nowMs: now, txId: fc.option(id), reason: fc.constantFrom('the seller vanished', 'wrong result') }),
  fc.record({ type: fc.constant('CANCEL' as const), nowMs: now, reason: fc.constant('cancelled') }),
  fc.record({ type: fc.constant('TIMEOUT' as const), nowMs: now }),
);
const sellFact: fc.Arbitrary<SellFact> = fc.oneof(
  fc.record({ type: fc.constant('BID_PLACED' as const), nowMs: now, bidId: id, endsMs: now }),
  fc.record({ type: fc.constant('BID_ENDED' as const), nowMs: now, bidId: id, reason: fc.constant('expired') }),
  fc.record({ type: fc.constant('MATCHED' as const), nowMs: now, bidId: id, txId: id, buyer: fc.constant('1Buyer') }),
  fc.record({ type: fc.constant('TX_DEADLINE' as const), nowMs: now, txId: id, deadlineMs: now }),
  fc.record({ type: fc.constant('WORK_RECEIVED' as const), nowMs: now, txId: id, workFileKey: fc.constant('w'), buyerSecret: fc.constant('ab') }),
  fc.record({ type: fc.constant('RESULT_READY' as const), nowMs: now, txId: id, encryptedFileKey: fc.constant('e'), resultKey: fc.constant('k'), resultHash: fc.constant('h') }),
  fc.record({ type: fc.constant('RECEIPT' as const), nowMs: now, txId: id, receipt: fc.constant('sig') }),
  fc.record({ type: fc.constant('PUBLISHED' as const), nowMs: now, txId: id }),
  fc.record({ type: fc.constant('FAIL' as const), nowMs: now, txId: fc.option(id), reason: fc.constant('gone'), blame: fc.constantFrom('self' as const, 'peer' as const) }),
  fc.record({ type: fc.constant('TIMEOUT' as const), nowMs: now }),
);

const BUY_INPUT = { tradeId: 'b-1', article: 'x', workFileKey: 'w', workSize: 1, attemptsMax: 3, nowMs: 0, clearanceWaitMs: 0 };
const SELL_INPUT = { tradeId: 's-1', article: 'x', workerId: 'w1', priceSats: 900, mandateId: 'm2', nowMs: 0 };
const PHASE_WORK = new Set(['seekClearance', 'runLocal', 'placeBid', 'watchBid', 'commitWork', 'sendWork', 'fetchKey', 'verify', 'announce', 'runWorker', 'awaitReceipt', 'publish']);
const count = (effects: readonly (BuyEffect | SellEffect)[], type: string): number => effects.filter((effect) => effect.type === type).length;

/** What the buy promises over a whole run of facts. */
function checkBuyRun(facts: readonly BuyFact[]): void {
  let { state, effects: first } = startBuy(BUY_INPUT);
  assert.equal(count(first, 'seekClearance'), 1);
  let mandateUses = 0;
  let releases = 0;
  let ended = 0;
  let matchedBefore = false;
  for (const fact of facts) {
    const before: BuyState = state;
    const step = stepBuy(state, fact);
    state = step.state;
    const about = 'txId' in fact && fact.type !== 'MATCHED' ? fact.txId : undefined;
    if (about !== undefined && about !== before.context.txId) assert.equal(state, before, `${fact.type} about ${String(about)} changed a trade of ${String(before.context.txId)}`);
    if ((fact.type === 'BID_ENDED' || fact.type === 'MATCHED') && fact.bidId !== before.context.bidId) assert.equal(state, before, `${fact.type} about bid ${fact.bidId} changed a trade of bid ${String(before.context.bidId)}`);
    const entered = state.value !== before.value || state.context.attempts !== before.context.attempts;
    const work = step.effects.filter((effect) => PHASE_WORK.has(effect.type));
    assert.equal(work.length, entered && state.value !== 'done' && state.value !== 'failed' ? 1 : 0, `${before.value} → ${state.value}: one piece of phase work on entering, none otherwise`);
    if (entered && work.length === 1) assert.deepEqual(work, buyEntryEffects(state).filter((effect) => PHASE_WORK.has(effect.type)), 'the work a restart would redo is the same');
    mandateUses += count(step.effects, 'useMandate');
    releases += count(step.effects, 'releaseMandate');
    ended += count(step.effects, 'ended');
    if (count(step.effects, 'useMandate') > 0) assert.ok(state.context.attempts >= 1, 'a mandate is spent only by a buy that placed a bid');
    const reason = step.effects.find((effect) => effect.type === 'ended')?.reason;
    if (reason?.startsWith('no seller took bid') === true && matchedBefore) assert.match(reason, /the attempt before ended/);
    if (state.context.txId !== null) matchedBefore = true;
  }
  const byMandate = state.context.clearedBy === 'm1';
  assert.ok(mandateUses <= 1, 'a mandate is spent once at most');
  assert.equal(mandateUses, byMandate && state.context.attempts >= 1 ? 1 : 0);
  assert.equal(ended, state.value === 'done' || state.value === 'failed' ? 1 : 0, 'an ended trade says so once');
  assert.equal(releases, ended === 1 && byMandate && state.context.attempts === 0 ? 1 : 0, 'a buy that ends before its first bid releases the mandate');
}

test('property: a buy ignores facts about other bids and transactions, spends its mandate once after a bid, and asks for each phase\'s work once', () => {
  fc.assert(fc.property(fc.array(buyFact, { maxLength: 50 }), (facts) => checkBuyRun(facts)), { numRuns: 400 });
});

test('property: a sale ignores facts about other bids and transactions and spends its mandate when matched', () => {
  fc.assert(
    fc.property(fc.array(sellFact, { maxLength: 40 }), (facts) => {
      let { state } = startSell(SELL_INPUT);
      for (const fact of facts) {
        const before: SellState = state;
        const step = stepSell(state, fact);
        state = step.state;
        const about = 'txId' in fact && fact.type !== 'MATCHED' ? fact.txId : undefined;
        if (about !== undefined && about !== before.context.txId) assert.equal(state, before);
        assert.equal(count(step.effects, 'useMandate'), fact.type === 'MATCHED' && before.value === 'bidPlaced' && state.value === 'matched' ? 1 : 0);
        assert.equal(count(step.effects, 'blockWorker'), fact.type === 'FAIL' && fact.blame === 'self' && state.value === 'failed' && before.value !== 'failed' ? 1 : 0, 'only this side\'s own failure blocks the worker');
      }
    }),
    { numRuns: 300 },
  );
});

test('a late error of the previous attempt\'s session is ignored and says why (B1)', () => {
  let state = startBuy(BUY_INPUT).state;
  const steps: BuyFact[] = [
    { type: 'CLEARED', nowMs: 1, priceSats: 1000, clearedBy: 'm1' },
    { type: 'BID_PLACED', nowMs: 2, bidId: 'bid1', endsMs: 120_002 },
    { type: 'MATCHED', nowMs: 3, bidId: 'bid1', txId: 'tx1', buyerSecret: 'ab' },
    { type: 'FAIL', nowMs: 4, txId: 'tx1', reason: 'the seller vanished' },
    { type: 'BID_PLACED', nowMs: 5, bidId: 'bid2', endsMs: 120_005 },
  ];
  for (const fact of steps) state = stepBuy(state, fact).state;
  assert.equal(state.value, 'bidPlaced');
  const late = stepBuy(state, { type: 'FAIL', nowMs: 6, txId: 'tx1', reason: 'peer_trade_unknown (7002)' });
  assert.equal(late.state, state);
  assert.deepEqual(late.effects, [{ type: 'ignored', fact: 'FAIL (peer_trade_unknown (7002))', why: "it is about transaction tx1, the trade's is none" }]);
  const ended = stepBuy(state, { type: 'BID_ENDED', nowMs: 7, bidId: 'bid2', reason: 'the bid expired' });
  assert.equal(ended.state.context.error, 'no seller took bid 2 of 3 (the bid expired); the attempt before ended: the seller vanished');
});

test('each failed transaction\'s seller is avoided by the bids after it; an unmatched bid adds no one', () => {
  let step = startBuy({ ...BUY_INPUT, attemptsMax: 4, avoid: ['1Asked'] });
  const bids: BuyEffect[] = [];
  const facts: BuyFact[] = [
    { type: 'CLEARED', nowMs: 1, priceSats: 1000, clearedBy: 'request' },
    { type: 'BID_PLACED', nowMs: 2, bidId: 'bid1', endsMs: 120_002 },
    { type: 'MATCHED', nowMs: 3, bidId: 'bid1', txId: 'tx1', buyerSecret: 'ab', seller: '1Vanished' },
    { type: 'FAIL', nowMs: 4, txId: 'tx1', reason: 'the seller vanished' },
    { type: 'BID_PLACED', nowMs: 5, bidId: 'bid2', endsMs: 120_005 },
    { type: 'BID_ENDED', nowMs: 6, bidId: 'bid2', reason: 'the bid expired' },
    { type: 'BID_PLACED', nowMs: 7, bidId: 'bid3', endsMs: 120_007 },
    { type: 'MATCHED', nowMs: 8, bidId: 'bid3', txId: 'tx3', buyerSecret: 'cd', seller: '1Liar' },
    { type: 'FAIL', nowMs: 9, txId: 'tx3', reason: 'the result was wrong' },
  ];
  for (const fact of facts) {
    step = stepBuy(step.state, fact);
    bids.push(...step.effects.filter((effect) => effect.type === 'placeBid'));
  }
  assert.deepEqual(bids.map((bid) => 'avoid' in bid && bid.avoid), [['1Asked'], ['1Asked', '1Vanished'], ['1Asked', '1Vanished'], ['1Asked', '1Vanished', '1Liar']]);
});

test('deadlines: each phase that waits on others ends by what it waited for', () => {
  const cleared = startBuy({ ...BUY_INPUT, clearanceWaitMs: 30_000 }).state;
  assert.equal(buyDeadlineMs(cleared), 30_000, 'clearance waits as long as the request allows');
  const refused = stepBuy(cleared, { type: 'TIMEOUT', nowMs: 30_000 });
  assert.equal(refused.state.value, 'failed');
  assert.match(refused.state.context.error ?? '', /no permission to buy x/);

  let state = stepBuy(stepBuy(cleared, { type: 'CLEARED', nowMs: 1, priceSats: 1000, clearedBy: 'request' }).state, { type: 'BID_PLACED', nowMs: 2, bidId: 'bid1', endsMs: 120_002 }).state;
  assert.equal(buyDeadlineMs(state), 120_002 + WORD_GRACE_MS, 'a resting bid waits its lifetime and a minute');
  const quiet = stepBuy(state, { type: 'TIMEOUT', nowMs: 180_002 });
  assert.equal(quiet.state.value, 'bidding', 'no word of the bid: withdraw it and bid again');
  assert.deepEqual(quiet.effects.map((effect) => effect.type), ['withdrawBid', 'placeBid']);

  state = stepBuy(state, { type: 'MATCHED', nowMs: 3, bidId: 'bid1', txId: 'tx1', buyerSecret: 'ab' }).state;
  assert.equal(buyDeadlineMs(state), undefined, 'no deadline until the exchange says the transaction\'s');
  state = stepBuy(state, { type: 'TX_DEADLINE', nowMs: 4, txId: 'tx1', deadlineMs: 60_003 }).state;
  assert.equal(buyDeadlineMs(state), 60_003 + WORD_GRACE_MS);
  const silent = stepBuy(state, { type: 'TIMEOUT', nowMs: 120_003 });
  assert.equal(silent.state.value, 'bidding', 'the seller never answered: the attempt is over, the next bid starts');
  assert.deepEqual(silent.effects.map((effect) => effect.type), ['closeSession', 'placeBid']);

  const receipted = { value: 'receipted' as const, context: { ...state.context, workerUrl: 'ws://s/peer', encryptedFileKey: 'e', phaseEndsMs: 1 } };
  assert.deepEqual(stepBuy(receipted, { type: 'TIMEOUT', nowMs: 999_999 }).state, receipted, 'a receipted buy waits for its key as long as the exchange keeps it');

  let sale = startSell(SELL_INPUT).state;
  sale = stepSell(sale, { type: 'BID_PLACED', nowMs: 1, bidId: 's1', endsMs: 120_001 }).state;
  sale = stepSell(sale, { type: 'MATCHED', nowMs: 2, bidId: 's1', txId: 'tx9', buyer: '1B' }).state;
  sale = stepSell(sale, { type: 'TX_DEADLINE', nowMs: 3, txId: 'tx9', deadlineMs: 60_000 }).state;
  const noWork = stepSell(sale, { type: 'TIMEOUT', nowMs: 120_000 });
  assert.equal(noWork.state.value, 'failed');
  assert.match(noWork.state.context.error ?? '', /the buyer never sent the work/);
  assert.equal(count(noWork.effects, 'blockWorker'), 0, 'the buyer\'s fault does not block the worker');
});

// Goal: the market core's rules, as docs/market-rules.md states them, on concrete scenarios with
// exact satoshi amounts: the trade price and fee, holds and their adjustment, the tie rule,
// continuous matching, expiry to the millisecond, the transaction run with real Bitcoin
// signatures, deadlines, and the dispute rules. Method: small scripted runs on a fresh core,
// asserting balances, events and queries after each step; deadlines are hit at T-1 and T.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { articleWithDefaults } from '../../src/market/articles.js';
import type { CommandResult, CoreEvent, MarketCommand } from '../../src/market/commands.js';
import { MarketCore } from '../../src/market/core.js';
import { TX_DISPUTE_WINDOW_MS } from '../../src/machines/transaction.js';
import { workSecretHashOf } from '../../src/machines/transaction.js';
import { participant, sha256Hex, signText, verifyReceipt } from './support/participants.js';
import type { Participant } from './support/participants.js';

const T0 = 1_700_000_000_000;
const alice = participant('alice'); // buys
const bob = participant('bob'); // sells
const carol = participant('carol');

function newCore(): MarketCore {
  const core = new MarketCore({ verifyReceipt }, { startMs: T0, articles: [articleWithDefaults('fnord', { priceSatsMax: 100_000 })] });
  accepted(core.execute({ type: 'credit', nowMs: T0, participant: alice.address, amountSats: 10_000 }));
  return core;
}

function accepted(result: CommandResult): readonly CoreEvent[] {
  assert.equal(result.status, 'accepted', JSON.stringify(result));
  return result.events;
}

function balances(core: MarketCore, who: Participant): [number, number] {
  const account = core.account(who.address);
  return [account?.availableSats ?? 0, account?.heldSats ?? 0];
}

function bid(core: MarketCore, who: Participant, side: 'BUY' | 'SELL', priceSats: number, nowMs = T0): readonly CoreEvent[] {
  return accepted(core.execute({ type: 'placeBid', nowMs, participant: who.address, article: 'fnord', side, priceSats }));
}

function send(core: MarketCore, who: Participant, message: string, fields: Record<string, string>, nowMs: number, txId = 't1'): CommandResult {
  return core.execute({ type: 'txMessage', nowMs, participant: who.address, txId, message: message as 'workhash', fields });
}

const WORK = sha256Hex('the scene');
const SECRET = sha256Hex('a secret');
const RESULT = sha256Hex('the encrypted frame');

/** Drives t1 from ESTABLISHING to UNVERIFIED with valid messages, all at `nowMs`. */
function deliver(core: MarketCore, nowMs: number): void {
  accepted(send(core, alice, 'workhash', { workhash: WORK, worksecrethash: workSecretHashOf(WORK, SECRET) }, nowMs));
  accepted(send(core, bob, 'workerurl', { workerurl: 'https://bob.example/work' }, nowMs));
  accepted(send(core, bob, 'buyersecret', { buyersecret: SECRET }, nowMs));
  const receipt = { encresulthash: RESULT, encresulthashsig: signText(RESULT, alice), encresultkey: sha256Hex('key'), resulthash: '5e'.repeat(32) };
  accepted(send(core, bob, 'encresult', receipt, nowMs));
}

test('a full run: hold, match, the protocol with real signatures, payment on acceptance', () => {
  const core = newCore();
  bid(core, bob, 'SELL', 1_000);
  const events = bid(core, alice, 'BUY', 1_200);
  // The SELL was earlier: price 1 000, fee ceil(30) = 30; the BUY held 1 200 + 36 and gets 206 back.
  const trade = events.find((e) => e.type === 'trade');
  assert.deepEqual(trade && { price: trade.priceSats, fee: trade.feeSats, resting: trade.restingBidId }, { price: 1_000, fee: 30, resting: 'b1' });
  const transfers = events.filter((e) => e.type === 'transfer').map((e) => [e.kind, e.amountSats]);
  assert.deepEqual(transfers, [['bid_hold', 1_236], ['trade_refund', 206]]);
  assert.deepEqual(balances(core, alice), [8_970, 1_030]);
  assert.equal(core.transaction('t1')?.phase, 'ESTABLISHING');
  deliver(core, T0 + 1_000);
  assert.equal(core.transaction('t1')?.phase, 'UNVERIFIED');
  assert.deepEqual(balances(core, bob), [0, 0], 'the seller is not paid before the receipt is accepted or times out');
  const done = accepted(send(core, alice, 'acceptresult', {}, T0 + 2_000));
  assert.deepEqual(done.filter((e) => e.type === 'transfer').map((e) => [e.kind, e.to, e.amountSats]), [
    ['settle_price', `available:${bob.address}`, 1_000],
    ['settle_fee', 'fees', 30],
  ]);
  assert.deepEqual(balances(core, alice), [8_970, 0]);
  assert.deepEqual(balances(core, bob), [1_000, 0]);
  assert.equal(core.exportState().feesSats, 30);
  assert.equal(core.transaction('t1'), undefined, 'a FINISHED transaction retires at once');
  core.checkInvariants();
});

test('the trade price is the earlier bid\'s (CONCEPTS.md table)', () => {
  const earlierBuy = newCore();
  bid(earlierBuy, alice, 'BUY', 200);
  const trade1 = bid(earlierBuy, bob, 'SELL', 100).find((e) => e.type === 'trade');
  assert.equal(trade1?.type === 'trade' && trade1.priceSats, 200, 'BUY ≤200 then SELL ≥100 trades at 200');
  const earlierSell = newCore();
  bid(earlierSell, bob, 'SELL', 100);
  const trade2 = bid(earlierSell, alice, 'BUY', 200).find((e) => e.type === 'trade');
  assert.equal(trade2?.type === 'trade' && trade2.priceSats, 100, 'SELL ≥100 then BUY ≤200 trades at 100');
  const noTrade = newCore();
  bid(noTrade, alice, 'BUY', 100);
  assert.equal(bid(noTrade, bob, 'SELL', 200).some((e) => e.type === 'trade'), false, 'BUY ≤100, SELL ≥200: no match');
  assert.deepEqual(noTrade.depth('fnord', 5), { bids: [{ priceSats: 100, count: 1 }], asks: [{ priceSats: 200, count: 1 }] });
});

test('price priority, then the earliest expiry, then the earliest arrival', () => {
  const core = newCore();
  bid(core, bob, 'SELL', 105);
  bid(core, carol, 'SELL', 100, T0 + 10);
  bid(core, bob, 'SELL', 100, T0 + 20);
  const first = bid(core, alice, 'BUY', 110, T0 + 30).find((e) => e.type === 'trade');
  assert.equal(first?.type === 'trade' && first.sellBidId, 'b2', 'lowest price, then the earlier expiry');
  const second = bid(core, alice, 'BUY', 110, T0 + 40).find((e) => e.type === 'trade');
  assert.equal(second?.type === 'trade' && second.sellBidId, 'b3');
  const third = bid(core, alice, 'BUY', 110, T0 + 50).find((e) => e.type === 'trade');
  assert.equal(third?.type === 'trade' && third.sellBidId, 'b1', 'the higher price comes last');
  assert.deepEqual(core.lastTrade('fnord'), { priceSats: 105, txId: 't3', atMs: T0 + 50 });
});

test('a bid expires at created + lifetime exactly, and a BUY gets all of its hold back', () => {
  const core = newCore();
  bid(core, alice, 'BUY', 1_000);
  assert.deepEqual(balances(core, alice), [8_970, 1_030]);
  accepted(core.execute({ type: 'advanceTime', nowMs: T0 + 119_999 }));
  assert.equal(core.bid('b1')?.state, 'placed');
  const events = accepted(core.execute({ type: 'advanceTime', nowMs: T0 + 120_000 }));
  assert.deepEqual(events.map((e) => e.type), ['transfer', 'bidExpired']);
  assert.deepEqual(balances(core, alice), [10_000, 0]);
  assert.equal(core.bid('b1'), undefined);
  const late = core.execute({ type: 'withdrawBid', nowMs: T0 + 120_001, participant: alice.address, bidId: 'b1' });
  assert.equal(late.status === 'rejected' && late.rejection, 'bid_closed');
});

test('deadlines fire even in a rejected command, at their own time, before the command', () => {
  const core = newCore();
  bid(core, bob, 'SELL', 100);
  const result = core.execute({ type: 'placeBid', nowMs: T0 + 200_000, participant: carol.address, article: 'fnord', side: 'BUY', priceSats: 100 });
  assert.equal(result.status === 'rejected' && result.rejection, 'insufficient_funds');
  assert.deepEqual(result.events, [{ type: 'bidExpired', bidId: 'b1', atMs: T0 + 120_000 }]);
});

test('withdrawing a BUY gives back its hold; a SELL just leaves the book', () => {
  const core = newCore();
  bid(core, alice, 'BUY', 500);
  bid(core, bob, 'SELL', 900);
  accepted(core.execute({ type: 'withdrawBid', nowMs: T0 + 5, participant: alice.address, bidId: 'b1' }));
  assert.deepEqual(balances(core, alice), [10_000, 0]);
  accepted(core.execute({ type: 'withdrawBid', nowMs: T0 + 5, participant: bob.address, bidId: 'b2' }));
  assert.deepEqual(core.depth('fnord', 5), { bids: [], asks: [] });
});

test('a silent transaction retires after 1 minute and refunds the buyer in full', () => {
  const core = newCore();
  bid(core, bob, 'SELL', 1_000);
  bid(core, alice, 'BUY', 1_000);
  accepted(core.execute({ type: 'advanceTime', nowMs: T0 + 59_999 }));
  assert.equal(core.transaction('t1')?.phase, 'ESTABLISHING');
  const events = accepted(core.execute({ type: 'advanceTime', nowMs: T0 + 60_000 }));
  const retired = events.find((e) => e.type === 'txRetired');
  assert.deepEqual(retired, { type: 'txRetired', txId: 't1', phase: 'ESTABLISHING', atMs: T0 + 60_000, sellerSats: 0, feeSats: 0, refundSats: 1_030, byArbiter: false, byEvidence: false });
  assert.deepEqual(balances(core, alice), [10_000, 0]);
  const late = send(core, alice, 'workhash', { workhash: WORK, worksecrethash: WORK }, T0 + 60_001);
  assert.equal(late.status === 'rejected' && late.rejection, 'tx_retired');
});

test('a buyer silent in UNVERIFIED pays when the deadline passes (23 minutes in all)', () => {
  const core = newCore();
  bid(core, bob, 'SELL', 1_000);
  bid(core, alice, 'BUY', 1_000);
  deliver(core, T0 + 1);
  assert.equal(core.transaction('t1')?.deadlineMs, T0 + 23 * 60_000);
  accepted(core.execute({ type: 'advanceTime', nowMs: T0 + 23 * 60_000 - 1 }));
  assert.deepEqual(balances(core, bob), [0, 0]);
  accepted(core.execute({ type: 'advanceTime', nowMs: T0 + 23 * 60_000 }));
  assert.deepEqual(balances(core, bob), [1_000, 0]);
  assert.deepEqual(balances(core, alice), [8_970, 0]);
});

test('rejectwork refunds the buyer at once', () => {
  const core = newCore();
  bid(core, bob, 'SELL', 1_000);
  bid(core, alice, 'BUY', 1_000);
  accepted(send(core, bob, 'workerurl', { workerurl: 'https://bob.example/' }, T0 + 1));
  const events = accepted(send(core, bob, 'rejectwork', { reason: 'worker out of memory' }, T0 + 2));
  const retired = events.find((e) => e.type === 'txRetired');
  assert.equal(retired?.type === 'txRetired' && retired.phase, 'WORK_DISPUTED');
  assert.deepEqual(balances(core, alice), [10_000, 0]);
  assert.deepEqual(balances(core, bob), [0, 0]);
});

test('rejectresult after the key is out: funds stay held; without an arbiter neither side gets the price', () => {
  const core = newCore();
  bid(core, bob, 'SELL', 1_000);
  bid(core, alice, 'BUY', 1_000);
  deliver(core, T0 + 1);
  const rejected = accepted(send(core, alice, 'rejectresult', { reason: 'black frames' }, T0 + 2));
  assert.deepEqual(rejected.map((e) => e.type), ['txMessageAccepted'], 'no money moves on rejection');
  assert.equal(core.transaction('t1')?.phase, 'RESULT_DISPUTED');
  assert.deepEqual(balances(core, alice), [8_970, 1_030], 'the buyer does not get a refund for rejecting');
  accepted(core.execute({ type: 'advanceTime', nowMs: T0 + 2 + TX_DISPUTE_WINDOW_MS - 1 }));
  assert.equal(core.transaction('t1')?.phase, 'RESULT_DISPUTED');
  accepted(core.execute({ type: 'advanceTime', nowMs: T0 + 2 + TX_DISPUTE_WINDOW_MS }));
  assert.deepEqual(balances(core, bob), [0, 0], 'the seller is not paid for a disputed result');
  assert.deepEqual(balances(core, alice), [8_970, 0], 'the buyer does not get the price back either');
});

test('an arbiter splits a disputed price; the exchange keeps its fee', () => {
  const core = newCore();
  bid(core, bob, 'SELL', 1_000);
  bid(core, alice, 'BUY', 1_000);
  deliver(core, T0 + 1);
  accepted(send(core, alice, 'rejectresult', { reason: 'half the tiles missing' }, T0 + 2));
  const events = accepted(core.execute({ type: 'resolveDispute', nowMs: T0 + 3, txId: 't1', sellerSats: 400 }));
  assert.deepEqual(events.filter((e) => e.type === 'transfer').map((e) => [e.kind, e.amountSats]), [
    ['settle_price', 400],
    ['settle_fee', 30],
    ['settle_refund', 600],
  ]);
  assert.deepEqual(balances(core, bob), [400, 0]);
  assert.deepEqual(balances(core, alice), [9_570, 0]);
});

test('free bids: price 0 trades with no money moved', () => {
  const core = newCore();
  const events = [...bid(core, carol, 'BUY', 0), ...bid(core, bob, 'SELL', 0)];
  assert.equal(events.some((e) => e.type === 'transfer'), false);
  assert.equal(events.some((e) => e.type === 'trade'), true);
  assert.deepEqual(balances(core, carol), [0, 0]);
});

test('a participant may trade with itself and ends where it started, minus the fee', () => {
  const core = newCore();
  bid(core, alice, 'SELL', 1_000);
  bid(core, alice, 'BUY', 1_000);
  const hash = RESULT;
  accepted(send(core, alice, 'workhash', { workhash: WORK, worksecrethash: workSecretHashOf(WORK, SECRET) }, T0 + 1));
  accepted(send(core, alice, 'workerurl', { workerurl: 'https://alice.example/' }, T0 + 1));
  accepted(send(core, alice, 'buyersecret', { buyersecret: SECRET }, T0 + 1));
  accepted(send(core, alice, 'encresult', { encresulthash: hash, encresulthashsig: signText(hash, alice), encresultkey: WORK, resulthash: '5e'.repeat(32) }, T0 + 1));
  accepted(send(core, alice, 'acceptresult', {}, T0 + 1));
  assert.deepEqual(balances(core, alice), [10_000 - 30, 0]);
  core.checkInvariants();
});

test('a frozen account places nothing new, but its resting bids still trade and settle', () => {
  const core = newCore();
  bid(core, bob, 'SELL', 1_000);
  // A sell bid makes no account; one exists once it holds money (here, 1 sat).
  const unknown = core.execute({ type: 'freezeAccount', nowMs: T0, participant: bob.address });
  assert.equal(unknown.status === 'rejected' && unknown.rejection, 'account_not_found');
  accepted(core.execute({ type: 'credit', nowMs: T0, participant: bob.address, amountSats: 1 }));
  accepted(core.execute({ type: 'freezeAccount', nowMs: T0 + 1, participant: bob.address }));
  const result = core.execute({ type: 'placeBid', nowMs: T0 + 2, participant: bob.address, article: 'fnord', side: 'SELL', priceSats: 5 });
  assert.equal(result.status === 'rejected' && result.rejection, 'account_frozen');
  bid(core, alice, 'BUY', 1_000, T0 + 3);
  deliver(core, T0 + 4);
  accepted(send(core, alice, 'acceptresult', {}, T0 + 5));
  assert.deepEqual(balances(core, bob), [1_001, 0]);
});

test('accounts exist only while they hold money or are frozen: free sell bids from fresh keys make none', () => {
  const core = newCore();
  bid(core, bob, 'SELL', 900);
  for (let index = 0; index < 50; index++) bid(core, participant(`fresh-${index}`), 'SELL', 1_000);
  assert.deepEqual(core.exportState().accounts.map((account) => account.address), [alice.address], 'sell bids create no accounts');
  bid(core, alice, 'BUY', 1_000);
  deliver(core, T0 + 4);
  accepted(send(core, alice, 'acceptresult', {}, T0 + 5));
  assert.deepEqual(balances(core, bob), [900, 0], 'the seller that was paid has an account');
  assert.equal(core.exportState().accounts.length, 2);
  accepted(core.execute({ type: 'credit', nowMs: T0 + 6, participant: carol.address, amountSats: 500 }));
  bid(core, carol, 'BUY', 485, T0 + 7);
  core.execute({ type: 'advanceTime', nowMs: T0 + 7 + 3_600_000 });
  assert.deepEqual(balances(core, carol), [500, 0], 'its bid expired: the money is back');
  core.checkInvariants();
});

test('property: a seller is credited only after a valid receipt signed by the buyer', () => {
  const signers = { buyer: alice, seller: bob, stranger: carol };
  fc.assert(
    fc.property(
      fc.constantFrom('buyer', 'seller', 'stranger') as fc.Arbitrary<keyof typeof signers>,
      fc.boolean(),
      fc.constantFrom('accept', 'timeout', 'reject', 'arbiter'),
      (signer, sameHash, ending) => {
        const core = newCore();
        bid(core, bob, 'SELL', 1_000);
        bid(core, alice, 'BUY', 1_000);
        accepted(send(core, alice, 'workhash', { workhash: WORK, worksecrethash: workSecretHashOf(WORK, SECRET) }, T0 + 1));
        accepted(send(core, bob, 'workerurl', { workerurl: 'https://bob.example/' }, T0 + 1));
        accepted(send(core, bob, 'buyersecret', { buyersecret: SECRET }, T0 + 1));
        const signature = signText(sameHash ? RESULT : sha256Hex('another result'), signers[signer]);
        const delivered = send(core, bob, 'encresult', { encresulthash: RESULT, encresulthashsig: signature, encresultkey: WORK, resulthash: '5e'.repeat(32) }, T0 + 2);
        const valid = signer === 'buyer' && sameHash;
        assert.equal(delivered.status === 'accepted', valid, 'only the buyer\'s signature over this hash is a receipt');
        if (valid && ending === 'accept') accepted(send(core, alice, 'acceptresult', {}, T0 + 3));
        if (valid && (ending === 'reject' || ending === 'arbiter')) accepted(send(core, alice, 'rejectresult', { reason: 'no' }, T0 + 3));
        if (valid && ending === 'arbiter') accepted(core.execute({ type: 'resolveDispute', nowMs: T0 + 4, txId: 't1', sellerSats: 250 }));
        accepted(core.execute({ type: 'advanceTime', nowMs: T0 + 8 * 24 * 3_600_000 }));
        // An undecided dispute pays neither side (market-rules §6).
        const expected = !valid ? 0 : ending === 'arbiter' ? 250 : ending === 'reject' ? 0 : 1_000;
        assert.deepEqual(balances(core, bob), [expected, 0]);
        core.checkInvariants();
      },
    ),
    { numRuns: 48 },
  );
});

test('commands carry time; the core refuses to go back (a host bug, not an input error)', () => {
  const core = newCore();
  accepted(core.execute({ type: 'advanceTime', nowMs: T0 + 10 }));
  assert.throws(() => core.execute({ type: 'advanceTime', nowMs: T0 + 9 } as MarketCommand), /time went backwards/);
  assert.equal(core.now(), T0 + 10);
});

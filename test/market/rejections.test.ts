// Goal: every command checks its rejections in the documented fixed order, each rejection has a
// stable, unique code in its range, and a rejected command changes nothing. Method: for each
// command a table that starts from a command wrong in every way and fixes one thing per line,
// so each line shows the next rejection in precedence (TigerBeetle's create_transfer tests);
// after every rejection the state hash must be the one before it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { articleWithDefaults } from '../../src/market/articles.js';
import type { MarketCommand } from '../../src/market/commands.js';
import { MarketCore } from '../../src/market/core.js';
import { REJECTIONS } from '../../src/market/rejections.js';
import type { RejectionName } from '../../src/market/rejections.js';
import { ERRORS } from '../../src/transport/errors.js';
import { workSecretHashOf } from '../../src/machines/transaction.js';
import { participant, sha256Hex, signText, verifyReceipt } from './support/participants.js';

const T0 = 1_700_000_000_000;
const alice = participant('alice');
const bob = participant('bob');
const carol = participant('carol');

function newCore(): MarketCore {
  return new MarketCore(
    { verifyReceipt },
    { startMs: T0, articles: [articleWithDefaults('fnord', { priceSatsMax: 1_000 })], openBidsPerArticleMax: 2 },
  );
}

/** Runs `command`; expects `expected` (a rejection, or 'accepted'); a rejection must change nothing. */
function expect(core: MarketCore, command: MarketCommand, expected: RejectionName | 'accepted'): void {
  const before = core.stateHash();
  const result = core.execute(command);
  const verdict = result.status === 'accepted' ? 'accepted' : result.rejection;
  assert.equal(verdict, expected, JSON.stringify(command));
  if (result.status === 'rejected') {
    assert.equal(result.code, REJECTIONS[result.rejection].code);
    assert.equal(core.stateHash(), before, `${result.rejection} changed nothing`);
  }
}

test('rejection codes are stable, unique, in their ranges and apart from the transport table', () => {
  const codes = Object.values(REJECTIONS).map((entry) => entry.code);
  assert.equal(new Set(codes).size, codes.length, 'codes are unique');
  for (const [name, { code, message }] of Object.entries(REJECTIONS)) {
    const range = name.startsWith('tx_') ? 4 : /^(articles?|bid)_/.test(name) ? 3 : 5;
    assert.equal(Math.floor(code / 1000), range, `${name} is in the ${range}xxx range`);
    assert.ok(message.length > 10, `${name} has a clear message`);
    assert.ok(!Object.hasOwn(ERRORS, name), `${name} does not clash with a transport error name`);
  }
  const transportCodes = new Set(Object.values(ERRORS).map((entry) => entry.code as number));
  for (const code of codes) assert.ok(!transportCodes.has(code), `${code} does not clash with a transport code`);
});

test('placeBid', () => {
  const core = newCore();
  expect(core, { type: 'credit', nowMs: T0, participant: bob.address, amountSats: 1_000 }, 'accepted');
  expect(core, { type: 'freezeAccount', nowMs: T0, participant: bob.address }, 'accepted');
  const bid = { type: 'placeBid' as const, nowMs: T0, participant: bob.address };
  // Test errors by descending precedence.
  expect(core, { ...bid, article: 'nope', side: 'HOLD' as 'BUY', priceSats: -1 }, 'article_unknown');
  expect(core, { ...bid, article: 'fnord', side: 'HOLD' as 'BUY', priceSats: -1 }, 'bid_side_invalid');
  expect(core, { ...bid, article: 'fnord', side: 'BUY', priceSats: -1 }, 'bid_price_invalid');
  expect(core, { ...bid, article: 'fnord', side: 'BUY', priceSats: 1.5 }, 'bid_price_invalid');
  expect(core, { ...bid, article: 'fnord', side: 'BUY', priceSats: 1_001 }, 'bid_price_out_of_range');
  expect(core, { ...bid, article: 'fnord', side: 'BUY', priceSats: 900 }, 'account_frozen');
  expect(core, { type: 'unfreezeAccount', nowMs: T0, participant: bob.address }, 'accepted');
  expect(core, { ...bid, article: 'fnord', side: 'SELL', priceSats: 900 }, 'accepted');
  expect(core, { ...bid, article: 'fnord', side: 'SELL', priceSats: 950 }, 'accepted');
  expect(core, { ...bid, article: 'fnord', side: 'BUY', priceSats: 900 }, 'bid_limit_reached');
  const fresh = { type: 'placeBid' as const, nowMs: T0, participant: carol.address, article: 'fnord', side: 'BUY' as const };
  expect(core, { ...fresh, priceSats: 1, avoid: [bob.address, bob.address] }, 'bid_avoid_invalid');
  expect(core, { ...fresh, side: 'SELL', priceSats: 1, avoid: [bob.address] }, 'bid_avoid_invalid');
  expect(core, { ...fresh, priceSats: 1, avoid: Array.from({ length: 9 }, (_, i) => `${bob.address.slice(0, -1)}${i}`) }, 'bid_avoid_invalid');
  expect(core, { ...fresh, priceSats: 1 }, 'insufficient_funds');
  expect(core, { type: 'credit', nowMs: T0, participant: carol.address, amountSats: 100 }, 'accepted');
  expect(core, { ...fresh, priceSats: 98 }, 'insufficient_funds'); // 98 + ceil(2.94) = 101
  expect(core, { ...fresh, priceSats: 97 }, 'accepted'); // 97 + ceil(2.91) = 100
});

test('withdrawBid', () => {
  const core = newCore();
  expect(core, { type: 'placeBid', nowMs: T0, participant: bob.address, article: 'fnord', side: 'SELL', priceSats: 10 }, 'accepted');
  const withdraw = { type: 'withdrawBid' as const, nowMs: T0 };
  // Test errors by descending precedence.
  expect(core, { ...withdraw, participant: alice.address, bidId: 'b2' }, 'bid_not_found');
  expect(core, { ...withdraw, participant: alice.address, bidId: 'b01' }, 'bid_not_found');
  expect(core, { ...withdraw, participant: alice.address, bidId: 'b1' }, 'bid_not_owner');
  expect(core, { ...withdraw, participant: bob.address, bidId: 'b1' }, 'accepted');
  expect(core, { ...withdraw, participant: bob.address, bidId: 'b1' }, 'bid_closed');
});

test('txMessage', () => {
  const core = newCore();
  expect(core, { type: 'credit', nowMs: T0, participant: alice.address, amountSats: 10_000 }, 'accepted');
  expect(core, { type: 'placeBid', nowMs: T0, participant: bob.address, article: 'fnord', side: 'SELL', priceSats: 100 }, 'accepted');
  expect(core, { type: 'placeBid', nowMs: T0, participant: alice.address, article: 'fnord', side: 'BUY', priceSats: 100 }, 'accepted');
  const work = sha256Hex('work');
  const secret = sha256Hex('secret');
  const message = (participant: string, txId: string, type: string, fields: Record<string, string>): MarketCommand =>
    ({ type: 'txMessage', nowMs: T0, participant, txId, message: type as 'workhash', fields });
  const workFields = { workhash: work, worksecrethash: workSecretHashOf(work, secret) };
  // Test errors by descending precedence.
  expect(core, message(carol.address, 't9', 'hello', {}), 'tx_message_unknown');
  expect(core, message(carol.address, 't9', 'workhash', { workhash: work }), 'tx_fields_invalid');
  expect(core, message(carol.address, 't9', 'workhash', workFields), 'tx_not_found');
  expect(core, message(carol.address, 't1', 'workhash', workFields), 'tx_not_party');
  expect(core, message(bob.address, 't1', 'workhash', workFields), 'tx_wrong_sender');
  expect(core, message(alice.address, 't1', 'acceptresult', {}), 'tx_wrong_phase');
  expect(core, message(alice.address, 't1', 'workhash', workFields), 'accepted');
  expect(core, message(bob.address, 't1', 'workerurl', { workerurl: 'https://bob.example/' }), 'accepted');
  expect(core, message(bob.address, 't1', 'buyersecret', { buyersecret: sha256Hex('guess') }), 'tx_secret_mismatch');
  expect(core, message(bob.address, 't1', 'buyersecret', { buyersecret: secret }), 'accepted');
  const hash = sha256Hex('encrypted result');
  const receipt = (signer: typeof alice) => ({ encresulthash: hash, encresulthashsig: signText(hash, signer), encresultkey: sha256Hex('key'), resulthash: '5e'.repeat(32) });
  expect(core, message(bob.address, 't1', 'encresult', receipt(bob)), 'tx_receipt_invalid');
  expect(core, message(bob.address, 't1', 'encresult', { ...receipt(alice), encresulthash: sha256Hex('other') }), 'tx_receipt_invalid');
  expect(core, message(bob.address, 't1', 'encresult', receipt(alice)), 'accepted');
  expect(core, message(alice.address, 't1', 'acceptresult', {}), 'accepted');
  expect(core, message(alice.address, 't1', 'acceptresult', {}), 'tx_retired');
});

test('resolveDispute', () => {
  const core = newCore();
  expect(core, { type: 'credit', nowMs: T0, participant: alice.address, amountSats: 10_000 }, 'accepted');
  expect(core, { type: 'placeBid', nowMs: T0, participant: bob.address, article: 'fnord', side: 'SELL', priceSats: 100 }, 'accepted');
  expect(core, { type: 'placeBid', nowMs: T0, participant: alice.address, article: 'fnord', side: 'BUY', priceSats: 100 }, 'accepted');
  const resolve = { type: 'resolveDispute' as const, nowMs: T0 };
  // Test errors by descending precedence.
  expect(core, { ...resolve, txId: 'x1', sellerSats: -1 }, 'tx_not_found');
  expect(core, { ...resolve, txId: 't1', sellerSats: -1 }, 'tx_not_disputed');
  expect(core, { type: 'advanceTime', nowMs: T0 + 60_000 }, 'accepted');
  expect(core, { ...resolve, nowMs: T0 + 60_000, txId: 't1', sellerSats: -1 }, 'tx_retired');
});

test('credit, deposits and payouts', () => {
  const core = newCore();
  const at = { nowMs: T0 };
  // Test errors by descending precedence.
  expect(core, { ...at, type: 'credit', participant: alice.address, amountSats: 0 }, 'amount_invalid');
  expect(core, { ...at, type: 'credit', participant: alice.address, amountSats: 21e14 + 1 }, 'amount_invalid');
  expect(core, { ...at, type: 'credit', participant: alice.address, amountSats: 21e14 }, 'accepted');
  expect(core, { ...at, type: 'credit', participant: bob.address, amountSats: 1 }, 'supply_exceeded');
  payOut(core, alice.address, 'p1', 21e14);

  // Deposit addresses: fresh indices up to the bound of unused ones, then the newest again.
  const reserve = (participant: string) => core.execute({ ...at, type: 'requestDepositAddress', participant, index: core.funds.nextDepositIndex(), address: `bcrt1q-test-${core.funds.nextDepositIndex()}` });
  const reserved = (participant: string) => {
    const result = reserve(participant);
    assert.equal(result.status, 'accepted');
    const event = result.events.find((e) => e.type === 'depositAddressReserved');
    assert.ok(event?.type === 'depositAddressReserved');
    return event;
  };
  const fresh = [1, 2, 3].map(() => reserved(bob.address));
  assert.deepEqual(fresh.map((e) => [e.index, e.fresh]), [[0, true], [1, true], [2, true]]);
  assert.deepEqual([reserved(bob.address).index, reserved(bob.address).fresh], [2, false]);
  assert.equal(reserved(carol.address).index, 3);
  const bobs = fresh[2]!.address;

  const block = { height: 7, hash: 'ab'.repeat(32) };
  const deposit = { ...at, type: 'depositSeen' as const, address: bobs };
  expect(core, { ...deposit, depositId: 'bad id!', amountSats: 0 }, 'reference_invalid');
  expect(core, { ...deposit, depositId: 'tx:0', amountSats: 0 }, 'amount_invalid');
  expect(core, { ...deposit, address: 'bcrt1qnobody', depositId: 'tx:0', amountSats: 5_000 }, 'deposit_address_unknown');
  expect(core, { ...deposit, depositId: 'tx:0', amountSats: 5_000 }, 'accepted');
  expect(core, { ...deposit, depositId: 'tx:0', amountSats: 5_000 }, 'deposit_duplicate');
  // Paid once, the address no longer counts as unused: the next request is fresh again.
  assert.deepEqual([reserved(bob.address).index, reserved(bob.address).fresh], [4, false]);
  expect(core, { ...at, type: 'depositMoved', depositId: 'tx:0', block }, 'deposit_not_credited');
  expect(core, { ...at, type: 'depositConfirmed', depositId: 'tx:9', block }, 'deposit_not_found');
  expect(core, { ...at, type: 'depositConfirmed', depositId: 'tx:0', block }, 'accepted');
  expect(core, { ...at, type: 'depositConfirmed', depositId: 'tx:0', block }, 'deposit_not_found');
  expect(core, { ...at, type: 'depositDropped', depositId: 'tx:0' }, 'deposit_not_found');
  expect(core, { ...deposit, depositId: 'tx:0', amountSats: 5_000 }, 'deposit_duplicate');
  // Below the minimum: recorded (the outpoint is closed), no money.
  expect(core, { ...deposit, depositId: 'tx:1', amountSats: 999 }, 'accepted');
  expect(core, { ...deposit, depositId: 'tx:1', amountSats: 999 }, 'deposit_duplicate');
  expect(core, { ...at, type: 'depositConfirmed', depositId: 'tx:1', block }, 'deposit_not_found');
  assert.equal(core.account(bob.address)?.availableSats, 5_000);
  expect(core, { ...at, type: 'depositFinal', depositId: 'tx:0' }, 'accepted');
  expect(core, { ...at, type: 'depositReversed', depositId: 'tx:0' }, 'deposit_not_credited');
  expect(core, { ...deposit, depositId: 'tx:0', amountSats: 5_000 }, 'deposit_duplicate');
  payOut(core, bob.address, 'p9', 4_500);

  const withdraw = { ...at, type: 'requestWithdrawal' as const, destination: 'bcrt1qdestination' };
  expect(core, { ...withdraw, participant: carol.address, key: '', amountSats: 0 }, 'reference_invalid');
  expect(core, { ...withdraw, participant: carol.address, key: 'k2', amountSats: 0 }, 'amount_invalid');
  expect(core, { ...withdraw, participant: alice.address, key: 'p1', amountSats: 1 }, 'withdrawal_key_reused');
  expect(core, { ...withdraw, participant: carol.address, key: 'k2', amountSats: 1 }, 'account_not_found');
  expect(core, { ...at, type: 'freezeAccount', participant: bob.address }, 'accepted');
  expect(core, { ...withdraw, participant: bob.address, key: 'k2', amountSats: 1 }, 'account_frozen');
  expect(core, { ...at, type: 'unfreezeAccount', participant: bob.address }, 'accepted');
  expect(core, { ...withdraw, participant: bob.address, key: 'k2', amountSats: 501 }, 'insufficient_funds');
  expect(core, { ...withdraw, participant: bob.address, key: 'k2', amountSats: 500 }, 'accepted');
  const id = core.funds.withdrawalsOf(bob.address)[0]!.withdrawalId;
  // The same key and body again: the same withdrawal, nothing moves (the state hash is unchanged).
  const before = core.stateHash();
  const again = core.execute({ ...withdraw, participant: bob.address, key: 'k2', amountSats: 500 });
  assert.equal(again.status, 'accepted');
  assert.deepEqual(again.events.map((event) => event.type === 'withdrawal' && [event.withdrawalId, event.repeated]), [[id, true]]);
  assert.equal(core.stateHash(), before);
  const step = (withdrawalId: string, type: string, extra: object = {}) => ({ ...at, type: 'withdrawalStep' as const, withdrawalId, step: { type, ...extra } as never });
  expect(core, step('w99', 'APPROVE', { by: 'processor', nowMs: T0 }), 'withdrawal_not_found');
  expect(core, step(id, 'BROADCAST'), 'withdrawal_wrong_state');
  expect(core, step(id, 'REFUND'), 'withdrawal_wrong_state');
  expect(core, step(id, 'FAIL', { reason: 'operator' }), 'accepted');
  expect(core, step(id, 'APPROVE', { by: 'admin', nowMs: T0 }), 'withdrawal_wrong_state');
  expect(core, step(id, 'REFUND'), 'accepted');
  expect(core, step(id, 'REFUND'), 'withdrawal_not_found');
  assert.equal(core.account(bob.address)?.availableSats, 500);

  // The operator's policy: a daily limit, manual review above a threshold, a delay for new destinations.
  const policy = (dailyLimitSats: number, manualAboveSats: number, newDestinationDelayMs: number) => ({ ...at, type: 'setWithdrawalPolicy' as const, policy: { dailyLimitSats, manualAboveSats, newDestinationDelayMs } });
  expect(core, policy(-1, 0, 0), 'withdrawal_policy_invalid');
  expect(core, policy(0, 0, 31 * 86_400_000), 'withdrawal_policy_invalid');
  expect(core, policy(5_400, 200, 60_000), 'accepted'); // bob requested 4,500 + 500 today already (the 500 refunded, still counted)
  expect(core, { ...withdraw, participant: bob.address, key: 'k3', amountSats: 401 }, 'withdrawal_daily_limit');
  expect(core, { ...withdraw, participant: bob.address, key: 'k3', amountSats: 300 }, 'accepted');
  expect(core, { ...withdraw, participant: bob.address, key: 'k4', destination: 'bcrt1qelsewhere', amountSats: 101 }, 'withdrawal_daily_limit');
  const big = core.funds.withdrawalsOf(bob.address).find((w) => w.key === 'k3')!.withdrawalId; // above 200, to a destination paid before
  expect(core, step(big, 'APPROVE', { by: 'processor', nowMs: T0 }), 'withdrawal_needs_approval');
  expect(core, step(big, 'APPROVE', { by: 'processor', nowMs: T0 }), 'withdrawal_needs_approval');
  expect(core, step(big, 'APPROVE', { by: 'admin', nowMs: T0 }), 'accepted');
  expect(core, { ...withdraw, participant: bob.address, key: 'k4', destination: 'bcrt1qelsewhere', amountSats: 100 }, 'accepted');
  const small = core.funds.withdrawalsOf(bob.address).find((w) => w.key === 'k4')!.withdrawalId;
  expect(core, step(small, 'APPROVE', { by: 'processor', nowMs: T0 }), 'withdrawal_needs_approval'); // a new destination waits a minute
  expect(core, { type: 'advanceTime', nowMs: T0 + 60_000 }, 'accepted');
  expect(core, { ...step(small, 'APPROVE', { by: 'processor', nowMs: T0 + 60_000 }), nowMs: T0 + 60_000 }, 'accepted');
});

/** A withdrawal walked through every state to completed. */
function payOut(core: MarketCore, participant: string, key: string, amountSats: number): void {
  expect(core, { nowMs: T0, type: 'requestWithdrawal', participant, key, destination: 'bcrt1qdestination', amountSats }, 'accepted');
  const id = core.funds.withdrawalsOf(participant).find((w) => w.key === key)!.withdrawalId;
  const steps = [{ type: 'APPROVE', by: 'processor', nowMs: T0 }, { type: 'BATCH', batchId: 'b1' }, { type: 'SIGN', txid: 'ab'.repeat(32) }, { type: 'BROADCAST' }, { type: 'CONFIRM', txid: 'ab'.repeat(32), block: { height: 1, hash: 'cd'.repeat(32) } }, { type: 'COMPLETE' }];
  for (const step of steps) expect(core, { nowMs: T0, type: 'withdrawalStep', withdrawalId: id, step: step as never }, 'accepted');
}

test('freeze and unfreeze', () => {
  const core = newCore();
  // Test errors by descending precedence.
  expect(core, { type: 'freezeAccount', nowMs: T0, participant: alice.address }, 'account_not_found');
  expect(core, { type: 'credit', nowMs: T0, participant: alice.address, amountSats: 1 }, 'accepted');
  expect(core, { type: 'unfreezeAccount', nowMs: T0, participant: alice.address }, 'account_not_frozen');
  expect(core, { type: 'freezeAccount', nowMs: T0, participant: alice.address }, 'accepted');
  expect(core, { type: 'freezeAccount', nowMs: T0, participant: alice.address }, 'account_frozen');
});

test('defineArticle', () => {
  const core = newCore();
  const define = (article: object): MarketCommand => ({ type: 'defineArticle', nowMs: T0, article: article as never });
  // Test errors by descending precedence.
  expect(core, define({ ...articleWithDefaults('fnord'), feeNumerator: 101 }), 'article_invalid');
  expect(core, define({ ...articleWithDefaults('bad id') }), 'article_invalid');
  expect(core, define({ ...articleWithDefaults('x'), priceSatsMax: 21e14, feeNumerator: 5, feeDenominator: 5 }), 'article_invalid');
  expect(core, define({ ...articleWithDefaults('x'), bidLifetimeMs: 999 }), 'article_invalid');
  expect(core, define(articleWithDefaults('fnord')), 'article_exists');
  expect(core, define(articleWithDefaults('net.bitwrk/blender/0/3.4/512M~trusted')), 'accepted');
  assert.deepEqual(core.catalogue().map((a) => a.articleId), ['fnord', 'net.bitwrk/blender/0/3.4/512M~trusted']);
});

// Goal: the core's deposit rules hold with exact money: an address index is never given twice
// (also under 1,000 requests in a row from as many participants), a credit keeps its block, a
// reversal after credit takes the money back through the ledger even when it was spent (the
// account is frozen while it owes, and unfreezing waits until a later deposit repays), and a
// snapshot taken mid-way restores to the same state. Method: direct commands on a MarketCore.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { articleWithDefaults } from '../../src/market/articles.js';
import type { CoreEvent, MarketCommand, UntimedCommand } from '../../src/market/commands.js';
import { MarketCore } from '../../src/market/core.js';
import { participant, verifyReceipt } from './support/participants.js';

const T0 = 1_700_000_000_000;
const alice = participant('alice');
const bob = participant('bob');
const ARTICLE = articleWithDefaults('net.bitwrk/test/hash/sha256', { priceSatsMin: 1, priceSatsMax: 1_000_000 });

function newCore(): MarketCore {
  return new MarketCore({ verifyReceipt }, { startMs: T0, articles: [ARTICLE] });
}

function run(core: MarketCore, command: UntimedCommand): readonly CoreEvent[] {
  const result = core.execute({ nowMs: T0, ...command } as MarketCommand);
  assert.equal(result.status, 'accepted', `${command.type}: ${result.status === 'rejected' ? result.rejection : ''}`);
  core.checkInvariants();
  return result.events;
}

function reserve(core: MarketCore, who: string): string {
  const index = core.funds.nextDepositIndex();
  const events = run(core, { type: 'requestDepositAddress', participant: who, index, address: `bcrt1q-derived-${index}` });
  const reserved = events.find((event) => event.type === 'depositAddressReserved');
  assert.ok(reserved?.type === 'depositAddressReserved');
  return reserved.address;
}

test('1,000 participants asking at once get 1,000 distinct, strictly increasing indices', () => {
  const core = newCore();
  const indices: number[] = [];
  for (let n = 0; n < 1_000; n++) {
    const events = run(core, { type: 'requestDepositAddress', participant: `p${n}`, index: core.funds.nextDepositIndex(), address: `a${n}` });
    const event = events[0]!;
    assert.ok(event.type === 'depositAddressReserved' && event.fresh);
    indices.push(event.index);
  }
  assert.deepEqual(indices, [...Array(1_000).keys()]);
  assert.equal(core.exportState().depositAddresses.length, 1_000);
});

test('a credit reversed after it was spent leaves the account owing and frozen until a new deposit repays it', () => {
  const core = newCore();
  const address = reserve(core, bob.address);
  const block = { height: 10, hash: 'aa'.repeat(32) };
  run(core, { type: 'depositSeen', depositId: `${'11'.repeat(32)}:0`, address, amountSats: 50_000 });
  assert.equal(core.account(bob.address)?.depositPendingSats, 50_000);
  assert.equal(core.account(bob.address)?.availableSats, 0);
  const credited = run(core, { type: 'depositConfirmed', depositId: `${'11'.repeat(32)}:0`, block });
  assert.deepEqual(credited.at(-1), { type: 'deposit', depositId: `${'11'.repeat(32)}:0`, participant: bob.address, address, amountSats: 50_000, change: 'credited', block });
  assert.equal(core.exportState().deposits[0]?.block?.hash, block.hash);
  // Bob spends most of it on a bid (held), then the block is reorged out.
  run(core, { type: 'placeBid', participant: bob.address, side: 'BUY', article: ARTICLE.articleId, priceSats: 30_000 });
  const held = core.account(bob.address)!.heldSats;
  const reversed = run(core, { type: 'depositReversed', depositId: `${'11'.repeat(32)}:0` });
  assert.deepEqual(reversed.map((event) => event.type), ['transfer', 'deposit', 'accountFrozen', 'accountOverdrawn']);
  assert.deepEqual(reversed[0], { type: 'transfer', kind: 'deposit_reversed', from: `available:${bob.address}`, to: 'world', amountSats: 50_000, reference: `${'11'.repeat(32)}:0` });
  const owing = core.account(bob.address)!;
  assert.equal(owing.availableSats, 50_000 - held - 50_000);
  assert.equal(owing.frozen, true);
  const unfreeze = core.execute({ nowMs: T0, type: 'unfreezeAccount', participant: bob.address });
  assert.equal(unfreeze.status === 'rejected' && unfreeze.rejection, 'account_overdrawn');
  const payout = core.execute({ nowMs: T0, type: 'requestWithdrawal', participant: bob.address, key: 'w1', destination: 'bcrt1qsomewhere', amountSats: 1 });
  assert.equal(payout.status === 'rejected' && payout.rejection, 'account_frozen');
  // The same transaction re-mined later counts again, as a new deposit of the same outpoint.
  run(core, { type: 'depositSeen', depositId: `${'11'.repeat(32)}:0`, address, amountSats: 50_000 });
  run(core, { type: 'depositConfirmed', depositId: `${'11'.repeat(32)}:0`, block: { height: 11, hash: 'bb'.repeat(32) } });
  assert.equal(core.account(bob.address)!.availableSats, 50_000 - held);
  run(core, { type: 'unfreezeAccount', participant: bob.address });
  // Restored from a snapshot, the same state.
  const clone = MarketCore.fromState(core.exportState(), { verifyReceipt });
  assert.equal(clone.stateHash(), core.stateHash());
});

test('a credited deposit moved to another block keeps its money; final closes the outpoint for good', () => {
  const core = newCore();
  const address = reserve(core, alice.address);
  const id = `${'22'.repeat(32)}:1`;
  run(core, { type: 'depositSeen', depositId: id, address, amountSats: 7_000 });
  run(core, { type: 'depositConfirmed', depositId: id, block: { height: 3, hash: 'cc'.repeat(32) } });
  const moved = run(core, { type: 'depositMoved', depositId: id, block: { height: 4, hash: 'dd'.repeat(32) } });
  assert.deepEqual(moved.map((event) => event.type), ['deposit']);
  assert.equal(core.account(alice.address)!.availableSats, 7_000);
  run(core, { type: 'depositFinal', depositId: id });
  assert.deepEqual(core.exportState().deposits, []);
  assert.deepEqual(core.exportState().closedDepositIds, [id]);
  const again = core.execute({ nowMs: T0, type: 'depositSeen', depositId: id, address, amountSats: 7_000 });
  assert.equal(again.status === 'rejected' && again.rejection, 'deposit_duplicate');
});

test('a reversal that empties the account exactly leaves no account behind (found by the chain property test)', () => {
  const core = newCore();
  const address = reserve(core, alice.address);
  const id = `${'33'.repeat(32)}:0`;
  run(core, { type: 'depositSeen', depositId: id, address, amountSats: 4_000 });
  run(core, { type: 'depositConfirmed', depositId: id, block: { height: 1, hash: 'ee'.repeat(32) } });
  const events = run(core, { type: 'depositReversed', depositId: id });
  assert.deepEqual(events.map((event) => event.type), ['transfer', 'deposit']);
  assert.equal(core.account(alice.address), undefined);
});

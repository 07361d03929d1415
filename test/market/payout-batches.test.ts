// Goal: the core's payout batches keep their rules whatever the processor sends: a batch adds up
// (inputs = withdrawals + change + fee), is the next id and change index, spends no coin another
// live batch spends, and takes only approved withdrawals not in a batch; a batch's withdrawals move
// only together (withdrawalStep refuses them); a fee bump pays more out of the change only; the
// signed transaction is recorded once per candidate; FAIL is refused once something is signed
// (unless conflicted), so a signed payment can never also be refunded; the state survives an
// export and restore with the same hash. Method: a MarketCore and hand-made commands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MarketCore } from '../../src/market/core.js';
import type { MarketCommand, PayoutBatchStep, UntimedCommand } from '../../src/market/commands.js';
import type { RejectionName } from '../../src/market/rejections.js';
import { verifyReceipt } from './support/participants.js';

const TX = (n: number): string => n.toString(16).padStart(64, '0');
const RAW = '02000000' + '00'.repeat(40);

function market() {
  const core = new MarketCore({ verifyReceipt }, { startMs: 0 });
  const run = (command: UntimedCommand): RejectionName | null => {
    const result = core.execute({ nowMs: 0, ...command } as MarketCommand);
    core.checkInvariants();
    return result.status === 'accepted' ? null : result.rejection;
  };
  const ok = (command: UntimedCommand): void => assert.equal(run(command), null, command.type);
  const withdraw = (who: string, amountSats: number): string => {
    ok({ type: 'credit', participant: who, amountSats: 100_000 });
    ok({ type: 'requestWithdrawal', participant: who, key: `k${amountSats}`, destination: `dest-${who}`, amountSats });
    const id = core.funds.withdrawalsOf(who).at(-1)!.withdrawalId;
    ok({ type: 'withdrawalStep', withdrawalId: id, step: { type: 'APPROVE', by: 'processor', nowMs: 0 } });
    return id;
  };
  return { core, run, ok, withdraw };
}

const inputs = [{ txid: TX(1), vout: 0, valueSats: 80_000, chain: 0 as const, index: 0 }];
const unsigned = (feeSats: number, changeSats: number) => ({ psbtBase64: 'cHNidP8=', feeSats, changeSats, feeRateSatVb: 2 });

test('a batch must add up, be the next, spend free coins and take approved withdrawals; then its withdrawals move only together', () => {
  const { core, run, ok, withdraw } = market();
  const a = withdraw('alice', 30_000);
  const b = withdraw('bob', 20_000);
  const batch = (overrides: object) => ({ type: 'payoutBatch' as const, batchId: 'b1', withdrawalIds: [a, b], inputs, changeIndex: 1, unsigned: unsigned(500, 29_500), ...overrides });
  assert.equal(run(batch({ unsigned: unsigned(500, 29_501) })), 'payout_batch_invalid', 'one satoshi out');
  assert.equal(run(batch({ batchId: 'b2' })), 'payout_batch_invalid', 'not the next id');
  assert.equal(run(batch({ changeIndex: 0 })), 'payout_batch_invalid', '1/0 is the float, never change');
  assert.equal(run(batch({ withdrawalIds: [a, a] })), 'payout_batch_invalid');
  assert.equal(run(batch({ inputs: [...inputs, inputs[0]] })), 'payout_batch_invalid', 'a coin twice');
  assert.equal(run(batch({ withdrawalIds: [a, 'w99'] })), 'withdrawal_not_found');
  assert.equal(core.funds.payoutBatches().length, 0, 'refusals change nothing');
  ok(batch({}));
  assert.deepEqual([core.funds.withdrawal(a)?.state, core.funds.withdrawal(a)?.batchId], ['batched', 'b1']);
  assert.deepEqual(core.funds.nextPayoutBatch(), { batchId: 'b2', changeIndex: 2 });
  const c = withdraw('carol', 10_000);
  assert.equal(run({ type: 'payoutBatch', batchId: 'b2', withdrawalIds: [c], inputs, changeIndex: 2, unsigned: unsigned(500, 69_500) }), 'payout_batch_invalid', 'a coin of a live batch');
  assert.equal(run({ type: 'payoutBatch', batchId: 'b2', withdrawalIds: [a], inputs: [{ ...inputs[0]!, txid: TX(2) }], changeIndex: 2, unsigned: unsigned(500, 49_500) }), 'withdrawal_wrong_state', 'already in a batch');
  for (const step of [{ type: 'FAIL', reason: 'x' }, { type: 'SIGN', txid: TX(9) }, { type: 'REFUND' }] as const) {
    assert.equal(run({ type: 'withdrawalStep', withdrawalId: a, step }), 'withdrawal_in_batch', step.type);
  }
});

test('signing records the candidate before any broadcast; a bump pays more out of the change only; a signed batch cannot fail unless conflicted', () => {
  const { core, run, ok, withdraw } = market();
  const a = withdraw('alice', 30_000);
  ok({ type: 'payoutBatch', batchId: 'b1', withdrawalIds: [a], inputs, changeIndex: 1, unsigned: unsigned(500, 49_500) });
  const step = (s: PayoutBatchStep) => run({ type: 'payoutBatchStep', batchId: 'b1', step: s });
  assert.equal(run({ type: 'payoutSigned', batchId: 'b1', txid: 'not-a-txid', rawHex: RAW }), 'payout_batch_invalid');
  ok({ type: 'payoutSigned', batchId: 'b1', txid: TX(10), rawHex: RAW });
  assert.deepEqual([core.funds.withdrawal(a)?.state, core.funds.withdrawal(a)?.txid], ['signed', TX(10)]);
  assert.equal(run({ type: 'payoutSigned', batchId: 'b1', txid: TX(11), rawHex: RAW }), 'payout_batch_wrong_state', 'nothing waits for a signature');
  assert.equal(step({ type: 'FAIL', reason: 'changed my mind' }), 'payout_batch_wrong_state', 'signed: it may still confirm');
  assert.equal(run({ type: 'payoutBump', batchId: 'b1', unsigned: unsigned(900, 49_100) }), 'payout_batch_wrong_state', 'bumped only once broadcast');
  ok({ type: 'payoutBatchStep', batchId: 'b1', step: { type: 'BROADCAST' } });
  assert.equal(run({ type: 'payoutBump', batchId: 'b1', unsigned: unsigned(900, 49_000) }), 'payout_batch_invalid', 'the extra fee must come out of the change');
  assert.equal(run({ type: 'payoutBump', batchId: 'b1', unsigned: unsigned(400, 49_600) }), 'payout_batch_invalid', 'a bump pays more');
  ok({ type: 'payoutBump', batchId: 'b1', unsigned: unsigned(900, 49_100) });
  ok({ type: 'payoutSigned', batchId: 'b1', txid: TX(11), rawHex: RAW });
  assert.equal(step({ type: 'CONFIRM', txid: TX(12), block: { height: 5, hash: TX(5) } }), 'payout_batch_invalid', 'not one of its candidates');
  // Whichever candidate confirms completes it: here the original.
  ok({ type: 'payoutBatchStep', batchId: 'b1', step: { type: 'CONFIRM', txid: TX(10), block: { height: 5, hash: TX(5) } } });
  assert.equal(core.funds.withdrawal(a)?.txid, TX(10));
  const restored = MarketCore.fromState(core.exportState(), { verifyReceipt });
  assert.equal(restored.stateHash(), core.stateHash(), 'batches survive a snapshot');
  ok({ type: 'payoutBatchStep', batchId: 'b1', step: { type: 'COMPLETE' } });
  assert.equal(core.funds.payoutBatches().length, 0);
  assert.deepEqual([core.account('alice')?.availableSats, core.account('alice')?.payoutPendingSats], [70_000, 0]);
});

test('a conflicted batch fails only by the admin, and its withdrawals are refunded only afterwards, one by one', () => {
  const { core, run, ok, withdraw } = market();
  const a = withdraw('alice', 30_000);
  ok({ type: 'payoutBatch', batchId: 'b1', withdrawalIds: [a], inputs, changeIndex: 1, unsigned: unsigned(500, 49_500) });
  ok({ type: 'payoutSigned', batchId: 'b1', txid: TX(10), rawHex: RAW });
  ok({ type: 'payoutBatchStep', batchId: 'b1', step: { type: 'BROADCAST' } });
  ok({ type: 'payoutBatchStep', batchId: 'b1', step: { type: 'CONFLICT' } });
  assert.equal(run({ type: 'withdrawalStep', withdrawalId: a, step: { type: 'REFUND' } }), 'withdrawal_in_batch');
  ok({ type: 'payoutBatchStep', batchId: 'b1', step: { type: 'FAIL', reason: 'double-spent' } });
  assert.equal(core.funds.withdrawal(a)?.state, 'failed');
  assert.equal(core.account('alice')?.payoutPendingSats, 30_000, 'held until the refund');
  ok({ type: 'withdrawalStep', withdrawalId: a, step: { type: 'REFUND' } });
  assert.deepEqual([core.account('alice')?.availableSats, core.account('alice')?.payoutPendingSats], [100_000, 0]);
});

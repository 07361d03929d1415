// Goal: a dispute ends by evidence (docs/market-rules.md §6, "Evidence"): the buyer names other
// sellers' transactions for the same work, and the strict majority of the sellers' signed result
// hashes decides, in the same command; the reputation counts record who lost. Method: scripted runs
// on a fresh core with real signatures, exact satoshi amounts; every refusal leaves the state hash
// unchanged; the majority rule is checked against its definition with fast-check, and random
// evidence against the reference model (test/market/support/reference-model.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { articleWithDefaults } from '../../src/market/articles.js';
import { TEST_HASH_ARTICLE } from '../../src/market/catalogue.js';
import type { CommandResult, CoreEvent, MarketCommand } from '../../src/market/commands.js';
import { MarketCore } from '../../src/market/core.js';
import { majorityResult } from '../../src/market/evidence.js';
import type { RejectionName } from '../../src/market/rejections.js';
import { workSecretHashOf } from '../../src/machines/transaction.js';
import { participant, sha256Hex, signText, verifyReceipt } from './support/participants.js';
import { ReferenceMarket } from './support/reference-model.js';
import type { Participant } from './support/participants.js';

const T0 = 1_700_000_000_000;
const alice = participant('alice'); // buys the same work three times
const [bob, carol, dave] = [participant('bob'), participant('carol'), participant('dave')];
const RIGHT = sha256Hex('the right result');
const WRONG = sha256Hex('garbage');

function accepted(result: CommandResult): readonly CoreEvent[] {
  assert.equal(result.status, 'accepted', JSON.stringify(result));
  return result.events;
}

function newCore(article = TEST_HASH_ARTICLE): MarketCore {
  const core = new MarketCore({ verifyReceipt }, { startMs: T0, articles: [articleWithDefaults(article, { priceSatsMax: 100_000 })] });
  accepted(core.execute({ type: 'credit', nowMs: T0, participant: alice.address, amountSats: 10_000 }));
  return core;
}

/** One purchase of `work` from `seller` at 1 000 sat, driven to UNVERIFIED with the seller's commitment. */
function buy(core: MarketCore, seller: Participant, resultHash: string, work = sha256Hex('the work'), article = TEST_HASH_ARTICLE): string {
  accepted(core.execute({ type: 'placeBid', nowMs: T0, participant: seller.address, article, side: 'SELL', priceSats: 1_000 }));
  const events = accepted(core.execute({ type: 'placeBid', nowMs: T0, participant: alice.address, article, side: 'BUY', priceSats: 1_000 }));
  const txId = events.find((e) => e.type === 'trade')!.txId;
  const send = (who: Participant, message: string, fields: Record<string, string>): void => {
    accepted(core.execute({ type: 'txMessage', nowMs: T0, participant: who.address, txId, message: message as 'workhash', fields }));
  };
  const secret = sha256Hex(`secret ${txId}`);
  const encrypted = sha256Hex(`encrypted ${txId}`);
  send(alice, 'workhash', { workhash: work, worksecrethash: workSecretHashOf(work, secret) });
  send(seller, 'workerurl', { workerurl: 'https://seller.example/' });
  send(seller, 'buyersecret', { buyersecret: secret });
  send(seller, 'encresult', { encresulthash: encrypted, encresulthashsig: signText(encrypted, alice), encresultkey: sha256Hex('key'), resulthash: resultHash });
  return txId;
}

function reject(core: MarketCore, txId: string): void {
  accepted(core.execute({ type: 'txMessage', nowMs: T0, participant: alice.address, txId, message: 'rejectresult', fields: { reason: 'differs from the others' } }));
}

function evidence(core: MarketCore, txId: string, witnesses: string[], who = alice): CommandResult {
  return core.execute({ type: 'submitEvidence', nowMs: T0, participant: who.address, txId, witnesses });
}

function available(core: MarketCore, who: Participant): number {
  return core.account(who.address)?.availableSats ?? 0;
}

test('the majority against the disputed seller: the buyer gets the price back at once, the seller nothing, the exchange its fee', () => {
  const core = newCore();
  const [t1, t2, t3] = [buy(core, bob, WRONG), buy(core, carol, RIGHT), buy(core, dave, RIGHT)];
  reject(core, t1);
  const before = available(core, alice);
  const events = accepted(evidence(core, t1, [t2, t3]));
  const retired = events.find((e) => e.type === 'txRetired');
  assert.deepEqual(retired, { type: 'txRetired', txId: t1, phase: 'RESULT_DISPUTED', atMs: T0, sellerSats: 0, feeSats: 30, refundSats: 1_000, byArbiter: false, byEvidence: true });
  assert.equal(available(core, alice), before + 1_000);
  assert.equal(available(core, bob), 0);
  assert.equal(core.transaction(t1), undefined, 'the dispute ended: minutes, not the 7-day window');
  assert.equal(core.reputationOf(bob.address).sales.disputesLost, 1);
  assert.equal(core.reputationOf(alice.address).purchases.disputesLost, 0);
  // The witnesses are the buyer's own purchases: it accepts them afterwards, and they pay as usual.
  for (const txId of [t2, t3]) accepted(core.execute({ type: 'txMessage', nowMs: T0, participant: alice.address, txId, message: 'acceptresult', fields: {} }));
  assert.deepEqual([available(core, carol), available(core, dave)], [1_000, 1_000]);
  assert.deepEqual(core.reputationOf(carol.address).sales, { finished: 1, disputed: 0, disputesLost: 0, workRejected: 0, timedOut: 0 });
  assert.deepEqual(core.reputationOf(alice.address).purchases, { finished: 2, disputed: 1, disputesLost: 0, workRejected: 0, timedOut: 0 });
  assert.equal(MarketCore.fromState(core.exportState(), { verifyReceipt }).stateHash(), core.stateHash(), 'the counts are part of the state');
});

test('the majority with the disputed seller: a buyer who rejected good work pays as if it had accepted, and lost the dispute', () => {
  const core = newCore();
  const [t1, t2, t3] = [buy(core, bob, RIGHT), buy(core, carol, RIGHT), buy(core, dave, WRONG)];
  reject(core, t1);
  const retired = accepted(evidence(core, t1, [t2, t3])).find((e) => e.type === 'txRetired');
  assert.equal(retired?.type === 'txRetired' && retired.sellerSats, 1_000);
  assert.equal(available(core, bob), 1_000);
  assert.equal(core.reputationOf(alice.address).purchases.disputesLost, 1);
  assert.equal(core.reputationOf(bob.address).sales.disputesLost, 0);
});

test('evidence that does not qualify is refused with its reason and changes nothing', () => {
  const core = newCore();
  const [t1, t2, t3] = [buy(core, bob, WRONG), buy(core, carol, RIGHT), buy(core, dave, sha256Hex('a third'))];
  const t4 = buy(core, carol, RIGHT); // carol again
  const t5 = buy(core, dave, RIGHT, sha256Hex('other work'));
  const cases: [string, string[], RejectionName, Participant?][] = [
    [t1, [t2, t3], 'tx_not_disputed'],
  ];
  for (const [txId, witnesses, expected, who] of cases) refused(core, () => evidence(core, txId, witnesses, who), expected);
  reject(core, t1);
  const more: [string, string[], RejectionName, Participant?][] = [
    ['t999', [t2, t3], 'tx_not_found'],
    [t1, [t2, t3], 'tx_wrong_sender', bob],
    [t1, [t2, t3], 'tx_not_party', carol],
    [t1, [t2], 'tx_evidence_invalid'], // one witness is no majority of independent results
    [t1, [t2, t4], 'tx_evidence_invalid'], // the same seller twice
    [t1, [t2, t5], 'tx_evidence_invalid'], // another work
    [t1, [t2, 't999'], 'tx_evidence_invalid'],
    [t1, [t2, t1], 'tx_evidence_invalid'], // the disputed seller as its own witness
    [t1, [t2, t3], 'tx_evidence_inconclusive'], // three different results
  ];
  for (const [txId, witnesses, expected, who] of more) refused(core, () => evidence(core, txId, witnesses, who), expected);
});

test('an article without replicable results takes no evidence: its disputes wait for the arbiter', () => {
  const core = newCore('fnord');
  const work = sha256Hex('w');
  const [t1, t2, t3] = [buy(core, bob, WRONG, work, 'fnord'), buy(core, carol, RIGHT, work, 'fnord'), buy(core, dave, RIGHT, work, 'fnord')];
  reject(core, t1);
  refused(core, () => evidence(core, t1, [t2, t3]), 'tx_evidence_not_replicable');
});

function refused(core: MarketCore, command: () => CommandResult, expected: RejectionName): void {
  const before = core.stateHash();
  const result = command();
  assert.equal(result.status === 'rejected' && result.rejection, expected);
  assert.equal(core.stateHash(), before, `${expected} changed nothing`);
}

test('property: the majority is a hash more than half of the distinct sellers committed to, at least two of them', () => {
  const claim = fc.record({ seller: fc.constantFrom('s1', 's2', 's3', 's4', 's5'), resultHash: fc.constantFrom('a', 'b', 'c') });
  fc.assert(
    fc.property(fc.array(claim, { maxLength: 8 }), (claims) => {
      const first = new Map<string, string>();
      for (const c of claims) if (!first.has(c.seller)) first.set(c.seller, c.resultHash);
      const votes = [...first.values()];
      const winner = majorityResult(claims);
      const expected = ['a', 'b', 'c'].find((hash) => {
        const count = votes.filter((v) => v === hash).length;
        return count >= 2 && 2 * count > votes.length;
      });
      assert.equal(winner, expected ?? null);
    }),
  );
});

test('model-based: random purchases of two works from four sellers, one disputed, random witnesses: the core and the reference model agree', () => {
  const sellers = [bob, carol, dave, participant('erin')];
  // Mostly distinct sellers and one work (so that witnesses often qualify), sometimes not.
  const purchase = fc.record({ seller: fc.nat(4).map((n) => (n < 2 ? 4 : n - 2)), work: fc.nat(3).map((n) => (n === 3 ? 1 : 0)), result: fc.nat(2) });
  const verdicts = new Map<string, number>();
  fc.assert(
    fc.property(fc.array(purchase, { minLength: 3, maxLength: 6 }), fc.nat(5), fc.array(fc.nat(5), { maxLength: 5 }), fc.nat(5), (purchases, disputed, picks, sender) => {
      const byBuyer = sender > 0;
      const articles = [articleWithDefaults(TEST_HASH_ARTICLE, { priceSatsMax: 100_000 })];
      const core = new MarketCore({ verifyReceipt }, { startMs: T0, articles });
      const model = new ReferenceMarket(verifyReceipt, { startMs: T0, articles });
      const both = (command: MarketCommand): string => {
        const [left, right] = [core.execute(command), model.execute(command)];
        const verdict = (result: { status: 'accepted' } | { status: 'rejected'; rejection: RejectionName }): string => (result.status === 'accepted' ? 'accepted' : result.rejection);
        assert.equal(verdict(left), verdict(right), JSON.stringify(command));
        assert.equal(core.stateHash(), model.stateHash(), `same state after ${JSON.stringify(command)}`);
        return verdict(left);
      };
      both({ type: 'credit', nowMs: T0, participant: alice.address, amountSats: 100_000 });
      const txIds = purchases.map(({ seller, work, result }, index) => {
        const who = sellers[seller === 4 ? index % 4 : seller]!;
        both({ type: 'placeBid', nowMs: T0, participant: who.address, article: TEST_HASH_ARTICLE, side: 'SELL', priceSats: 1_000 });
        both({ type: 'placeBid', nowMs: T0, participant: alice.address, article: TEST_HASH_ARTICLE, side: 'BUY', priceSats: 1_000 });
        const txId = `t${core.exportState().txSeq}`;
        const workHash = sha256Hex(`work ${work}`);
        const secret = sha256Hex(`secret ${txId}`);
        const encrypted = sha256Hex(`encrypted ${txId}`);
        const send = (from: Participant, message: string, fields: Record<string, string>) => both({ type: 'txMessage', nowMs: T0, participant: from.address, txId, message: message as 'workhash', fields });
        send(alice, 'workhash', { workhash: workHash, worksecrethash: workSecretHashOf(workHash, secret) });
        send(who, 'workerurl', { workerurl: 'https://seller.example/' });
        send(who, 'buyersecret', { buyersecret: secret });
        send(who, 'encresult', { encresulthash: encrypted, encresulthashsig: signText(encrypted, alice), encresultkey: sha256Hex('key'), resulthash: sha256Hex(`result ${work} ${result}`) });
        return txId;
      });
      const target = txIds[disputed % txIds.length]!;
      both({ type: 'txMessage', nowMs: T0, participant: alice.address, txId: target, message: 'rejectresult', fields: { reason: 'wrong' } });
      // Mostly the buyer's other purchases (as a daemon names them), sometimes anything, the disputed one included.
      const others = txIds.filter((txId) => txId !== target);
      const witnesses = sender === 1 ? picks.map((pick) => txIds[pick % txIds.length]!) : [...new Set(picks.map((pick) => others[pick % others.length]!))];
      const verdict = both({ type: 'submitEvidence', nowMs: T0, participant: (byBuyer ? alice : bob).address, txId: target, witnesses });
      verdicts.set(verdict, (verdicts.get(verdict) ?? 0) + 1);
      core.checkInvariants();
    }),
    // A fixed seed: the check below that every outcome was reached must not depend on luck.
    { numRuns: 200, seed: 16 },
  );
  for (const expected of ['accepted', 'tx_evidence_invalid', 'tx_evidence_inconclusive']) assert.ok((verdicts.get(expected) ?? 0) > 0, `reached ${expected}: ${JSON.stringify([...verdicts])}`);
});

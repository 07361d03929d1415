// Goal: the buyer's result check (src/daemon/result-checker.ts) never pays a wrong result it could
// have caught, never submits evidence against an honest seller, gives the exchange evidence it
// accepts (checked with the exchange's own majority rule), and spot-checks new sellers always,
// established ones at the article's rate. Method: fast-check over markets of honest and cheating
// sellers behind a fake port that plays the witness purchases; the evidence it submits is
// judged by majorityResult, as the core judges it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { checkResult, type CheckPort, type ResultClaim } from '../../src/daemon/result-checker.js';
import { majorityResult, type VerificationPolicy } from '../../src/market/evidence.js';

const RIGHT = 'right';
const FULL: VerificationPolicy = { replicable: true, localCheck: 'full', spotCheckPercent: 0 };

interface Seller {
  readonly address: string;
  readonly cheats: boolean;
  /** A cheater whose wrong result still passes the buyer's own check (a form check only). */
  readonly passesCheck: boolean;
  readonly finishedSales: number;
}

function claimOf(seller: Seller, n: number): ResultClaim {
  const checkedOk = !seller.cheats || seller.passesCheck;
  return { tradeId: `t${n}`, txId: `tx${n}`, seller: seller.address, resultHash: seller.cheats ? `wrong-${seller.address}` : RIGHT, checkedOk, problem: checkedOk ? null : 'the result fails the check' };
}

/** A fake market: witness purchases go to the sellers in order, skipping avoided ones. */
function market(sellers: readonly Seller[], draws: readonly number[]) {
  const accepted: ResultClaim[] = [];
  const rejected: Array<{ claim: ResultClaim; witnesses: readonly string[] }> = [];
  const bought: ResultClaim[] = [];
  let next = 1;
  let drawIndex = 0;
  const port: CheckPort = {
    buyWitness: (_parent, avoid) => {
      const seller = sellers.slice(1).find((s) => !avoid.includes(s.address) && !bought.some((b) => b.seller === s.address));
      if (seller === undefined) return Promise.resolve(null);
      const claim = claimOf(seller, next++);
      bought.push(claim);
      return Promise.resolve(claim);
    },
    accept: (claim) => {
      accepted.push(claim);
      return Promise.resolve();
    },
    reject: (claim, _reason, witnesses) => {
      rejected.push({ claim, witnesses });
      return Promise.resolve();
    },
    finishedSales: (address) => Promise.resolve(sellers.find((s) => s.address === address)?.finishedSales ?? 0),
    draw: () => draws[drawIndex++ % draws.length]!,
    log: () => undefined,
  };
  return { port, accepted, rejected, bought, own: claimOf(sellers[0]!, 0) };
}

const sellerArb = fc.record({ cheats: fc.boolean(), passesCheck: fc.boolean(), finishedSales: fc.nat(20) });
const marketArb = fc.array(sellerArb, { minLength: 1, maxLength: 7 }).map((list) => list.map((s, i) => ({ ...s, address: `s${i}` })));

test('property: wrong results caught by the check are never paid; evidence is never against the right result and is what the exchange accepts', async () => {
  await fc.assert(
    fc.asyncProperty(marketArb, fc.array(fc.double({ min: 0, max: 0.999 }), { minLength: 1, maxLength: 4 }), async (drawn, draws) => {
      // A full check (the buyer recomputes the result) catches every wrong result.
      const sellers = drawn.map((s) => ({ ...s, passesCheck: false }));
      const m = market(sellers, draws);
      const outcome = await checkResult(m.port, FULL, m.own);
      for (const claim of m.accepted) assert.ok(claim.checkedOk, 'only results that passed the own check are paid');
      for (const { claim, witnesses } of m.rejected) {
        if (witnesses.length === 0) continue;
        assert.notEqual(claim.resultHash, RIGHT, 'evidence is never submitted against the right result (a seller with a correct commitment)');
        const named = witnesses.map((txId) => m.bought.find((b) => b.txId === txId)!);
        assert.ok(named.length >= 2 && named.length <= 4);
        const verdict = majorityResult([claim, ...named]);
        assert.ok(verdict !== null && verdict !== claim.resultHash, 'the exchange decides against the rejected seller');
      }
      // Every result is settled once: each witness and the purchase's own.
      assert.equal(m.accepted.length + m.rejected.length, 1 + m.bought.length);
      const wrongPaid = m.accepted.filter((claim) => claim.resultHash !== RIGHT);
      assert.equal(wrongPaid.length, 0, 'under a full check, nothing wrong is paid');
      // Two honest sellers among the others are enough to outvote a cheater whose result failed the check.
      if (!m.own.checkedOk && sellers.slice(1).filter((s) => !s.cheats).length >= 2 && sellers.slice(1).filter((s) => s.cheats).length <= 2) {
        assert.ok(m.rejected.some(({ claim, witnesses }) => claim === m.own && witnesses.length >= 2), 'the cheater is outvoted with evidence');
        assert.ok(outcome.replacement !== null && outcome.replacement.resultHash === RIGHT, "a witness's right result replaces it");
      }
    }),
    { numRuns: 300 },
  );
});

test('spot checks: a new seller is always checked, an established one at the article\'s rate; a non-replicable article never', async () => {
  const policy: VerificationPolicy = { replicable: true, localCheck: 'form', spotCheckPercent: 10 };
  const honest = (address: string, finishedSales: number): Seller => ({ address, cheats: false, passesCheck: true, finishedSales });
  const newSeller = market([honest('s0', 0), honest('s1', 50)], [0.99]);
  await checkResult(newSeller.port, policy, newSeller.own);
  assert.equal(newSeller.bought.length, 1, 'little history: checked whatever the draw');
  const established = market([honest('s0', 50), honest('s1', 50)], [0.5]);
  await checkResult(established.port, policy, established.own);
  assert.equal(established.bought.length, 0, 'a draw above 10%: not checked');
  const drawn = market([honest('s0', 50), honest('s1', 50)], [0.05]);
  await checkResult(drawn.port, policy, drawn.own);
  assert.equal(drawn.bought.length, 1, 'a draw below 10%: checked');
  assert.deepEqual(drawn.accepted.map((c) => c.seller), ['s0', 's1'], 'agreeing results are both accepted');
  // A cheat that passes the form check is caught only by the comparison: two honest witnesses outvote it.
  const sneaky: Seller = { address: 's0', cheats: true, passesCheck: true, finishedSales: 0 };
  const caught = market([sneaky, honest('s1', 50), honest('s2', 50)], [0.99]);
  const outcome = await checkResult(caught.port, policy, caught.own);
  assert.equal(outcome.accepted, false);
  assert.deepEqual(caught.rejected.map(({ claim, witnesses }) => [claim.seller, witnesses]), [['s0', ['tx1', 'tx2']]]);
  const none = market([sneaky, honest('s1', 50)], [0]);
  await checkResult(none.port, { ...policy, replicable: false }, none.own);
  assert.equal(none.bought.length, 0, 'results that cannot be compared are not bought twice');
});

test('two witnesses bought at once from one seller (it runs several workers) count once; the next purchase avoids each seller once, as the exchange requires (3015 otherwise), and reaches another seller', async () => {
  const cheat: Seller = { address: 'cheat', cheats: true, passesCheck: false, finishedSales: 20 };
  const avoids: (readonly string[])[] = [];
  const bought: ResultClaim[] = [];
  let next = 1;
  // The first honest seller takes both witnesses of the first round; the second honest seller is there for the next.
  const port: CheckPort = {
    buyWitness: (_parent, avoid) => {
      avoids.push(avoid);
      // As the exchange does: a BUY's avoid list names each participant at most once.
      if (new Set(avoid).size !== avoid.length) return Promise.resolve(null);
      const seller = !avoid.includes('honest-1') ? 'honest-1' : !avoid.includes('honest-2') ? 'honest-2' : undefined;
      if (seller === undefined) return Promise.resolve(null);
      const claim: ResultClaim = { tradeId: `t${next}`, txId: `tx${next++}`, seller, resultHash: RIGHT, checkedOk: true, problem: null };
      bought.push(claim);
      return Promise.resolve(claim);
    },
    accept: () => Promise.resolve(),
    reject: () => Promise.resolve(),
    finishedSales: () => Promise.resolve(20),
    draw: () => 0.5,
    log: () => undefined,
  };
  const outcome = await checkResult(port, FULL, { tradeId: 't0', txId: 'tx0', seller: cheat.address, resultHash: 'wrong', checkedOk: false, problem: 'the result fails the check' });
  for (const avoid of avoids) assert.equal(new Set(avoid).size, avoid.length, `an avoid list without repeats: ${avoid.join(',')}`);
  assert.ok(bought.some((claim) => claim.seller === 'honest-2'), 'the second round reached the other seller');
  assert.equal(outcome.accepted, false);
  assert.ok(outcome.replacement !== null, "a witness's result stands in for the cheat's");
});

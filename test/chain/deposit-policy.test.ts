// Goal: whatever the chain does (payments, blocks, replacements, reorgs, a watcher that misses
// many of them), the deposit rules bring the ledger in line with it: after each reconciliation a
// participant's money is exactly what the chain pays its addresses, pending below N
// confirmations and credited at N (more for large amounts), each outpoint at most once;
// reconciling the same view again changes nothing. Method: fast-check over a small abstract
// chain (blocks, mempool, reorgs of depth ≤ 3 below the final depth) driving the real
// depositCommands into a real MarketCore. The devnet tests (devnet-deposits.test.ts) run the
// same rules on real transactions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ChainBlockRef, ChainPayment } from '../../src/chain/backend.js';
import { blocksToCheck, confirmationsNeeded, confirmationsOf, depositCommands, outpointOf } from '../../src/chain/deposit-policy.js';
import type { ConfirmationPolicy, LedgerView } from '../../src/chain/deposit-policy.js';
import type { MarketCommand } from '../../src/market/commands.js';
import { MarketCore } from '../../src/market/core.js';
import { DEPOSIT_SATS_MIN } from '../../src/market/limits.js';
import { verifyReceipt } from '../market/support/participants.js';

const POLICY: ConfirmationPolicy = { confirmations: 2, largeConfirmations: 4, largeSats: 50_000, finalConfirmations: 8 };
const OWNERS = ['alice', 'bob', 'carol'];

/** A toy chain: blocks of txids, a mempool, and what each tx pays. Reorgs replace the top blocks. */
class ToyChain {
  blocks: { hash: string; txids: string[] }[] = [{ hash: hashOf(0), txids: [] }];
  mempool: string[] = [];
  readonly outputs = new Map<string, { address: string; valueSats: number }[]>();
  private serial = 1;

  pay(address: string, valueSats: number, twice: boolean): void {
    const txid = hashOf(1_000_000 + this.serial++);
    this.outputs.set(txid, twice ? [{ address, valueSats }, { address, valueSats: valueSats + 1 }] : [{ address, valueSats }]);
    this.mempool.push(txid);
  }

  mine(): void {
    this.blocks.push({ hash: hashOf(this.serial++), txids: this.mempool });
    this.mempool = [];
  }

  /** Replaces a mempool transaction by one paying elsewhere (index picks it). */
  replaceAway(pick: number): void {
    if (this.mempool.length > 0) this.mempool.splice(pick % this.mempool.length, 1);
  }

  /**
   * Drops the top `depth` blocks for a longer competing branch; their transactions go back to the
   * mempool unless double-spent (`drop` picks), and the branch re-mines them at once or not.
   */
  reorg(depth: number, drop: number, remine: boolean): void {
    const removed = this.blocks.splice(Math.max(1, this.blocks.length - depth));
    const back = removed.flatMap((block) => block.txids).filter((_, index) => (drop >> (index % 8)) % 2 === 0);
    const waiting = this.mempool;
    this.mempool = remine ? back : [];
    for (let n = 0; n <= removed.length; n++) this.mine();
    this.mempool = remine ? waiting : [...back, ...waiting];
  }

  tip(): ChainBlockRef {
    return { height: this.blocks.length - 1, hash: this.blocks.at(-1)!.hash };
  }

  payments(): ChainPayment[] {
    const list: ChainPayment[] = [];
    const add = (txid: string, block: ChainBlockRef | null): void => {
      this.outputs.get(txid)!.forEach((output, vout) => list.push({ txid, vout, address: output.address, valueSats: output.valueSats, block }));
    };
    this.blocks.forEach((block, height) => block.txids.forEach((txid) => add(txid, { height, hash: block.hash })));
    for (const txid of this.mempool) add(txid, null);
    return list;
  }

  inBestChain(hash: string): boolean {
    return this.blocks.some((block) => block.hash === hash);
  }
}

function hashOf(n: number): string {
  return n.toString(16).padStart(64, '0');
}

function ledgerOf(core: MarketCore): LedgerView {
  return { deposits: new Map(core.funds.liveDeposits().map((deposit) => [deposit.id, deposit])), isClosed: (id) => core.funds.depositClosed(id) };
}

/** Reconciles until nothing changes; returns the passes it took. */
function reconcile(core: MarketCore, chain: ToyChain, nowMs: number): number {
  const tip = chain.tip();
  const payments = chain.payments();
  const stale = new Set(blocksToCheck(payments, ledgerOf(core)).filter((hash) => !chain.inBestChain(hash)));
  for (let pass = 1; pass <= 4; pass++) {
    const commands = depositCommands({ tip, payments, staleBlocks: stale }, ledgerOf(core), POLICY);
    if (commands.length === 0) return pass;
    for (const command of commands) {
      const result = core.execute({ ...command, nowMs } as MarketCommand);
      assert.equal(result.status, 'accepted', `${command.type}: ${result.status === 'rejected' ? result.rejection : ''}`);
    }
  }
  return 5;
}

type Step = { kind: 'pay'; who: number; valueSats: number; twice: boolean } | { kind: 'mine' } | { kind: 'replace'; pick: number } | { kind: 'reorg'; depth: number; drop: number; remine: boolean } | { kind: 'watch' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('pay' as const), who: fc.nat(2), valueSats: fc.oneof(fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 1_000, max: 100_000 })), twice: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('mine' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(10) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reorg' as const), depth: fc.integer({ min: 1, max: 3 }), drop: fc.nat(255), remine: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('watch' as const) }) },
);

test('after each reconciliation the ledger holds exactly what the chain pays, credited at N, and a repeat changes nothing', () => {
  fc.assert(
    fc.property(fc.array(step, { minLength: 20, maxLength: 80 }), (steps) => {
      const core = new MarketCore({ verifyReceipt }, { startMs: 0 });
      const addressOf = new Map<string, string>();
      for (const owner of OWNERS) {
        core.execute({ nowMs: 0, type: 'requestDepositAddress', participant: owner, index: core.funds.nextDepositIndex(), address: `bcrt1q${owner}` });
        addressOf.set(owner, `bcrt1q${owner}`);
      }
      const chain = new ToyChain();
      for (const s of steps) {
        if (s.kind === 'pay') chain.pay(addressOf.get(OWNERS[s.who]!)!, s.valueSats, s.twice);
        if (s.kind === 'mine') chain.mine();
        if (s.kind === 'replace') chain.replaceAway(s.pick);
        if (s.kind === 'reorg') chain.reorg(s.depth, s.drop, s.remine);
        if (s.kind !== 'watch') continue; // the watcher sees the chain only now and then
        assert.ok(reconcile(core, chain, 0) <= 3, 'a fixpoint within three passes');
        const before = core.stateHash();
        assert.equal(reconcile(core, chain, 0), 1, 'the same view again: no commands');
        assert.equal(core.stateHash(), before);
        core.checkInvariants();
        checkAgainstChain(core, chain);
      }
    }),
    { numRuns: 300, seed: 17 },
  );
});

function checkAgainstChain(core: MarketCore, chain: ToyChain): void {
  const tip = chain.tip();
  const live = new Map(core.funds.liveDeposits().map((deposit) => [deposit.id, deposit]));
  const onChain = new Set<string>();
  const expected = new Map<string, { credited: number; pending: number }>(OWNERS.map((owner) => [owner, { credited: 0, pending: 0 }]));
  for (const payment of chain.payments()) {
    const id = outpointOf(payment);
    onChain.add(id);
    if (payment.valueSats < DEPOSIT_SATS_MIN) {
      assert.ok(core.funds.depositClosed(id) && !live.has(id), `${id}: too small, recorded and closed`);
      continue;
    }
    const owner = core.funds.depositAddressOwner(payment.address)!;
    const enough = confirmationsOf(tip, payment.block) >= confirmationsNeeded(POLICY, payment.valueSats);
    const recorded = live.get(id);
    if (enough) {
      assert.ok(core.funds.depositClosed(id) || recorded?.block?.hash === payment.block!.hash, `${id}: credited in its block`);
      expected.get(owner)!.credited += payment.valueSats;
    } else {
      assert.equal(recorded?.block, null, `${id}: pending below N confirmations`);
      expected.get(owner)!.pending += payment.valueSats;
    }
  }
  for (const id of live.keys()) assert.ok(onChain.has(id), `${id}: the ledger holds only what the chain shows`);
  for (const owner of OWNERS) {
    const account = core.account(owner);
    assert.equal(account?.availableSats ?? 0, expected.get(owner)!.credited, `${owner}: credited`);
    assert.equal(account?.depositPendingSats ?? 0, expected.get(owner)!.pending, `${owner}: pending`);
  }
}

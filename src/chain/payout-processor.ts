// The payout processor: the exchange's side of withdrawals on chain. Each tick it
//   1. follows every live batch from what the backend shows now: broadcasts a signed candidate
//      (the journalled raw transaction, never a rebuilt one), confirms whichever candidate is in
//      a block, completes it once buried, sends a reorged one back to broadcast, marks one whose
//      coins another transaction spent as conflicted (an alert: never paid again), and bumps a
//      candidate stuck in the mempool (RBF: the same inputs and outputs, more fee, less change);
//   2. reconciles the ledger with the chain: the wallet's confirmed coins (plus the coins of its
//      batches in the mempool) must cover what participants are owed; a shortfall halts payouts
//      until the numbers agree again;
//   3. approves due automatic withdrawals and, on its schedule, batches the approved ones into
//      one PSBT for the payer, at the backend's fee estimate clamped to [minimum relay, cap];
//      above the cap the batch waits.
// Every decision is a journalled command on the exchange, taken from the chain's state now and
// the ledger's: a restart (even a kill -9 between a step and its record) simply looks again.
// The exchange holds only the account's public key; the payer signs (src/chain/payer.ts).
import type { Clock, TimerId } from '../clock.js';
import type { MarketCommand, CoreEvent } from '../market/commands.js';
import type { PayoutBatchSnapshot, WithdrawalSnapshot } from '../market/state.js';
import type { ChainBackend, ChainBlockRef, ChainPayment, FeeEstimate } from './backend.js';
import { INCREMENTAL_RELAY_SATS_PER_VBYTE, MIN_RELAY_SATS_PER_VBYTE } from './devnet-policy.js';
import { chainAddress, type DepositKey } from './deposit-keys.js';
import { BatchError, buildBatch, manifestOf, verifySignedBatch, type BatchManifest, type WalletCoin } from './payout-batch.js';

/** What the processor needs of the exchange. */
export interface PayoutLedgerPort {
  payoutBatches(): PayoutBatchSnapshot[];
  withdrawal(withdrawalId: string): WithdrawalSnapshot | undefined;
  requestedWithdrawals(limit: number): WithdrawalSnapshot[];
  approvedWithdrawals(limit: number): WithdrawalSnapshot[];
  nextPayoutBatch(): { readonly batchId: string; readonly changeIndex: number };
  coinInBatch(txid: string, vout: number): boolean;
  /** The deposit branch's next index: addresses 0/0 … 0/(n-1) have been handed out. */
  nextDepositIndex(): number;
  owedSats(): number;
  /** Journals one command built at the exchange's command time; rejects with the exchange's refusal. */
  execute(build: (nowMs: number) => MarketCommand): Promise<readonly CoreEvent[]>;
}

export interface PayoutSettings {
  /** Between batches (default 10 minutes): withdrawals approved meanwhile wait for the next. */
  readonly batchIntervalMs?: number;
  /** Withdrawals per batch at most (default 100). */
  readonly batchSizeMax?: number;
  /** The fee estimate's confirmation target in blocks (default 3). */
  readonly feeTargetBlocks?: number;
  /** sat/vB: never below (default 1, Bitcoin Core's minimum relay fee). */
  readonly feeRateMinSatVb?: number;
  /** sat/vB: never above; a higher estimate makes the batch wait (default 50). */
  readonly feeRateCapSatVb?: number;
  /** A candidate still unconfirmed this many blocks after it was first seen is bumped (default 3). */
  readonly bumpAfterBlocks?: number;
  /** Confirmations after which a withdrawal is completed (default 6). */
  readonly confirmations?: number;
  /** Confirmations a deposit coin needs before a batch spends it (default 3: the credit's). */
  readonly depositCoinConfirmations?: number;
}

export interface PayoutProcessorOptions extends PayoutSettings {
  readonly key: DepositKey;
  readonly backend: ChainBackend;
  readonly port: PayoutLedgerPort;
  readonly clock: Clock;
  /** Anything the operator must look at: a halt, a conflict, a fee spike, a failed step. */
  readonly onAlert?: (message: string) => void;
  /** Fault injection for the crash tests: called at each point where a kill -9 must be survivable. */
  readonly crashPoint?: (point: PayoutCrashPoint) => void;
}

/** Where the crash tests kill the exchange: between a chain action and its journal record. */
export type PayoutCrashPoint = 'signed-before-broadcast' | 'broadcast-before-record' | 'confirmed-before-complete';

export interface Reconciliation {
  readonly height: number;
  /** The wallet's confirmed coins plus the coins its unconfirmed batches spend. */
  readonly walletSats: number;
  /** Participants' balances (not counting uncredited deposits), less withdrawals confirmed but not yet completed. */
  readonly owedSats: number;
  /** walletSats − owedSats: the exchange's fee income less network fees paid, plus any float. */
  readonly surplusSats: number;
  readonly halted: boolean;
}

export interface PayoutStatus {
  readonly halted: boolean;
  readonly reason: string | null;
  readonly reconciliation: Reconciliation | null;
  /** Why no batch was built at the last chance (a fee spike, too few coins), or null. */
  readonly waiting: string | null;
}

/** A batch waiting for the payer, as the payer is shown it. */
export interface PayoutToSign {
  readonly batchId: string;
  readonly psbtBase64: string;
  readonly manifest: BatchManifest;
  readonly feeRateSatVb: number;
}

export class PayoutRefusal extends Error {
  constructor(readonly reason: 'payout_batch_not_found' | 'payout_batch_wrong_state' | 'payout_signed_invalid', message: string) {
    super(message);
  }
}

const BUMP_FACTOR = 1.5;

export class PayoutProcessor {
  private readonly settings: Required<PayoutSettings>;
  private running: Promise<void> | undefined;
  private timer: TimerId | undefined;
  private stopped = true;
  /** txid → the height at which this process first saw it unconfirmed (a restart starts counting again). */
  private readonly firstSeen = new Map<string, number>();
  /** The wallet's addresses and where each sits in the account. */
  private readonly wallet = new Map<string, { chain: 0 | 1; index: number }>();
  private depositDerived = 0;
  private changeDerived = 0;
  private lastReconciled: Reconciliation | null = null;
  private waiting: string | null = null;
  private lastBatchMs = Number.NEGATIVE_INFINITY;
  private readonly alerted = new Set<string>();

  constructor(private readonly options: PayoutProcessorOptions) {
    this.settings = {
      batchIntervalMs: options.batchIntervalMs ?? 600_000,
      batchSizeMax: options.batchSizeMax ?? 100,
      feeTargetBlocks: options.feeTargetBlocks ?? 3,
      feeRateMinSatVb: options.feeRateMinSatVb ?? MIN_RELAY_SATS_PER_VBYTE,
      feeRateCapSatVb: options.feeRateCapSatVb ?? 50,
      bumpAfterBlocks: options.bumpAfterBlocks ?? 3,
      confirmations: options.confirmations ?? 6,
      depositCoinConfirmations: options.depositCoinConfirmations ?? 3,
    };
    if (options.key.type !== 'p2wpkh') throw new BatchError('payouts spend BIP84 (native segwit) deposits only; this exchange takes taproot deposits');
  }

  status(): PayoutStatus {
    const halted = this.lastReconciled?.halted ?? false;
    const reason = halted ? `the wallet holds ${this.lastReconciled!.walletSats} sat, participants are owed ${this.lastReconciled!.owedSats} sat` : null;
    return { halted, reason, reconciliation: this.lastReconciled, waiting: this.waiting };
  }

  /** One pass; concurrent callers share it. */
  tick(): Promise<void> {
    this.running ??= this.tickOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  start(intervalMs: number): void {
    this.stopped = false;
    const again = (): void => {
      if (this.stopped) return;
      this.timer = this.options.clock.setTimer(() => {
        this.tick().then(again, (error: unknown) => {
          this.alert(`payout processor: a pass failed (${this.options.backend.name}): ${(error as Error).message}`);
          again();
        });
      }, intervalMs);
    };
    again();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.options.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** Batches waiting for the payer's signature, each with its manifest. */
  toSign(): PayoutToSign[] {
    return this.options.port.payoutBatches().flatMap((batch) => {
      if (batch.unsigned === null) return [];
      const withdrawals = batch.withdrawalIds.map((id) => this.options.port.withdrawal(id)!);
      return [{ batchId: batch.batchId, psbtBase64: batch.unsigned.psbtBase64, manifest: manifestOf({ ...batch, unsigned: batch.unsigned }, withdrawals), feeRateSatVb: batch.unsigned.feeRateSatVb }];
    });
  }

  /**
   * The payer's signed transaction for a batch waiting for it: the same inputs and outputs as
   * its PSBT and every signature valid. Returns the txid to journal (payoutSigned) before any broadcast.
   */
  checkSigned(batchId: string, rawHex: string): string {
    const batch = this.options.port.payoutBatches().find((candidate) => candidate.batchId === batchId);
    if (batch === undefined) throw new PayoutRefusal('payout_batch_not_found', `no live payout batch ${batchId}`);
    if (batch.unsigned === null) throw new PayoutRefusal('payout_batch_wrong_state', `batch ${batchId} waits for no signature`);
    try {
      return verifySignedBatch(rawHex, batch.unsigned.psbtBase64);
    } catch (error) {
      throw new PayoutRefusal('payout_signed_invalid', (error as Error).message);
    }
  }

  /** checkSigned, then journalled (the in-process payer's path; the wire's adds the payer's signature). */
  async submitSigned(batchId: string, rawHex: string): Promise<{ readonly txid: string }> {
    const txid = this.checkSigned(batchId, rawHex);
    await this.options.port.execute((nowMs) => ({ type: 'payoutSigned', nowMs, batchId, txid, rawHex: rawHex.toLowerCase() }));
    return { txid };
  }

  private async tickOnce(): Promise<void> {
    const { backend } = this.options;
    const tip = await backend.tip();
    for (const batch of this.options.port.payoutBatches()) await this.follow(batch, tip);
    // One read of the wallet per pass: the reconciliation counts it, the next batch spends from it.
    this.deriveWallet();
    const unspent = await backend.unspentOf([...this.wallet.keys()]);
    const reconciliation = this.reconcile(tip, unspent);
    if (reconciliation.halted) return;
    await this.approveDue();
    await this.batchIfDue(tip, unspent);
  }

  // ---- 1. Following batches ----------------------------------------------------------------

  private async follow(batch: PayoutBatchSnapshot, tip: ChainBlockRef): Promise<void> {
    const { backend } = this.options;
    const first = this.options.port.withdrawal(batch.withdrawalIds[0]!);
    if (first === undefined) return;
    const step = (step: Extract<MarketCommand, { type: 'payoutBatchStep' }>['step']): Promise<readonly CoreEvent[]> =>
      this.options.port.execute((nowMs) => ({ type: 'payoutBatchStep', nowMs, batchId: batch.batchId, step }));
    switch (first.state) {
      case 'signed': {
        if (this.lastReconciled?.halted === true) return; // halted: nothing new leaves
        const last = batch.candidates[batch.candidates.length - 1]!;
        const status = await backend.transactionStatus(last.txid);
        this.options.crashPoint?.('signed-before-broadcast');
        if (status.state === 'unknown') await this.send(last.rawHex, batch.batchId);
        this.options.crashPoint?.('broadcast-before-record');
        await step({ type: 'BROADCAST' });
        return;
      }
      case 'broadcast': {
        const newest = batch.candidates[batch.candidates.length - 1]!;
        let olderInMempool = false;
        let newestInMempool = false;
        for (const candidate of [...batch.candidates].reverse()) {
          const status = await backend.transactionStatus(candidate.txid);
          if (status.state === 'confirmed') {
            await step({ type: 'CONFIRM', txid: candidate.txid, block: status.block });
            return;
          }
          if (status.state === 'mempool' && candidate === newest) newestInMempool = true;
          else if (status.state === 'mempool') olderInMempool = true;
        }
        if (newestInMempool) return this.maybeBump(batch, newest.txid, tip);
        // A signed replacement not yet sent: it replaces its predecessor in the mempool.
        if (olderInMempool) {
          if (this.lastReconciled?.halted !== true) await this.send(newest.rawHex, batch.batchId);
          return;
        }
        // None of its candidates is anywhere: dropped (a reorg, mempool expiry) or double-spent.
        for (const input of batch.inputs) {
          const spender = await backend.spenderOf(input.txid, input.vout);
          if (spender.spent && !batch.candidates.some((candidate) => candidate.txid === spender.txid)) {
            await step({ type: 'CONFLICT' });
            this.alert(`payout batch ${batch.batchId}: its coin ${input.txid}:${input.vout} was spent by ${spender.txid ?? 'another transaction'}; withdrawals ${batch.withdrawalIds.join(', ')} are conflicted and will not be paid again without the operator`);
            return;
          }
        }
        await this.send(newest.rawHex, batch.batchId);
        return;
      }
      case 'confirmed': {
        const status = await backend.transactionStatus(first.txid!);
        if (status.state !== 'confirmed' || status.block.hash !== first.block!.hash) {
          await step({ type: 'REORG' });
          this.alert(`payout batch ${batch.batchId}: block ${first.block!.hash} left the best chain; the transaction is watched again`);
          return;
        }
        if (tip.height - status.block.height + 1 < this.settings.confirmations) return;
        this.options.crashPoint?.('confirmed-before-complete');
        await step({ type: 'COMPLETE' });
        return;
      }
      case 'conflicted':
        this.alertOnce(`conflict:${batch.batchId}`, `payout batch ${batch.batchId} is conflicted: fail it (bitwrk admin fail-batch) and refund its withdrawals only after checking the chain`);
        return;
      default:
        return; // batched: waiting for the payer
    }
  }

  /** Broadcasts a journalled candidate; "already known" and the like are fine (the next pass looks again). */
  private async send(rawHex: string, batchId: string): Promise<void> {
    try {
      await this.options.backend.broadcast(rawHex);
    } catch (error) {
      this.alert(`payout batch ${batchId}: the backend refused the broadcast (${(error as Error).message}); retried next pass`);
    }
  }

  private async maybeBump(batch: PayoutBatchSnapshot, txid: string, tip: ChainBlockRef): Promise<void> {
    const seen = this.firstSeen.get(txid);
    if (seen === undefined) {
      this.firstSeen.set(txid, tip.height);
      return;
    }
    if (tip.height - seen < this.settings.bumpAfterBlocks || batch.unsigned !== null || this.lastReconciled?.halted === true) return;
    const last = batch.candidates[batch.candidates.length - 1]!;
    const estimate = rateFor(await this.options.backend.feeEstimates(), this.settings.feeTargetBlocks);
    // BIP125 rule 4: the replacement pays for its own bandwidth on top of what it replaces (+1 sat/vB).
    const rate = Math.min(this.settings.feeRateCapSatVb, Math.max(estimate, last.feeRateSatVb * BUMP_FACTOR, last.feeRateSatVb + INCREMENTAL_RELAY_SATS_PER_VBYTE));
    if (rate <= last.feeRateSatVb) {
      this.alertOnce(`cap:${txid}`, `payout batch ${batch.batchId}: ${txid} is stuck at the fee cap of ${this.settings.feeRateCapSatVb} sat/vB`);
      return;
    }
    const withdrawals = batch.withdrawalIds.map((id) => this.options.port.withdrawal(id)!);
    const coins = batch.inputs.map((input) => ({ ...input }));
    let built;
    try {
      built = buildBatch({ key: this.options.key, batchId: batch.batchId, withdrawals, coins, feeRateSatVb: rate, changeIndex: batch.changeIndex, spendAll: true });
    } catch (error) {
      this.alertOnce(`bump:${txid}`, `payout batch ${batch.batchId}: cannot bump ${txid}: ${(error as Error).message}`);
      return;
    }
    if (built.manifest.feeSats <= last.feeSats) {
      this.alertOnce(`bump:${txid}`, `payout batch ${batch.batchId}: a replacement at ${rate} sat/vB would not pay more than ${txid}`);
      return;
    }
    await this.options.port.execute((nowMs) => ({ type: 'payoutBump', nowMs, batchId: batch.batchId, unsigned: { psbtBase64: built.psbtBase64, feeSats: built.manifest.feeSats, changeSats: built.manifest.change.amountSats, feeRateSatVb: rate } }));
    this.alert(`payout batch ${batch.batchId}: ${txid} unconfirmed for ${tip.height - seen} blocks; a replacement at ${rate} sat/vB waits for the payer`);
  }

  // ---- 2. Reconciliation -------------------------------------------------------------------

  private reconcile(tip: ChainBlockRef, unspent: readonly ChainPayment[]): Reconciliation {
    const { port } = this.options;
    const confirmed = unspent.filter((coin) => coin.block !== null);
    const held = new Set(confirmed.map((coin) => `${coin.txid}:${coin.vout}`));
    let walletSats = confirmed.reduce((sum, coin) => sum + coin.valueSats, 0);
    let owedSats = port.owedSats();
    for (const batch of port.payoutBatches()) {
      const state = port.withdrawal(batch.withdrawalIds[0]!)?.state;
      if (state === 'confirmed') {
        // Paid on chain, not yet completed in the ledger.
        for (const id of batch.withdrawalIds) owedSats -= port.withdrawal(id)!.amountSats;
      } else if (state === 'signed' || state === 'broadcast') {
        // Its coins may be spent by its candidate in the mempool: still ours until it confirms.
        for (const input of batch.inputs) if (!held.has(`${input.txid}:${input.vout}`)) walletSats += input.valueSats;
      }
    }
    const halted = walletSats < owedSats;
    const reconciliation = { height: tip.height, walletSats, owedSats, surplusSats: walletSats - owedSats, halted };
    if (halted && this.lastReconciled?.halted !== true) this.alert(`payouts HALTED at height ${tip.height}: the wallet holds ${walletSats} sat, participants are owed ${owedSats} sat (short ${owedSats - walletSats})`);
    if (!halted && this.lastReconciled?.halted === true) this.alert(`payouts resumed at height ${tip.height}: the wallet covers what is owed again (surplus ${walletSats - owedSats} sat)`);
    this.lastReconciled = reconciliation;
    return reconciliation;
  }

  /** Extends the address map to every deposit address handed out and every change address used. */
  private deriveWallet(): void {
    const { key, port } = this.options;
    for (; this.depositDerived < port.nextDepositIndex(); this.depositDerived++) this.wallet.set(chainAddress(key, 0, this.depositDerived), { chain: 0, index: this.depositDerived });
    for (; this.changeDerived < port.nextPayoutBatch().changeIndex; this.changeDerived++) this.wallet.set(chainAddress(key, 1, this.changeDerived), { chain: 1, index: this.changeDerived });
  }

  // ---- 3. Approving and batching -----------------------------------------------------------

  private async approveDue(): Promise<void> {
    const { port, clock } = this.options;
    for (const withdrawal of port.requestedWithdrawals(this.settings.batchSizeMax * 10)) {
      if (withdrawal.review !== 'auto' || clock.now() < withdrawal.notBeforeMs) continue;
      await port.execute((nowMs) => ({ type: 'withdrawalStep', nowMs, withdrawalId: withdrawal.withdrawalId, step: { type: 'APPROVE', by: 'processor', nowMs } })).catch((error: unknown) => {
        // Not yet due by the command's clock: the next pass approves it.
        if ((error as { errorName?: string }).errorName !== 'withdrawal_needs_approval') this.alert(`payout processor: approving ${withdrawal.withdrawalId} was refused: ${(error as Error).message}`);
      });
    }
  }

  private async batchIfDue(tip: ChainBlockRef, unspent: readonly ChainPayment[]): Promise<void> {
    const { port, clock, backend, key } = this.options;
    const batches = port.payoutBatches();
    if (batches.some((batch) => batch.unsigned !== null && batch.candidates.length === 0)) return; // one waits for the payer
    const newest = batches.reduce((latest, batch) => Math.max(latest, batch.createdMs), this.lastBatchMs);
    if (clock.now() < newest + this.settings.batchIntervalMs) return;
    const withdrawals = port.approvedWithdrawals(this.settings.batchSizeMax);
    if (withdrawals.length === 0) {
      this.waiting = null;
      return;
    }
    const estimate = rateFor(await backend.feeEstimates(), this.settings.feeTargetBlocks);
    if (estimate > this.settings.feeRateCapSatVb) {
      this.wait(`the fee estimate of ${estimate} sat/vB is over the cap of ${this.settings.feeRateCapSatVb}: ${withdrawals.length} withdrawals wait`);
      return;
    }
    const rate = Math.max(this.settings.feeRateMinSatVb, estimate);
    const coins = this.spendableCoins(tip, unspent);
    const next = port.nextPayoutBatch();
    let built;
    try {
      built = buildBatch({ key, batchId: next.batchId, withdrawals, coins, feeRateSatVb: rate, changeIndex: next.changeIndex });
    } catch (error) {
      if (!(error instanceof BatchError)) throw error;
      this.wait(`no batch: ${error.message}`);
      return;
    }
    // In the PSBT's order, with their places, so that a bump re-spends them as they are.
    const inputs = built.inputs.map(({ txid, vout, valueSats, chain, index }) => ({ txid, vout, valueSats, chain, index }));
    await port.execute((nowMs) => ({
      type: 'payoutBatch',
      nowMs,
      batchId: next.batchId,
      withdrawalIds: withdrawals.map((withdrawal) => withdrawal.withdrawalId),
      inputs,
      changeIndex: next.changeIndex,
      unsigned: { psbtBase64: built.psbtBase64, feeSats: built.manifest.feeSats, changeSats: built.manifest.change.amountSats, feeRateSatVb: rate },
    }));
    this.lastBatchMs = clock.now();
    this.waiting = null;
  }

  /** Confirmed wallet coins no live batch spends: deposits once credited, change once in a block. */
  private spendableCoins(tip: ChainBlockRef, unspent: readonly ChainPayment[]): WalletCoin[] {
    const { port } = this.options;
    const coins: WalletCoin[] = [];
    for (const coin of unspent) {
      const place = this.wallet.get(coin.address);
      if (place === undefined || coin.block === null || port.coinInBatch(coin.txid, coin.vout)) continue;
      const confirmations = tip.height - coin.block.height + 1;
      if (place.chain === 0 && confirmations < this.settings.depositCoinConfirmations) continue;
      coins.push({ txid: coin.txid, vout: coin.vout, valueSats: coin.valueSats, ...place });
    }
    return coins;
  }

  private wait(why: string): void {
    if (this.waiting !== why) this.alert(`payout processor: ${why}`);
    this.waiting = why;
  }

  private alert(message: string): void {
    this.options.onAlert?.(message);
  }

  private alertOnce(key: string, message: string): void {
    if (this.alerted.has(key)) return;
    this.alerted.add(key);
    this.alert(message);
  }
}

/**
 * The operator's float: the exchange's own coins, at 1/0 of its account's change branch, out of
 * which (with its fee income) network fees are paid. The reconciliation counts it as wallet.
 */
export function floatAddress(key: DepositKey): string {
  return chainAddress(key, 1, 0);
}

/** The estimate for `target` blocks: the nearest target at or after it that the backend gives, else its slowest. */
export function rateFor(estimates: FeeEstimate, target: number): number {
  const targets = Object.keys(estimates).map(Number).filter((value) => Number.isSafeInteger(value)).sort((a, b) => a - b);
  if (targets.length === 0) return 1;
  const chosen = targets.find((value) => value >= target) ?? targets[targets.length - 1]!;
  return estimates[chosen]!;
}


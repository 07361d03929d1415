// Money in and out of the exchange, as the market core keeps it: deposit addresses and the
// deposits paid to them (deposits.ts), withdrawals with their machines and rules (withdrawals.ts),
// and the ledger transfers each step makes. The core routes these commands here and exports and
// restores this part of its state through it; the rules, with their reasons, are in
// docs/market-rules.md and docs/payments.md.
import { assert } from '../assert.js';
import { ADDRESS_CHARS_MAX, DEPOSIT_ADDRESSES_MAX, DEPOSIT_SATS_MIN, PENDING_DEPOSITS_MAX, PENDING_PAYOUTS_MAX, REFERENCE_CHARS_MAX } from './limits.js';
import { isSats } from './money.js';
import { compareStrings } from './state.js';
import type { DepositAddressSnapshot, DepositSnapshot, MarketState, WithdrawalSnapshot } from './state.js';
import type { ChainBlock, CommandOf, CoreEvent, DepositChange } from './commands.js';
import type { Ledger } from './ledger.js';
import type { RejectionName } from './rejections.js';
import { DepositBook } from './deposits.js';
import type { DepositRecord } from './deposits.js';
import { DAY_MS, WithdrawalBook } from './withdrawals.js';
import { PayoutBatchBook } from './payout-batches.js';
import type { PayoutBatchRecord, UnsignedPayout } from './payout-batches.js';
import type { PayoutBatchSnapshot } from './state.js';
import { WITHDRAWAL_FINAL, withdrawalMachine } from '../machines/withdrawal.js';
import type { WithdrawalState } from '../machines/withdrawal.js';
import { stepperOf } from '../machines/flat-machine.js';
import type { StepperKind } from '../machines/flat-machine.js';

type Rejection = RejectionName | null;
type Events = CoreEvent[];

/** What the funds need of the core: its time and its check of money coming in. */
export interface FundsHost {
  nowMs(): number;
  checkInflow(participant: string, amountSats: number): Rejection;
}

const REFERENCE_PATTERN = /^[A-Za-z0-9:_.-]+$/;
const HASH64 = /^[0-9a-f]{64}$/;
/** A batch pays at most this many withdrawals from at most this many coins (a standard transaction's size allows both). */
const BATCH_WITHDRAWALS_MAX = 500;
const BATCH_INPUTS_MAX = 500;
/** Hex characters of a signed batch: a standard transaction is at most 400,000 weight units. */
const RAW_TX_CHARS_MAX = 200_000;
const REASON_CHARS_MAX = 500;

export class Funds {
  readonly depositBook = new DepositBook();
  readonly withdrawalBook = new WithdrawalBook();
  readonly batchBook = new PayoutBatchBook();
  private readonly withdrawalStepper;

  constructor(
    private readonly ledger: Ledger,
    private readonly host: FundsHost,
    kind: StepperKind,
    private readonly depositAddressesMax: number = DEPOSIT_ADDRESSES_MAX,
  ) {
    assert(this.depositAddressesMax >= 1 && this.depositAddressesMax <= DEPOSIT_ADDRESSES_MAX, 'depositAddressesMax');
    this.withdrawalStepper = stepperOf(withdrawalMachine, kind);
  }

  requestDepositAddress(command: CommandOf<'requestDepositAddress'>, events: Events): Rejection {
    assertAddress(command.participant);
    assert(typeof command.address === 'string' && command.address.length > 0 && command.address.length <= ADDRESS_CHARS_MAX, 'a derived deposit address');
    // Test errors by descending precedence.
    const book = this.depositBook;
    const { participant } = command;
    const again = book.atUnusedBound(participant);
    if (again === undefined && book.addresses.size >= this.depositAddressesMax) return 'deposit_addresses_full';
    const record = again ?? book.reserve(participant, command.index, command.address);
    events.push({ type: 'depositAddressReserved', participant, index: record.index, address: record.address, fresh: again === undefined });
    return null;
  }

  /** The next deposit address index: the server derives its address before requesting it. */
  nextDepositIndex(): number {
    return this.depositBook.indexNext;
  }

  depositSeen(command: CommandOf<'depositSeen'>, events: Events): Rejection {
    // Test errors by descending precedence.
    const { depositId, amountSats } = command;
    const book = this.depositBook;
    if (!isReference(depositId)) return 'reference_invalid';
    if (!isSats(amountSats) || amountSats === 0) return 'amount_invalid';
    const address = book.addresses.get(command.address);
    if (address === undefined) return 'deposit_address_unknown';
    if (book.deposits.has(depositId) || book.closedIds.has(depositId)) return 'deposit_duplicate';
    const { participant } = address;
    const recorded = { type: 'deposit' as const, depositId, participant, address: address.address, amountSats, block: null };
    if (amountSats < DEPOSIT_SATS_MIN) {
      // Recorded, never credited: the outpoint is closed at once, so it takes no pending slot.
      book.markUsed(address);
      book.closedIds.add(depositId);
      events.push({ ...recorded, change: 'too_small' });
      return null;
    }
    if (book.deposits.size >= PENDING_DEPOSITS_MAX) return 'deposits_full';
    const rejection = this.host.checkInflow(participant, amountSats);
    if (rejection !== null) return rejection;
    book.markUsed(address);
    this.ledger.ensureAccount(participant);
    this.ledger.transfer('deposit_seen', participant, participant, amountSats, depositId, events);
    book.deposits.set(depositId, { id: depositId, participant, address: address.address, amountSats, block: null });
    events.push({ ...recorded, change: 'seen' });
    return null;
  }

  /** Enough confirmations: the money becomes available; the deposit keeps its block until final. */
  depositConfirmed(command: CommandOf<'depositConfirmed'>, events: Events): Rejection {
    assertBlock(command.block);
    // Test errors by descending precedence.
    const deposit = this.depositBook.deposits.get(command.depositId);
    if (deposit === undefined || deposit.block !== null) return 'deposit_not_found';
    this.ledger.transfer('deposit_confirmed', deposit.participant, deposit.participant, deposit.amountSats, deposit.id, events);
    deposit.block = { height: command.block.height, hash: command.block.hash };
    events.push(depositEvent(deposit, 'credited'));
    return null;
  }

  /** Replaced, double-spent or reorged out before the credit: it leaves, and the outpoint may recur. */
  depositDropped(command: CommandOf<'depositDropped'>, events: Events): Rejection {
    // Test errors by descending precedence.
    const deposit = this.depositBook.deposits.get(command.depositId);
    if (deposit === undefined || deposit.block !== null) return 'deposit_not_found';
    this.ledger.transfer('deposit_dropped', deposit.participant, deposit.participant, deposit.amountSats, deposit.id, events);
    this.depositBook.deposits.delete(deposit.id);
    events.push(depositEvent(deposit, 'dropped'));
    return null;
  }

  /**
   * A credited deposit: moved to another block (the reorg re-mined it deeply enough), reversed
   * (it left the best chain: the credit is taken back even if spent, and an account left owing
   * is frozen), or final (no longer watched; the outpoint is never counted again).
   */
  changeCredited(command: CommandOf<'depositMoved' | 'depositReversed' | 'depositFinal'>, events: Events): Rejection {
    if (command.type === 'depositMoved') assertBlock(command.block);
    // Test errors by descending precedence.
    const book = this.depositBook;
    const deposit = book.deposits.get(command.depositId);
    if (deposit === undefined || deposit.block === null) return 'deposit_not_credited';
    if (command.type === 'depositMoved') {
      deposit.block = { height: command.block.height, hash: command.block.hash };
      events.push(depositEvent(deposit, 'moved'));
      return null;
    }
    book.deposits.delete(deposit.id);
    if (command.type === 'depositFinal') {
      book.closedIds.add(deposit.id);
      events.push(depositEvent(deposit, 'final'));
      return null;
    }
    const { participant } = deposit;
    this.ledger.ensureAccount(participant);
    this.ledger.transfer('deposit_reversed', participant, participant, deposit.amountSats, deposit.id, events);
    events.push({ ...depositEvent(deposit, 'reversed'), block: null });
    // The account is gone when the reversal emptied it exactly.
    const account = this.ledger.account(participant)?.state;
    if (account !== undefined && account.context.availableSats < 0) {
      if (account.value !== 'frozen') {
        this.ledger.setFrozen(participant, true);
        events.push({ type: 'accountFrozen', participant });
      }
      events.push({ type: 'accountOverdrawn', participant, availableSats: account.context.availableSats });
    }
    return null;
  }

  /**
   * Funds move from available to payoutPending in this command, before anything is signed, so of
   * two requests that together exceed the balance exactly one succeeds. The same key with the
   * same body is the same withdrawal (answered again, nothing changes); with another body, refused.
   */
  requestWithdrawal(command: CommandOf<'requestWithdrawal'>, events: Events): Rejection {
    assertAddress(command.participant);
    assert(typeof command.destination === 'string' && command.destination.length > 0 && command.destination.length <= ADDRESS_CHARS_MAX, 'a validated destination');
    // Test errors by descending precedence.
    const { participant, key, destination, amountSats } = command;
    if (!isReference(key)) return 'reference_invalid';
    if (!isSats(amountSats) || amountSats === 0) return 'amount_invalid';
    const book = this.withdrawalBook;
    const earlier = book.keyOf(participant, key);
    if (earlier !== undefined) {
      if (earlier.destination !== destination || earlier.amountSats !== amountSats) return 'withdrawal_key_reused';
      const live = book.live.get(earlier.withdrawalId)?.state;
      events.push({ type: 'withdrawal', withdrawalId: earlier.withdrawalId, participant, state: live?.value ?? 'completed', destination, amountSats, txid: live?.context.txid ?? null, repeated: true });
      return null;
    }
    if (book.live.size >= PENDING_PAYOUTS_MAX) return 'payouts_full';
    const account = this.ledger.account(participant);
    if (account === undefined) return 'account_not_found';
    if (account.state.value === 'frozen') return 'account_frozen';
    if (account.state.context.availableSats < amountSats) return 'insufficient_funds';
    const { policy } = book;
    if (book.requestedInDay(participant, this.host.nowMs()) + amountSats > policy.dailyLimitSats) return 'withdrawal_daily_limit';
    const withdrawalId = `w${++book.seq}`;
    this.ledger.transfer('payout_requested', participant, participant, amountSats, withdrawalId, events);
    book.noteRequest(participant, this.host.nowMs(), amountSats);
    const review = amountSats > policy.manualAboveSats ? 'manual' : 'auto';
    const notBeforeMs = book.wasPaidTo(participant, destination) ? this.host.nowMs() : this.host.nowMs() + policy.newDestinationDelayMs;
    const state = this.withdrawalStepper.initial({ withdrawalId, participant, key, destination, amountSats, createdMs: this.host.nowMs(), review, notBeforeMs });
    book.add(state);
    events.push(withdrawalEvent(state, false));
    return null;
  }

  /** One step of a withdrawal's machine; completion sends its money out, a refund gives it back. */
  withdrawalStep(command: CommandOf<'withdrawalStep'>, events: Events): Rejection {
    // Test errors by descending precedence.
    const record = this.withdrawalBook.live.get(command.withdrawalId);
    if (record === undefined) return 'withdrawal_not_found';
    const { step } = command;
    // (An approval of a batched withdrawal is simply out of order: 5025 below.)
    if (step.type !== 'APPROVE' && this.batchBook.batchIdOf(command.withdrawalId) !== undefined) return 'withdrawal_in_batch';
    if (step.type === 'APPROVE') assert(step.nowMs === this.host.nowMs(), 'an approval carries the command time');
    if (step.type === 'APPROVE' && record.state.value === 'requested' && step.by === 'processor') {
      const c = record.state.context;
      if (c.review === 'manual' || this.host.nowMs() < c.notBeforeMs) return 'withdrawal_needs_approval';
    }
    const next = this.withdrawalStepper.step(record.state, step);
    if (next === record.state) return 'withdrawal_wrong_state';
    this.applyStep(record, next, events);
    return null;
  }

  /** A withdrawal takes its next state; completion sends its money out, a refund gives it back. */
  private applyStep(record: { state: WithdrawalState }, next: WithdrawalState, events: Events): void {
    record.state = next;
    const { participant, amountSats, withdrawalId } = next.context;
    if (next.value === 'completed') {
      this.ledger.transfer('payout_sent', participant, participant, amountSats, withdrawalId, events);
      this.withdrawalBook.notePaid(participant, next.context.destination);
    }
    if (next.value === 'refunded') this.ledger.transfer('payout_failed', participant, participant, amountSats, withdrawalId, events);
    if (WITHDRAWAL_FINAL.has(next.value)) this.withdrawalBook.close(withdrawalId);
    events.push(withdrawalEvent(next, false));
  }

  // ---- Payout batches (the payout processor's records; docs/payments.md) --------------------

  /** Approved withdrawals become one batch: the PSBT pays each exactly, the rest minus the fee is change. */
  payoutBatch(command: CommandOf<'payoutBatch'>, events: Events): Rejection {
    // Test errors by descending precedence.
    const book = this.batchBook;
    const { withdrawalIds, inputs, unsigned } = command;
    if (command.batchId !== book.nextBatchId() || command.changeIndex !== book.changeIndexNext) return 'payout_batch_invalid';
    if (!Array.isArray(withdrawalIds) || withdrawalIds.length === 0 || withdrawalIds.length > BATCH_WITHDRAWALS_MAX || new Set(withdrawalIds).size !== withdrawalIds.length) return 'payout_batch_invalid';
    if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > BATCH_INPUTS_MAX || !isUnsigned(unsigned)) return 'payout_batch_invalid';
    const outpoints = new Set<string>();
    for (const input of inputs) {
      if (!HASH64.test(String(input?.txid)) || !Number.isSafeInteger(input.vout) || input.vout < 0 || !isSats(input.valueSats) || input.valueSats === 0) return 'payout_batch_invalid';
      if ((input.chain !== 0 && input.chain !== 1) || !Number.isSafeInteger(input.index) || input.index < 0 || input.index >= 2 ** 31) return 'payout_batch_invalid';
      if (book.isSpending(input.txid, input.vout) || outpoints.has(`${input.txid}:${input.vout}`)) return 'payout_batch_invalid';
      outpoints.add(`${input.txid}:${input.vout}`);
    }
    let paidSats = 0;
    for (const id of withdrawalIds) {
      const record = this.withdrawalBook.live.get(id);
      if (record === undefined) return 'withdrawal_not_found';
      if (record.state.value !== 'approved' || book.batchIdOf(id) !== undefined) return 'withdrawal_wrong_state';
      paidSats += record.state.context.amountSats;
    }
    const inSats = inputs.reduce((sum, input) => sum + input.valueSats, 0);
    if (inSats - paidSats - unsigned.changeSats !== unsigned.feeSats) return 'payout_batch_invalid';
    const batch: PayoutBatchRecord = {
      batchId: command.batchId,
      withdrawalIds: [...withdrawalIds],
      inputs: inputs.map(({ txid, vout, valueSats, chain, index }) => ({ txid, vout, valueSats, chain, index })),
      changeIndex: command.changeIndex,
      createdMs: this.host.nowMs(),
      unsigned: { ...unsigned },
      candidates: [],
    };
    book.seq += 1;
    book.changeIndexNext += 1;
    book.add(batch);
    for (const id of withdrawalIds) {
      const record = this.withdrawalBook.live.get(id)!;
      this.applyStep(record, this.withdrawalStepper.step(record.state, { type: 'BATCH', batchId: batch.batchId }), events);
    }
    events.push(batchEvent(batch, 'created', null));
    return null;
  }

  /** A fee bump of the last candidate: the same inputs and outputs, the added fee out of the change. */
  payoutBump(command: CommandOf<'payoutBump'>, events: Events): Rejection {
    // Test errors by descending precedence.
    const batch = this.batchBook.live.get(command.batchId);
    if (batch === undefined) return 'payout_batch_not_found';
    const last = batch.candidates[batch.candidates.length - 1];
    if (last === undefined || batch.unsigned !== null || this.stateOf(batch) !== 'broadcast') return 'payout_batch_wrong_state';
    const { unsigned } = command;
    if (!isUnsigned(unsigned) || unsigned.feeSats <= last.feeSats || unsigned.changeSats !== this.changeOf(batch, last.feeSats) - (unsigned.feeSats - last.feeSats)) return 'payout_batch_invalid';
    batch.unsigned = { ...unsigned };
    events.push(batchEvent(batch, 'bump', null));
    return null;
  }

  /** The payer's signed transaction for the batch's unsigned PSBT (checked by the processor first). */
  payoutSigned(command: CommandOf<'payoutSigned'>, events: Events): Rejection {
    // Test errors by descending precedence.
    const batch = this.batchBook.live.get(command.batchId);
    if (batch === undefined) return 'payout_batch_not_found';
    const { unsigned } = batch;
    if (unsigned === null) return 'payout_batch_wrong_state';
    const { txid, rawHex } = command;
    if (!HASH64.test(String(txid)) || typeof rawHex !== 'string' || rawHex.length > RAW_TX_CHARS_MAX || !/^([0-9a-f]{2})+$/.test(rawHex)) return 'payout_batch_invalid';
    if (batch.candidates.some((candidate) => candidate.txid === txid)) return 'payout_batch_invalid';
    batch.candidates.push({ txid, rawHex, feeSats: unsigned.feeSats, feeRateSatVb: unsigned.feeRateSatVb, signedMs: this.host.nowMs() });
    batch.unsigned = null;
    if (batch.candidates.length === 1) {
      for (const id of batch.withdrawalIds) {
        const record = this.withdrawalBook.live.get(id)!;
        this.applyStep(record, this.withdrawalStepper.step(record.state, { type: 'SIGN', txid }), events);
      }
    }
    events.push(batchEvent(batch, 'signed', txid));
    return null;
  }

  /**
   * One step for every withdrawal of the batch, all or none. FAIL only while nothing was signed
   * or after a conflict: a signed transaction may still confirm, so failing (and later refunding)
   * its withdrawals could pay them twice.
   */
  payoutBatchStep(command: CommandOf<'payoutBatchStep'>, events: Events): Rejection {
    // Test errors by descending precedence.
    const batch = this.batchBook.live.get(command.batchId);
    if (batch === undefined) return 'payout_batch_not_found';
    const { step } = command;
    if (step.type === 'CONFIRM') {
      assertBlock(step.block);
      if (!batch.candidates.some((candidate) => candidate.txid === step.txid)) return 'payout_batch_invalid';
    }
    if (step.type === 'FAIL') {
      if (typeof step.reason !== 'string' || step.reason.length === 0 || step.reason.length > REASON_CHARS_MAX) return 'payout_batch_invalid';
      if (batch.candidates.length > 0 && this.stateOf(batch) !== 'conflicted') return 'payout_batch_wrong_state';
    }
    const records = batch.withdrawalIds.map((id) => this.withdrawalBook.live.get(id)!);
    const nexts = records.map((record) => this.withdrawalStepper.step(record.state, step));
    if (nexts.some((next, index) => next === records[index]!.state)) return 'withdrawal_wrong_state';
    if (step.type === 'COMPLETE' || step.type === 'FAIL') {
      batch.unsigned = null;
      this.batchBook.close(batch.batchId);
    }
    records.forEach((record, index) => this.applyStep(record, nexts[index]!, events));
    events.push(batchEvent(batch, step.type, step.type === 'CONFIRM' ? step.txid : null));
    return null;
  }

  /** The state all of a batch's withdrawals are in (they move together). */
  private stateOf(batch: PayoutBatchRecord): string {
    return this.withdrawalBook.live.get(batch.withdrawalIds[0]!)!.state.value;
  }

  /** The change a candidate with this fee pays back. */
  private changeOf(batch: PayoutBatchRecord, feeSats: number): number {
    const inSats = batch.inputs.reduce((sum, input) => sum + input.valueSats, 0);
    const paidSats = batch.withdrawalIds.reduce((sum, id) => sum + this.withdrawalBook.live.get(id)!.state.context.amountSats, 0);
    return inSats - paidSats - feeSats;
  }

  /**
   * What participants are owed on chain: every balance (available, held, in withdrawals) less
   * deposits not yet credited, i.e. the money inside less the exchange's own fee income. The
   * wallet's confirmed coins must cover it (the payout processor's reconciliation).
   */
  owedSats(): number {
    let pendingSats = 0;
    for (const deposit of this.depositBook.deposits.values()) if (deposit.block === null) pendingSats += deposit.amountSats;
    return -this.ledger.worldSats - this.ledger.feesSats - pendingSats;
  }

  /** Live batches, by id (the processor's work list). */
  payoutBatches(): PayoutBatchSnapshot[] {
    return this.batchBook.exportLive();
  }

  /** The id and change index the next batch must carry. */
  nextPayoutBatch(): { readonly batchId: string; readonly changeIndex: number } {
    return { batchId: this.batchBook.nextBatchId(), changeIndex: this.batchBook.changeIndexNext };
  }

  /** Whether a live batch spends this coin. */
  coinInBatch(txid: string, vout: number): boolean {
    return this.batchBook.isSpending(txid, vout);
  }

  /** Approved withdrawals not in a batch, oldest first (what the next batch pays). */
  approvedWithdrawals(limit: number): WithdrawalSnapshot[] {
    const approved: WithdrawalSnapshot[] = [];
    for (const { state } of this.withdrawalBook.live.values()) {
      if (approved.length >= limit) break;
      if (state.value === 'approved' && this.batchBook.batchIdOf(state.context.withdrawalId) === undefined) approved.push({ ...state.context, state: state.value });
    }
    return approved;
  }

  /** Withdrawals waiting in `requested` (what the processor may approve), oldest first. */
  requestedWithdrawals(limit: number): WithdrawalSnapshot[] {
    const requested: WithdrawalSnapshot[] = [];
    for (const { state } of this.withdrawalBook.live.values()) {
      if (requested.length >= limit) break;
      if (state.value === 'requested') requested.push({ ...state.context, state: state.value });
    }
    return requested;
  }

  setWithdrawalPolicy(command: CommandOf<'setWithdrawalPolicy'>, events: Events): Rejection {
    // Test errors by descending precedence.
    const { dailyLimitSats, manualAboveSats, newDestinationDelayMs } = command.policy ?? {};
    const valid = isSats(dailyLimitSats) && isSats(manualAboveSats) && Number.isSafeInteger(newDestinationDelayMs) && newDestinationDelayMs! >= 0 && newDestinationDelayMs! <= 30 * DAY_MS;
    if (!valid) return 'withdrawal_policy_invalid';
    const policy = { dailyLimitSats: dailyLimitSats!, manualAboveSats: manualAboveSats!, newDestinationDelayMs: newDestinationDelayMs! };
    this.withdrawalBook.policy = policy;
    events.push({ type: 'withdrawalPolicySet', policy });
    return null;
  }

  /** The participant's live withdrawals (O(own)). */
  withdrawalsOf(participant: string): WithdrawalSnapshot[] {
    return this.withdrawalBook.of(participant).map((state) => ({ ...state.context, state: state.value }));
  }

  /** A live withdrawal. */
  withdrawal(withdrawalId: string): WithdrawalSnapshot | undefined {
    const state = this.withdrawalBook.live.get(withdrawalId)?.state;
    return state === undefined ? undefined : { ...state.context, state: state.value };
  }

  /** Every reserved deposit address (what the chain watcher watches). */
  depositAddressList(): string[] {
    return [...this.depositBook.addresses.keys()];
  }

  /** The participant a deposit address was reserved for, or undefined. */
  depositAddressOwner(address: string): string | undefined {
    return this.depositBook.addresses.get(address)?.participant;
  }

  /** Pending and credited (not yet final) deposits, by outpoint. */
  liveDeposits(): DepositSnapshot[] {
    return this.depositBook.exportDeposits();
  }

  /** One pending or credited deposit by outpoint. */
  liveDeposit(depositId: string): DepositSnapshot | undefined {
    const record = this.depositBook.deposits.get(depositId);
    return record === undefined ? undefined : { ...record, block: record.block === null ? null : { ...record.block } };
  }

  /** Whether an outpoint is final or was too small: it is never counted again. */
  depositClosed(depositId: string): boolean {
    return this.depositBook.closedIds.has(depositId);
  }

  /** A participant's deposit addresses, newest first. */
  depositAddressesOf(participant: string, limit = 20): DepositAddressSnapshot[] {
    return this.depositBook.addressesOf(participant, limit).map((record) => ({ ...record }));
  }

  /** Live withdrawals make up each account's payoutPending. */
  private checkWithdrawals(): void {
    const pendingOf = new Map<string, number>();
    for (const { state } of this.withdrawalBook.live.values()) {
      const c = state.context;
      assert(!WITHDRAWAL_FINAL.has(state.value), `${c.withdrawalId} is live`);
      pendingOf.set(c.participant, (pendingOf.get(c.participant) ?? 0) + c.amountSats);
    }
    for (const [address, record] of this.ledger.accounts) {
      assert(record.state.context.payoutPendingSats === (pendingOf.get(address) ?? 0), `${address}: payoutPending equals its live withdrawals`);
    }
    for (const [address] of pendingOf) assert(this.ledger.accounts.has(address), `${address}: a live withdrawal has its account`);
  }

  /** Pending deposits make up each account's depositPending; every deposit pays its participant's address. */
  private checkDeposits(): void {
    const pendingOf = new Map<string, number>();
    for (const deposit of this.depositBook.deposits.values()) {
      const address = this.depositBook.addresses.get(deposit.address);
      assert(address?.participant === deposit.participant && address.used, `${deposit.id} pays a used address of ${deposit.participant}`);
      assert(!this.depositBook.closedIds.has(deposit.id), `${deposit.id} is live or closed, not both`);
      if (deposit.block === null) pendingOf.set(deposit.participant, (pendingOf.get(deposit.participant) ?? 0) + deposit.amountSats);
    }
    for (const [address, record] of this.ledger.accounts) {
      assert(record.state.context.depositPendingSats === (pendingOf.get(address) ?? 0), `${address}: depositPending equals its pending deposits`);
    }
    for (const [address] of pendingOf) assert(this.ledger.accounts.has(address), `${address}: a pending deposit has its account`);
    for (const record of this.depositBook.addresses.values()) assert(record.index < this.depositBook.indexNext, 'reserved indices are below the next');
  }


  /** Every batch's withdrawals are live, in it alone, and in step with its candidates. */
  private checkBatches(): void {
    for (const batch of this.batchBook.live.values()) {
      assert(batch.candidates.length > 0 || batch.unsigned !== null, `${batch.batchId} waits for a signature or has one`);
      for (const id of batch.withdrawalIds) {
        const state = this.withdrawalBook.live.get(id)?.state;
        assert(state !== undefined && this.batchBook.batchIdOf(id) === batch.batchId, `${id} of ${batch.batchId} is live and in it`);
        const signed = batch.candidates.length > 0;
        assert(signed ? state.value !== 'batched' : state.value === 'batched', `${id}: batched exactly while ${batch.batchId} has no signed candidate`);
        assert(state.context.batchId === batch.batchId, `${id} names its batch`);
      }
      assert(batch.changeIndex < this.batchBook.changeIndexNext, 'change indices are below the next');
    }
  }

  /** The part of MarketState the funds hold. */
  exportState(): Pick<MarketState, 'depositIndexNext' | 'depositAddresses' | 'deposits' | 'closedDepositIds' | 'withdrawalSeq' | 'withdrawals' | 'withdrawalKeys' | 'withdrawalPolicy' | 'withdrawalHistory' | 'withdrawalDestinations' | 'payoutBatchSeq' | 'changeIndexNext' | 'payoutBatches'> {
    return {
      depositIndexNext: this.depositBook.indexNext,
      depositAddresses: this.depositBook.exportAddresses(),
      deposits: this.depositBook.exportDeposits(),
      closedDepositIds: [...this.depositBook.closedIds].sort(compareStrings),
      withdrawalSeq: this.withdrawalBook.seq,
      withdrawals: this.withdrawalBook.exportLive(),
      withdrawalKeys: this.withdrawalBook.exportKeys(),
      withdrawalPolicy: { ...this.withdrawalBook.policy },
      withdrawalHistory: this.withdrawalBook.exportHistory(),
      withdrawalDestinations: this.withdrawalBook.exportPaidTo(),
      payoutBatchSeq: this.batchBook.seq,
      changeIndexNext: this.batchBook.changeIndexNext,
      payoutBatches: this.batchBook.exportLive(),
    };
  }

  restore(state: MarketState): void {
    this.depositBook.restore(state);
    this.withdrawalBook.restore(state);
    this.batchBook.restore(state);
  }

  /** Pending deposits and live withdrawals match the accounts' buckets (throws on the first violation). */
  checkInvariants(): void {
    this.checkDeposits();
    this.checkWithdrawals();
    this.checkBatches();
  }
}

function batchEvent(batch: PayoutBatchRecord, change: Extract<CoreEvent, { readonly type: 'payoutBatch' }>['change'], txid: string | null): CoreEvent {
  return { type: 'payoutBatch', batchId: batch.batchId, change, withdrawalIds: [...batch.withdrawalIds], txid };
}

function isUnsigned(value: UnsignedPayout | undefined): value is UnsignedPayout {
  return typeof value === 'object' && value !== null && typeof value.psbtBase64 === 'string' && value.psbtBase64.length > 0 && value.psbtBase64.length <= RAW_TX_CHARS_MAX * 2
    && isSats(value.feeSats) && isSats(value.changeSats) && typeof value.feeRateSatVb === 'number' && Number.isFinite(value.feeRateSatVb) && value.feeRateSatVb > 0;
}

function withdrawalEvent(state: WithdrawalState, repeated: boolean): CoreEvent {
  const c = state.context;
  return { type: 'withdrawal', withdrawalId: c.withdrawalId, participant: c.participant, state: state.value, destination: c.destination, amountSats: c.amountSats, txid: c.txid, repeated };
}

function depositEvent(deposit: DepositRecord, change: DepositChange): Extract<CoreEvent, { readonly type: 'deposit' }> {
  return { type: 'deposit', depositId: deposit.id, participant: deposit.participant, address: deposit.address, amountSats: deposit.amountSats, change, block: deposit.block };
}


/** Blocks come from the chain watcher, which validated the backend's answer; a malformed one is its bug. */
function assertBlock(block: ChainBlock): void {
  assert(typeof block === 'object' && block !== null && Number.isSafeInteger(block.height) && block.height >= 0 && /^[0-9a-f]{64}$/.test(block.hash), 'a block has a height and a 64-hex hash');
}

/** Participants arrive authenticated; a malformed one is the host's bug. */
function assertAddress(address: string): void {
  assert(typeof address === 'string' && address.length > 0 && address.length <= ADDRESS_CHARS_MAX, 'participant address');
}

function isReference(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= REFERENCE_CHARS_MAX && REFERENCE_PATTERN.test(id);
}

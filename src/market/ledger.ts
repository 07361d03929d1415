// The double-entry ledger. Every movement of money is a transfer of a positive amount from one
// ledger account to another, of a kind that fixes which accounts it may touch (as the original's
// movement types fix their directions). Ledger accounts:
//   available:<address>  held:<address>  depositPending:<address>  payoutPending:<address>
//   fees   (the exchange's fee income)
//   world  (money outside the exchange: deposits come from it, payouts go to it; its balance is
//           minus the money inside, so all balances always sum to zero)
// A participant's four buckets live in its account machine (src/machines/account.ts), whose
// guards refuse negative balances; the ledger steps it and asserts the step happened, so a
// caller that forgot to check funds crashes instead of minting money.
// A hold is escrow for one BUY bid and then its transaction: opened at placement, partly
// released at the match, and at the end either settled (price to the seller, fee to the
// exchange, any rest back) or voided (all back). The bid, then the transaction, carries its
// hold object (no lookup by id on the hot path); a participant's held balance is the sum of
// its open holds, which MarketCore.checkInvariants verifies.
import { assert } from '../assert.js';
import { assertSats } from './money.js';
import type { AccountEvent, AccountMoneyEventType, AccountState } from '../machines/account.js';
import type { Stepper } from '../machines/flat-machine.js';
import type { AccountContext, AccountValue } from '../machines/account.js';

export type TransferKind =
  | 'bid_hold'
  | 'bid_release'
  | 'trade_refund'
  | 'settle_price'
  | 'settle_fee'
  | 'settle_refund'
  | 'credit'
  | 'deposit_seen'
  | 'deposit_confirmed'
  | 'deposit_dropped'
  | 'deposit_reversed'
  | 'payout_requested'
  | 'payout_sent'
  | 'payout_failed';

type Bucket = 'available' | 'held' | 'depositPending' | 'payoutPending';
type System = 'fees' | 'world';

/** One participant's move between its own buckets: one machine event moves both sides. */
interface InternalRule {
  readonly from: Bucket;
  readonly to: Bucket;
  readonly move: AccountMoneyEventType;
}
/** Between two owners: each participant side is its own machine event. */
interface ExternalRule {
  readonly from: Bucket | 'world';
  readonly to: Bucket | System;
  readonly debit: AccountMoneyEventType | null;
  readonly credit: AccountMoneyEventType | null;
}

export const TRANSFER_RULES: { readonly [K in TransferKind]: InternalRule | ExternalRule } = {
  bid_hold: { from: 'available', to: 'held', move: 'HOLD' },
  bid_release: { from: 'held', to: 'available', move: 'RELEASE' },
  trade_refund: { from: 'held', to: 'available', move: 'RELEASE' },
  settle_refund: { from: 'held', to: 'available', move: 'RELEASE' },
  deposit_confirmed: { from: 'depositPending', to: 'available', move: 'DEPOSIT_CONFIRMED' },
  payout_requested: { from: 'available', to: 'payoutPending', move: 'PAYOUT_REQUEST' },
  payout_failed: { from: 'payoutPending', to: 'available', move: 'PAYOUT_FAILED' },
  settle_price: { from: 'held', to: 'available', debit: 'SETTLE', credit: 'CREDIT' },
  settle_fee: { from: 'held', to: 'fees', debit: 'SETTLE', credit: null },
  credit: { from: 'world', to: 'available', debit: null, credit: 'CREDIT' },
  deposit_seen: { from: 'world', to: 'depositPending', debit: null, credit: 'DEPOSIT_SEEN' },
  deposit_dropped: { from: 'depositPending', to: 'world', debit: 'DEPOSIT_DROPPED', credit: null },
  // Unguarded: the credited money may be spent already, so the available balance can go negative.
  deposit_reversed: { from: 'available', to: 'world', debit: 'DEPOSIT_REVERSED', credit: null },
  payout_sent: { from: 'payoutPending', to: 'world', debit: 'PAYOUT_SENT', credit: null },
};

export interface TransferEvent {
  readonly type: 'transfer';
  readonly kind: TransferKind;
  /** Ledger account names, e.g. "held:1Abc…", "fees", "world". */
  readonly from: string;
  readonly to: string;
  readonly amountSats: number;
  /** The bid, transaction, deposit or payout the transfer belongs to. */
  readonly reference: string;
}

/** Where transfers are reported (the core's event list). */
export interface TransferSink {
  push(event: TransferEvent): unknown;
}

export interface AccountRecord {
  state: AccountState;
  /** This participant's ledger account names, made once (transfers name them in events). */
  readonly names: { readonly [K in Bucket]: string };
}

function newAccountRecord(state: AccountState): AccountRecord {
  const address = state.context.address;
  const names = {
    available: `available:${address}`,
    held: `held:${address}`,
    depositPending: `depositPending:${address}`,
    payoutPending: `payoutPending:${address}`,
  };
  return { state, names };
}

export interface Hold {
  /** The BUY bid's id: the hold keeps it through the transaction. */
  readonly holdId: string;
  readonly owner: string;
  amountSats: number;
  open: boolean;
}

export interface HoldSettlement {
  readonly seller: string;
  readonly sellerSats: number;
  readonly feeSats: number;
  readonly refundSats: number;
}

type AccountStepper = Stepper<AccountValue, AccountContext, AccountEvent, string>;

export class Ledger {
  readonly accounts = new Map<string, AccountRecord>();
  feesSats = 0;
  /** Minus the money inside the exchange (never positive). */
  worldSats = 0;

  constructor(private readonly stepper: AccountStepper) {}

  account(address: string): AccountRecord | undefined {
    return this.accounts.get(address);
  }

  ensureAccount(address: string): AccountRecord {
    let record = this.accounts.get(address);
    if (record === undefined) {
      record = newAccountRecord(this.stepper.initial(address));
      this.accounts.set(address, record);
    }
    return record;
  }

  /** Puts back an account from exported state. */
  restoreAccount(state: AccountState): void {
    assert(!this.accounts.has(state.context.address), 'an account is restored once');
    this.accounts.set(state.context.address, newAccountRecord(state));
  }

  /** Moves `amountSats` (> 0) as `kind` prescribes. The caller has checked every guard. */
  transfer(kind: TransferKind, fromOwner: string, toOwner: string, amountSats: number, reference: string, events: TransferSink): void {
    assertSats(amountSats, 'amountSats');
    assert(amountSats > 0, 'a transfer moves a positive amount');
    const rule = TRANSFER_RULES[kind];
    const source = rule.from === 'world' ? null : this.accounts.get(fromOwner);
    const target = rule.to === 'world' || rule.to === 'fees' ? null : this.accounts.get(toOwner);
    assert(source !== undefined && target !== undefined, 'both participant accounts of a transfer exist');
    if ('move' in rule) {
      assert(source === target && source !== null, 'an internal transfer stays within one account');
      source.state = this.nextState(source.state, rule.move, amountSats, kind);
    } else {
      // Step both participant sides before committing either, so a failed guard changes nothing.
      // A participant may trade with itself: then the credit steps from the debited state.
      const debited = rule.debit === null ? null : this.nextState(source!.state, rule.debit, amountSats, kind);
      const creditFrom = target === source && debited !== null ? debited : target?.state;
      const credited = rule.credit === null ? null : this.nextState(creditFrom, rule.credit, amountSats, kind);
      if (rule.from === 'world') this.worldSats -= amountSats;
      if (rule.to === 'world') this.worldSats += amountSats;
      if (rule.to === 'fees') this.feesSats += amountSats;
      if (debited !== null) source!.state = debited;
      if (credited !== null) target!.state = credited;
    }
    if (source !== null) this.dropIfEmpty(source);
    events.push({
      type: 'transfer' as const,
      kind,
      from: source === null ? 'world' : source.names[rule.from as Bucket],
      to: target === null ? (rule.to as System) : target.names[rule.to as Bucket],
      amountSats,
      reference,
    });
  }

  openHold(owner: string, holdId: string, amountSats: number, events: TransferSink): Hold {
    if (amountSats > 0) this.transfer('bid_hold', owner, owner, amountSats, holdId, events);
    return { holdId, owner, amountSats, open: true };
  }

  /** A hold from exported state: the money is already in the owner's held balance. */
  restoreHold(holdId: string, owner: string, amountSats: number): Hold {
    assert(amountSats === 0 || this.accounts.has(owner), 'a restored hold of money has its account');
    return { holdId, owner, amountSats, open: true };
  }

  /** Gives back part of a hold (the match's price difference). */
  releaseFromHold(hold: Hold, amountSats: number, events: TransferSink): void {
    assert(hold.open, 'the hold is open');
    assert(amountSats >= 0 && amountSats <= hold.amountSats, 'a partial release stays within the hold');
    if (amountSats > 0) this.transfer('trade_refund', hold.owner, hold.owner, amountSats, hold.holdId, events);
    hold.amountSats -= amountSats;
  }

  /** Closes a hold: price to the seller, fee to the exchange, the rest back to the buyer. */
  settleHold(hold: Hold, settlement: HoldSettlement, reference: string, events: TransferSink): void {
    assert(hold.open, 'the hold is open');
    const { seller, sellerSats, feeSats, refundSats } = settlement;
    assert(sellerSats + feeSats + refundSats === hold.amountSats, 'a settlement splits exactly the hold');
    if (sellerSats > 0) this.transfer('settle_price', hold.owner, seller, sellerSats, reference, events);
    if (feeSats > 0) this.transfer('settle_fee', hold.owner, hold.owner, feeSats, reference, events);
    if (refundSats > 0) this.transfer('settle_refund', hold.owner, hold.owner, refundSats, reference, events);
    hold.open = false;
  }

  /** Closes a hold by giving all of it back (an expired or withdrawn BUY bid). */
  voidHold(hold: Hold, events: TransferSink): void {
    assert(hold.open, 'the hold is open');
    if (hold.amountSats > 0) this.transfer('bid_release', hold.owner, hold.owner, hold.amountSats, hold.holdId, events);
    hold.open = false;
  }

  /**
   * An account exists while it holds money or is frozen: one left empty is removed, so accounts
   * cost money to keep (docs/market-rules.md, "Accounts"). Queries show an absent one as zeros.
   */
  private dropIfEmpty(record: AccountRecord): void {
    const c = record.state.context;
    if (record.state.value === 'frozen' || c.availableSats !== 0 || c.heldSats !== 0 || c.depositPendingSats !== 0 || c.payoutPendingSats !== 0) return;
    this.accounts.delete(c.address);
  }

  /** Freezes or unfreezes; the caller has checked the account is in the other state. */
  setFrozen(address: string, frozen: boolean): void {
    const record = this.accounts.get(address);
    assert(record !== undefined, 'only an existing account can be frozen or unfrozen');
    const next = this.stepper.step(record.state, { type: frozen ? 'FREEZE' : 'UNFREEZE' });
    assert(next !== record.state, 'freeze and unfreeze alternate');
    record.state = next;
    this.dropIfEmpty(record);
  }

  private nextState(state: AccountState | undefined, type: AccountMoneyEventType, amountSats: number, what: string): AccountState {
    assert(state !== undefined, 'the account of a transfer exists');
    const next = this.stepper.step(state, { type, amountSats });
    // The message is built only on failure: this runs for every transfer.
    if (next === state) assert(false, `${what}: the account machine refused ${type} of ${amountSats}`);
    return next;
  }
}

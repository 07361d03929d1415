// Deposit addresses and the deposits paid to them, as the market core keeps them (the money
// itself moves in the ledger). Addresses are reserved by index, strictly increasing across the
// exchange: index i is the exchange's deposit key's child …/0/i, derived by the server (the core
// holds no key and derives nothing). A deposit is one output paying such an address, named by
// its outpoint `txid:vout`: pending (seen or confirming) → credited (with its block) → final, or
// dropped/reversed back to nothing, after which the same outpoint may be seen again (a reorged
// transaction re-mined). Final and too-small outpoints are remembered so that none counts twice.
import { assert } from '../assert.js';
import { DEPOSIT_ADDRESSES_UNUSED_MAX } from './limits.js';
import { compareStrings } from './state.js';
import type { ChainBlock } from './commands.js';
import type { DepositAddressSnapshot, DepositSnapshot, MarketState } from './state.js';

export interface DepositAddressRecord {
  readonly index: number;
  readonly address: string;
  readonly participant: string;
  used: boolean;
}

export interface DepositRecord {
  readonly id: string;
  readonly participant: string;
  readonly address: string;
  readonly amountSats: number;
  /** Null while pending; the block it was credited in once credited. */
  block: ChainBlock | null;
}

export class DepositBook {
  indexNext = 0;
  readonly addresses = new Map<string, DepositAddressRecord>();
  /** Each participant's reserved, never-paid addresses, oldest first. */
  private readonly unusedOf = new Map<string, DepositAddressRecord[]>();
  /** Each participant's addresses, oldest first (so its account query costs O(own)). */
  private readonly addressesByParticipant = new Map<string, DepositAddressRecord[]>();
  readonly deposits = new Map<string, DepositRecord>();
  readonly closedIds = new Set<string>();

  /** The participant's newest unused address when it holds the most allowed, else undefined. */
  atUnusedBound(participant: string): DepositAddressRecord | undefined {
    const unused = this.unusedOf.get(participant);
    return unused !== undefined && unused.length >= DEPOSIT_ADDRESSES_UNUSED_MAX ? unused[unused.length - 1] : undefined;
  }

  reserve(participant: string, index: number, address: string): DepositAddressRecord {
    assert(index === this.indexNext, `the server derived index ${index}, the next is ${this.indexNext}`);
    assert(!this.addresses.has(address), 'a derived address is new');
    const record: DepositAddressRecord = { index, address, participant, used: false };
    this.indexNext += 1;
    this.index(record);
    return record;
  }

  markUsed(record: DepositAddressRecord): void {
    if (record.used) return;
    record.used = true;
    const unused = this.unusedOf.get(record.participant)!;
    unused.splice(unused.indexOf(record), 1);
    if (unused.length === 0) this.unusedOf.delete(record.participant);
  }

  /** Addresses reserved by a participant, newest first, at most `limit`. */
  addressesOf(participant: string, limit: number): DepositAddressRecord[] {
    return (this.addressesByParticipant.get(participant) ?? []).slice(-limit).reverse();
  }

  private index(record: DepositAddressRecord): void {
    this.addresses.set(record.address, record);
    let own = this.addressesByParticipant.get(record.participant);
    if (own === undefined) this.addressesByParticipant.set(record.participant, (own = []));
    own.push(record);
    if (!record.used) this.addUnused(record);
  }

  private addUnused(record: DepositAddressRecord): void {
    let unused = this.unusedOf.get(record.participant);
    if (unused === undefined) this.unusedOf.set(record.participant, (unused = []));
    unused.push(record);
  }

  exportAddresses(): DepositAddressSnapshot[] {
    return [...this.addresses.values()].sort((a, b) => a.index - b.index).map((record) => ({ ...record }));
  }

  exportDeposits(): DepositSnapshot[] {
    return [...this.deposits.values()].sort((a, b) => compareStrings(a.id, b.id)).map((record) => ({ ...record }));
  }

  restore(state: MarketState): void {
    this.indexNext = state.depositIndexNext;
    for (const snapshot of state.depositAddresses) {
      assert(snapshot.index < state.depositIndexNext && !this.addresses.has(snapshot.address), 'restored deposit addresses are unique and below the next index');
      this.index({ ...snapshot });
    }
    for (const snapshot of state.deposits) {
      assert(this.addresses.get(snapshot.address)?.participant === snapshot.participant, 'a restored deposit pays a reserved address of its participant');
      this.deposits.set(snapshot.id, { ...snapshot });
    }
    for (const id of state.closedDepositIds) this.closedIds.add(id);
  }
}

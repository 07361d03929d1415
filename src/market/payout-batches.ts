// Payout batches as the market core keeps them: which approved withdrawals one Bitcoin
// transaction pays, the wallet coins it spends, the change index it pays back to, the PSBT waiting
// for the payer's signature, and every signed candidate (the first one and its fee bumps), each
// with its raw transaction. The raw transaction is journalled before anything is broadcast, so a
// restart re-sends exactly what was signed and never builds a second payment of the same
// withdrawals. The core holds no key and parses no Bitcoin data: the payout processor
// (src/chain/payout-processor.ts) builds and checks, the core keeps the record and its arithmetic.
import { assert } from '../assert.js';
import { compareStrings } from './state.js';
import type { MarketState, PayoutBatchSnapshot } from './state.js';

export interface BatchInput {
  readonly txid: string;
  readonly vout: number;
  readonly valueSats: number;
  /** Where its address sits in the account (0: deposits, 1: change), so a fee bump can rebuild the PSBT. */
  readonly chain: 0 | 1;
  readonly index: number;
}

/** A PSBT handed to the payer: the first one of a batch, or a fee bump of its last candidate. */
export interface UnsignedPayout {
  readonly psbtBase64: string;
  readonly feeSats: number;
  readonly changeSats: number;
  readonly feeRateSatVb: number;
}

export interface PayoutCandidate {
  readonly txid: string;
  readonly rawHex: string;
  readonly feeSats: number;
  readonly feeRateSatVb: number;
  readonly signedMs: number;
}

export interface PayoutBatchRecord {
  readonly batchId: string;
  readonly withdrawalIds: readonly string[];
  readonly inputs: readonly BatchInput[];
  readonly changeIndex: number;
  readonly createdMs: number;
  /** Waiting for the payer's signature; null when nothing is. */
  unsigned: UnsignedPayout | null;
  /** Signed candidates, oldest first; every one spends the same inputs (RBF), so at most one confirms. */
  readonly candidates: PayoutCandidate[];
}

/** 1/0 is the float address; change starts after it. */
export const FIRST_CHANGE_INDEX = 1;

export class PayoutBatchBook {
  seq = 0;
  /**
   * The next index on the account's change branch (1/i): one per batch, never reused. 1/0 is the
   * operator's float address (the exchange's own coins that pay network fees), so batches start at 1.
   */
  changeIndexNext = FIRST_CHANGE_INDEX;
  readonly live = new Map<string, PayoutBatchRecord>();
  /** withdrawalId → batchId for every withdrawal of a live batch. */
  private readonly batchOf = new Map<string, string>();
  /** `txid:vout` of every coin a live batch spends. */
  private readonly spending = new Set<string>();

  nextBatchId(): string {
    return `b${this.seq + 1}`;
  }

  batchIdOf(withdrawalId: string): string | undefined {
    return this.batchOf.get(withdrawalId);
  }

  isSpending(txid: string, vout: number): boolean {
    return this.spending.has(`${txid}:${vout}`);
  }

  add(record: PayoutBatchRecord): void {
    assert(!this.live.has(record.batchId), 'a batch id is new');
    this.live.set(record.batchId, record);
    for (const id of record.withdrawalIds) this.batchOf.set(id, record.batchId);
    for (const input of record.inputs) this.spending.add(`${input.txid}:${input.vout}`);
  }

  close(batchId: string): void {
    const record = this.live.get(batchId);
    assert(record !== undefined, 'a closed batch was live');
    this.live.delete(batchId);
    for (const id of record.withdrawalIds) this.batchOf.delete(id);
    for (const input of record.inputs) this.spending.delete(`${input.txid}:${input.vout}`);
  }

  exportLive(): PayoutBatchSnapshot[] {
    return [...this.live.values()]
      .map((record) => ({ ...record, withdrawalIds: [...record.withdrawalIds], inputs: record.inputs.map((input) => ({ ...input })), unsigned: record.unsigned === null ? null : { ...record.unsigned }, candidates: record.candidates.map((candidate) => ({ ...candidate })) }))
      .sort((a, b) => compareStrings(a.batchId, b.batchId));
  }

  restore(state: MarketState): void {
    this.seq = state.payoutBatchSeq;
    this.changeIndexNext = state.changeIndexNext;
    for (const batch of state.payoutBatches) {
      this.add({ ...batch, withdrawalIds: [...batch.withdrawalIds], inputs: batch.inputs.map((input) => ({ ...input })), unsigned: batch.unsigned === null ? null : { ...batch.unsigned }, candidates: batch.candidates.map((candidate) => ({ ...candidate })) });
    }
  }
}

// The journal: append-only records with consecutive sequence numbers, hash-chained so that an
// auditor can replay it and detect any change, written with group commit (all appends queued
// while one durable batch is in flight go out together in the next one).
//
//   key   journal/<seq, 16 digits>
//   value hash (32 bytes) || payload
//   hash  = SHA-256(previous hash || seq as 8 bytes big-endian || payload); before seq 1: 32 zeros
//
// `append` assigns the sequence number and hash at once (so order is append order) and resolves
// only when the record is durable: that is the moment a command may be acknowledged.
import { hash } from 'node:crypto';
import { assert } from '../assert.js';
import { sequenceKey, type Store, type StoreOperation } from './store.js';

export interface JournalRecord {
  readonly sequence: number;
  readonly hash: Uint8Array;
  readonly payload: Uint8Array;
}

export interface JournalOptions {
  /** Key prefix, to keep several journals in one store. */
  readonly prefix?: string;
  /** Most records in one durable batch. */
  readonly groupRecordsMax?: number;
}

export const GENESIS_HASH = new Uint8Array(32);
const HASH_BYTES = 32;

// chainHash is on the append and replay hot paths: one reused scratch buffer and node's one-shot
// crypto.hash() (about 3x cheaper than createHash with three updates).
let scratch = Buffer.alloc(4096);

export function chainHash(previous: Uint8Array, sequence: number, payload: Uint8Array): Uint8Array {
  assert(Number.isSafeInteger(sequence) && sequence > 0, 'journal sequence must be a positive integer');
  assert(previous.length === HASH_BYTES, 'previous journal hash must be 32 bytes');
  const length = HASH_BYTES + 8 + payload.length;
  if (scratch.length < length) scratch = Buffer.alloc(Math.max(length, scratch.length * 2));
  scratch.set(previous, 0);
  scratch.writeUInt32BE(Math.floor(sequence / 0x1_0000_0000), HASH_BYTES);
  scratch.writeUInt32BE(sequence >>> 0, HASH_BYTES + 4);
  scratch.set(payload, HASH_BYTES + 8);
  return hash('sha256', scratch.subarray(0, length), 'buffer');
}

interface PendingAppend {
  readonly operation: StoreOperation;
  readonly sequence: number;
  resolve(sequence: number): void;
  reject(error: Error): void;
}

export class Journal {
  private readonly prefix: string;
  private readonly groupRecordsMax: number;
  private pending: PendingAppend[] = [];
  private flushing = false;
  private failure: Error | undefined;
  private durableSequence: number;
  /** Readers waiting for a sequence to become durable, in sequence order (they arrive that way). */
  private durableWaiters: Array<{ readonly sequence: number; resolve(): void; reject(error: Error): void }> = [];

  private constructor(
    private readonly store: Store,
    private nextSequence: number,
    private lastHash: Uint8Array,
    options: JournalOptions,
  ) {
    this.prefix = options.prefix ?? 'journal/';
    this.groupRecordsMax = options.groupRecordsMax ?? 10_000;
    this.durableSequence = nextSequence - 1;
  }

  /** Opens the journal in `store`, continuing after its last record. */
  static async open(store: Store, options: JournalOptions = {}): Promise<Journal> {
    const prefix = options.prefix ?? 'journal/';
    for await (const [key, value] of store.scan(prefix, { reverse: true, limit: 1 })) {
      const sequence = Number(key.slice(prefix.length));
      assert(Number.isSafeInteger(sequence) && sequence > 0, `corrupt journal key ${key}`);
      return new Journal(store, sequence + 1, value.slice(0, HASH_BYTES), options);
    }
    return new Journal(store, 1, GENESIS_HASH, options);
  }

  /** Sequence number of the last record appended (durable or not); 0 when empty. */
  get lastSequence(): number {
    return this.nextSequence - 1;
  }

  /** Sequence number of the last record known to be durable. */
  get lastDurableSequence(): number {
    return this.durableSequence;
  }

  get headHash(): Uint8Array {
    return this.lastHash;
  }

  /** Appends a record; resolves with its sequence number once it is durable. */
  append(payload: Uint8Array): Promise<number> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const sequence = this.nextSequence++;
    const hash = chainHash(this.lastHash, sequence, payload);
    this.lastHash = hash;
    const value = new Uint8Array(HASH_BYTES + payload.length);
    value.set(hash, 0);
    value.set(payload, HASH_BYTES);
    return new Promise((resolve, reject) => {
      this.pending.push({ operation: { type: 'put', key: this.keyOf(sequence), value }, sequence, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /**
   * Resolves once every record up to `sequence` is durable (at once if it is already); rejects if
   * the journal failed first. The read gate of a host that answers queries from memory.
   */
  whenDurable(sequence: number): Promise<void> {
    assert(sequence <= this.lastSequence, 'a reader waits only for records already appended');
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (sequence <= this.durableSequence) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const last = this.durableWaiters[this.durableWaiters.length - 1];
      assert(last === undefined || last.sequence <= sequence, 'readers wait in sequence order');
      this.durableWaiters.push({ sequence, resolve, reject });
    });
  }

  /** Records from `sequence` on, in order. */
  async *readFrom(sequence: number): AsyncIterable<JournalRecord> {
    for await (const chunk of this.readChunksFrom(sequence)) yield* chunk;
  }

  /** The same records in arrays (one await per chunk: what recovery uses). */
  async *readChunksFrom(sequence: number): AsyncIterable<JournalRecord[]> {
    for await (const entries of this.store.scanChunks(this.prefix, { from: this.keyOf(Math.max(1, sequence)) })) {
      // The store hands out fresh copies, so views into them are safe.
      yield entries.map(([key, value]) => ({
        sequence: Number(key.slice(this.prefix.length)),
        hash: value.subarray(0, HASH_BYTES),
        payload: value.subarray(HASH_BYTES),
      }));
    }
  }

  /**
   * Checks the chain from `fromSequence` (whose predecessor hash must be `previousHash`): every
   * sequence number present and every hash right. Returns the first problem, if any.
   */
  async verify(fromSequence = 1, previousHash: Uint8Array = GENESIS_HASH): Promise<{ ok: true; records: number; lastSequence: number } | { ok: false; sequence: number; reason: string }> {
    let expected = fromSequence;
    let previous = previousHash;
    for await (const record of this.readFrom(fromSequence)) {
      if (record.sequence !== expected) return { ok: false, sequence: expected, reason: `record ${expected} is missing (found ${record.sequence})` };
      const hash = chainHash(previous, record.sequence, record.payload);
      if (!equalHashes(hash, record.hash)) return { ok: false, sequence: expected, reason: 'hash does not match the chain' };
      previous = hash;
      expected += 1;
    }
    return { ok: true, records: expected - fromSequence, lastSequence: expected - 1 };
  }

  /** Deletes records before `sequence` (after a snapshot has made them unnecessary). */
  async deleteBefore(sequence: number): Promise<number> {
    const operations: StoreOperation[] = [];
    for await (const [key] of this.store.scan(this.prefix)) {
      if (Number(key.slice(this.prefix.length)) >= sequence) break;
      operations.push({ type: 'delete', key });
    }
    for (let start = 0; start < operations.length; start += 10_000) await this.store.batch(operations.slice(start, start + 10_000));
    return operations.length;
  }

  private keyOf(sequence: number): string {
    return `${this.prefix}${sequenceKey(sequence)}`;
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const group = this.pending.splice(0, this.groupRecordsMax);
      try {
        await this.store.batch(group.map((append) => append.operation));
      } catch (error) {
        // Memory is now ahead of the disk: nothing more may be acknowledged. The host must restart
        // and recover from what is durable.
        this.failure = new Error(`journal write failed; restart to recover: ${(error as Error).message}`);
        for (const append of [...group, ...this.pending.splice(0)]) append.reject(this.failure);
        for (const waiter of this.durableWaiters.splice(0)) waiter.reject(this.failure);
        break;
      }
      this.durableSequence = group[group.length - 1]!.sequence;
      for (const append of group) append.resolve(append.sequence);
      let ready = 0;
      while (ready < this.durableWaiters.length && this.durableWaiters[ready]!.sequence <= this.durableSequence) ready++;
      for (const waiter of this.durableWaiters.splice(0, ready)) waiter.resolve();
    }
    this.flushing = false;
  }
}

export function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

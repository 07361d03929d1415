// Verifies batches of signed messages on worker threads, one per core by default, so that the
// exchange's intake is not bounded by one core. The main thread does the cheap parts (digest,
// address decode, signature parse) and ships packed items; workers run the key recovery, with
// libsecp256k1 when its binding loads here, else with the reference implementation.
//
// The worker is plain JS (verify-worker.js) importing only packages: a worker started from a .ts
// URL would need `execArgv: ['--import', 'tsx']` under tsx and fails under a runner that does not
// register tsx in workers; the .js file loads everywhere.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { assert } from '../assert.js';
import { parseAddress } from './address.js';
import { checkString } from './check.js';
import { ADDRESS_CACHE_ENTRIES_MAX, VERIFY_QUEUED_BATCHES_MAX, VERIFY_WORKER_BATCH_ITEMS_MAX } from './limits.js';
import { nativeLoads, type VerifierBackend } from './verifier.js';
import { messageDigest, parseSignature } from './signmessage.js';

export interface VerifyItem {
  readonly message: string | Uint8Array;
  readonly address: string;
  readonly signature: string;
}

/** digest (32) || HASH160 (20) || flags (1) || r || s (64); verify-worker.js reads the same. */
const ITEM_BYTES = 117;

interface Job {
  readonly items: Uint8Array;
  resolve(results: Uint8Array): void;
  reject(error: Error): void;
}

interface Single {
  readonly item: VerifyItem;
  resolve(valid: boolean): void;
  reject(error: Error): void;
}

export class VerifierPool {
  readonly size: number;
  /** The backend inside the workers: 'native' when the libsecp256k1 binding loads. */
  readonly backend: VerifierBackend;
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly running = new Map<Worker, Job>();
  private readonly singles: Single[] = [];
  private closed = false;

  /** `size`: worker count, default the available cores; `backend`: 'auto' picks native if it loads. */
  constructor(options: { size?: number; backend?: VerifierBackend | 'auto' } = {}) {
    this.size = options.size ?? availableParallelism();
    assert(Number.isSafeInteger(this.size) && this.size >= 1, 'a pool needs at least one worker');
    const wanted = options.backend ?? 'auto';
    const native = wanted !== 'noble' && nativeLoads();
    assert(wanted !== 'native' || native, 'the native secp256k1 binding could not be loaded');
    this.backend = native ? 'native' : 'noble';
    for (let index = 0; index < this.size; index++) this.startWorker();
  }

  /**
   * Verifies one item, batched with the other single items of the same event-loop turn (so that
   * a server handling many requests ships them to the workers together).
   */
  verify(item: VerifyItem): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.singles.push({ item, resolve, reject });
      if (this.singles.length >= VERIFY_WORKER_BATCH_ITEMS_MAX) this.flushSingles();
      else if (this.singles.length === 1) setImmediate(() => this.flushSingles());
    });
  }

  /**
   * Verifies every item; resolves with one boolean per item, in order, the answers of
   * MessageVerifier.verify. Rejects when the pool is closed or its queue is full, and with a
   * TypeError for misuse (an item whose fields are not strings).
   */
  async verifyBatch(items: readonly VerifyItem[]): Promise<boolean[]> {
    if (this.closed) throw new Error('the verifier pool is closed');
    const results = new Array<boolean>(items.length).fill(false);
    // Pack everything first, so that misuse throws before any batch is in flight.
    const packs: Array<{ readonly start: number; readonly packed: Uint8Array; readonly indexes: number[] }> = [];
    for (let start = 0; start < items.length; start += VERIFY_WORKER_BATCH_ITEMS_MAX) {
      const { packed, indexes } = pack(items.slice(start, start + VERIFY_WORKER_BATCH_ITEMS_MAX));
      if (indexes.length > 0) packs.push({ start, packed, indexes });
    }
    await Promise.all(
      packs.map(({ start, packed, indexes }) =>
        this.run(packed).then((answers) => indexes.forEach((index, position) => (results[start + index] = answers[position] === 1))),
      ),
    );
    return results;
  }

  /** Stops the workers; every unanswered batch rejects. */
  async close(): Promise<void> {
    this.closed = true;
    const error = new Error('the verifier pool is closed');
    for (const job of this.queue.splice(0)) job.reject(error);
    for (const job of this.running.values()) job.reject(error);
    this.running.clear();
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private flushSingles(): void {
    const waiting = this.singles.splice(0);
    if (waiting.length === 0) return;
    this.verifyBatch(waiting.map((single) => single.item)).then(
      (answers) => waiting.forEach((single, index) => single.resolve(answers[index] === true)),
      (error: Error) => waiting.forEach((single) => single.reject(error)),
    );
  }

  private run(items: Uint8Array): Promise<Uint8Array> {
    if (this.queue.length >= VERIFY_QUEUED_BATCHES_MAX) return Promise.reject(new Error('the verifier pool is overloaded'));
    return new Promise((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.running.set(worker, job);
      worker.postMessage({ items: job.items }, [job.items.buffer as ArrayBuffer]);
    }
  }

  private startWorker(): void {
    const worker = new Worker(new URL('./verify-worker.js', import.meta.url), { workerData: { backend: this.backend } });
    worker.on('message', ({ results }: { results: Uint8Array }) => {
      const job = this.running.get(worker);
      this.running.delete(worker);
      this.idle.push(worker);
      job?.resolve(results);
      this.dispatch();
    });
    worker.on('error', (error) => {
      // A crashed worker fails its batch; a fresh worker takes its place.
      this.running.get(worker)?.reject(error);
      this.running.delete(worker);
      this.workers.splice(this.workers.indexOf(worker), 1);
      const idleIndex = this.idle.indexOf(worker);
      if (idleIndex >= 0) this.idle.splice(idleIndex, 1);
      if (!this.closed) {
        this.startWorker();
        this.dispatch();
      }
    });
    this.workers.push(worker);
    this.idle.push(worker);
  }
}

const addressCache = new Map<string, Uint8Array | null>();

function addressHash160(address: string): Uint8Array | null {
  let hash = addressCache.get(address);
  if (hash !== undefined) return hash;
  const parsed = parseAddress(address);
  hash = parsed.ok ? parsed.address.hash160 : null;
  if (addressCache.size >= ADDRESS_CACHE_ENTRIES_MAX) addressCache.clear();
  addressCache.set(address, hash);
  return hash;
}

/**
 * Packs the items that can be checked at all; malformed ones stay false without a worker.
 * Misuse (an address or signature that is not a string) throws TypeError, as the verifier does.
 */
function pack(items: readonly VerifyItem[]): { packed: Uint8Array; indexes: number[] } {
  const packed = new Uint8Array(items.length * ITEM_BYTES);
  const indexes: number[] = [];
  items.forEach((item, index) => {
    const hash = addressHash160(checkString(item.address, 'address'));
    const signature = parseSignature(checkString(item.signature, 'signature'));
    if (hash === null || signature === undefined) return;
    const offset = indexes.length * ITEM_BYTES;
    packed.set(messageDigest(item.message), offset);
    packed.set(hash, offset + 32);
    packed[offset + 52] = signature.recoveryId | (signature.compressed ? 4 : 0);
    packed.set(signature.compact, offset + 53);
    indexes.push(index);
  });
  return { packed: packed.slice(0, indexes.length * ITEM_BYTES), indexes };
}

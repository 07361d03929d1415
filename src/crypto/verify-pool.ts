// Verifies batches of signed messages on worker threads, one per core by default, so that the
// exchange's intake is not bounded by one core. The main thread does the cheap parts (digest,
// address decode, signature parse) and ships packed items; workers run libsecp256k1 recovery.
// Without the native binding the pool verifies on the calling thread with the reference backend.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { assert } from '../assert.js';
import { parseAddress } from './address.js';
import { createVerifier, loadNative, type MessageVerifier } from './verifier.js';
import { messageDigest, parseSignature } from './signmessage.js';

export interface VerifyItem {
  readonly message: string | Uint8Array;
  readonly address: string;
  readonly signature: string;
}

const ITEM_BYTES = 117;
/** Largest batch sent to one worker at a time. */
const WORKER_BATCH_MAX = 512;
/** Batches queued beyond the ones running; more makes verifyBatch reject (back-pressure). */
const QUEUED_BATCHES_MAX = 4096;

interface Job {
  readonly items: Uint8Array;
  resolve(results: Uint8Array): void;
  reject(error: Error): void;
}

export class VerifierPool {
  readonly size: number;
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly running = new Map<Worker, Job>();
  private readonly fallback: MessageVerifier | undefined;
  private closed = false;
  private readonly singles: Array<{ readonly item: VerifyItem; resolve(valid: boolean): void; reject(error: Error): void }> = [];

  constructor(options: { size?: number } = {}) {
    this.size = options.size ?? availableParallelism();
    assert(this.size >= 1, 'a pool needs at least one worker');
    if (loadNative() === null) {
      this.fallback = createVerifier('noble');
      return;
    }
    for (let index = 0; index < this.size; index++) this.startWorker();
  }

  /**
   * Verifies one item, batched with the other single items of the same event-loop turn (so that
   * a server handling many requests ships them to the workers together).
   */
  verify(item: VerifyItem): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.singles.push({ item, resolve, reject });
      if (this.singles.length >= WORKER_BATCH_MAX) this.flushSingles();
      else if (this.singles.length === 1) setImmediate(() => this.flushSingles());
    });
  }

  private flushSingles(): void {
    const waiting = this.singles.splice(0);
    if (waiting.length === 0) return;
    this.verifyBatch(waiting.map((single) => single.item)).then(
      (answers) => waiting.forEach((single, index) => single.resolve(answers[index] === true)),
      (error: Error) => waiting.forEach((single) => single.reject(error)),
    );
  }

  get backend(): 'native' | 'noble' {
    return this.fallback === undefined ? 'native' : 'noble';
  }

  /** Verifies every item; resolves with one boolean per item, in order. */
  async verifyBatch(items: readonly VerifyItem[]): Promise<boolean[]> {
    if (this.closed) throw new Error('the verifier pool is closed');
    if (this.fallback !== undefined) return items.map((item) => this.fallback!.verify(item.message, item.address, item.signature));
    const results = new Array<boolean>(items.length).fill(false);
    const chunks: Promise<void>[] = [];
    for (let start = 0; start < items.length; start += WORKER_BATCH_MAX) {
      const slice = items.slice(start, start + WORKER_BATCH_MAX);
      const { packed, indexes } = pack(slice);
      if (indexes.length === 0) continue;
      chunks.push(this.run(packed).then((answers) => indexes.forEach((index, position) => (results[start + index] = answers[position] === 1))));
    }
    await Promise.all(chunks);
    return results;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('the verifier pool is closed'));
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private run(items: Uint8Array): Promise<Uint8Array> {
    if (this.queue.length >= QUEUED_BATCHES_MAX) return Promise.reject(new Error('the verifier pool is overloaded'));
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
      worker.postMessage({ id: 0, items: job.items }, [job.items.buffer as ArrayBuffer]);
    }
  }

  private startWorker(): void {
    const worker = new Worker(new URL('./verify-worker.js', import.meta.url));
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
      if (!this.closed) this.startWorker();
    });
    this.workers.push(worker);
    this.idle.push(worker);
  }
}

/** Decoded addresses (base58check is the costliest part of packing); cleared when full. */
const addressCache = new Map<string, Uint8Array | null>();
const ADDRESS_CACHE_MAX = 65_536;

function addressHash160(address: string): Uint8Array | null {
  let hash = addressCache.get(address);
  if (hash !== undefined) return hash;
  const parsed = parseAddress(address);
  hash = parsed.ok ? parsed.address.hash160 : null;
  if (addressCache.size >= ADDRESS_CACHE_MAX) addressCache.clear();
  addressCache.set(address, hash);
  return hash;
}

/** Packs the items that can be checked at all; malformed ones stay false without a worker. */
function pack(items: readonly VerifyItem[]): { packed: Uint8Array; indexes: number[] } {
  const packed = new Uint8Array(items.length * ITEM_BYTES);
  const indexes: number[] = [];
  items.forEach((item, index) => {
    const hash = addressHash160(item.address);
    const signature = parseSignature(item.signature);
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

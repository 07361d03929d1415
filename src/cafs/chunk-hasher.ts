// Chunking and hashing as one stream: chunks come out with their SHA-256 keys, in order. With a
// ChunkHashWorker the hashing runs on a worker thread while the main thread cuts the next
// megabyte, so the two overlap; without one it runs inline (docs/cafs.md has both figures).
import { hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { assert } from '../assert.js';
import { Chunker, splitBlock, type ChunkBlock, type ChunkerOptions } from './chunker.js';

export interface HashedChunk {
  readonly data: Uint8Array;
  readonly key: string;
}

/** Blocks (about 1 MiB each) handed to the worker before the stream waits for the oldest. */
const BLOCKS_IN_FLIGHT_MAX = 4;

interface Reply {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly keys: Uint8Array;
}

interface Waiting {
  readonly sizes: readonly number[];
  readonly resolve: (chunks: HashedChunk[]) => void;
  readonly reject: (error: Error) => void;
}

/** One worker thread that hashes blocks of chunks. Close it when done. */
export class ChunkHashWorker {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor() {
    this.worker = new Worker(new URL('./hash-worker.js', import.meta.url));
    // Referenced only while work is outstanding, so an idle worker never keeps the process alive.
    this.worker.unref();
    this.worker.on('message', (reply: Reply) => this.settle(reply));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`the hash worker exited (code ${code})`)));
  }

  /** The block's chunks with their keys. The block's buffer moves to the worker and back. */
  hashBlock(block: ChunkBlock): Promise<HashedChunk[]> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const bytes = block.bytes.byteOffset === 0 && block.bytes.byteLength === block.bytes.buffer.byteLength ? block.bytes : block.bytes.slice();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { sizes: block.sizes, resolve, reject });
      if (this.waiting.size === 1) this.worker.ref();
      this.worker.postMessage({ id, bytes, sizes: block.sizes }, [bytes.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.fail(new Error('the hash worker is closed'));
    await this.worker.terminate();
  }

  private settle(reply: Reply): void {
    const waiting = this.waiting.get(reply.id);
    assert(waiting !== undefined, 'a hash worker reply matches a request');
    this.waiting.delete(reply.id);
    if (this.waiting.size === 0) this.worker.unref();
    const keys = Buffer.from(reply.keys.buffer, reply.keys.byteOffset, reply.keys.byteLength);
    waiting.resolve(splitBlock({ bytes: reply.bytes, sizes: waiting.sizes }).map((data, index) => ({ data, key: keys.toString('hex', index * 32, index * 32 + 32) })));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.waiting.values()) waiting.reject(this.failure);
    this.waiting.clear();
  }
}

function hashInline(block: ChunkBlock): HashedChunk[] {
  return splitBlock(block).map((data) => ({ data, key: hash('sha256', data, 'hex') }));
}

export interface ChunkHashOptions extends ChunkerOptions {
  /** Hash on this worker thread, overlapped with chunking; inline when absent. */
  readonly hasher?: ChunkHashWorker | undefined;
}

/** Chunks the stream and yields each block's chunks with their keys, in order. */
export async function* hashedChunks(input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: ChunkHashOptions = {}): AsyncGenerator<HashedChunk[]> {
  const chunker = new Chunker(options);
  const hasher = options.hasher;
  const inFlight: Array<Promise<HashedChunk[]>> = [];
  const start = (block: ChunkBlock): void => {
    if (block.sizes.length === 0) return;
    const hashed = hasher === undefined ? Promise.resolve(hashInline(block)) : hasher.hashBlock(block);
    hashed.catch(() => undefined); // awaited below; this keeps an abandoned stream from an unhandled rejection
    inFlight.push(hashed);
  };
  for await (const data of input) {
    for (const block of chunker.pushBlocks(data)) start(block);
    while (inFlight.length > BLOCKS_IN_FLIGHT_MAX) yield await inFlight.shift()!;
  }
  start(chunker.endBlock());
  while (inFlight.length > 0) yield await inFlight.shift()!;
}

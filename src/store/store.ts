// The Store port: a small ordered key-value interface that the journal, snapshots, the exchange
// and the daemon persist through. Adapters: lmdb (embedded, the default), MongoDB (official
// driver) and memory (tests and the simulator). One contract suite (test/store/contract.ts)
// runs against each.
//
// Keys are strings, ordered by their UTF-8 bytes (for ASCII keys, as JavaScript compares them);
// we use printable ASCII keys with '/' separators and zero-padded numbers so that order is
// meaningful. Values are bytes: callers encode (src/store/encoding.ts).
// Durability: a write promise (put, delete, batch) resolves only once the write is durable.

export type StoreOperation =
  | { readonly type: 'put'; readonly key: string; readonly value: Uint8Array }
  | { readonly type: 'delete'; readonly key: string };

export interface ScanOptions {
  /** Start at this key (inclusive) instead of the prefix's beginning. */
  readonly from?: string;
  readonly limit?: number;
  readonly reverse?: boolean;
}

export interface Store {
  /** A name for logs ("lmdb:/var/lib/bitwrk", "memory"). */
  readonly description: string;
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  /** Entries whose key starts with `prefix`, in key order (or reverse). */
  scan(prefix: string, options?: ScanOptions): AsyncIterable<readonly [string, Uint8Array]>;
  /** The same entries in arrays of up to SCAN_CHUNK_ENTRIES (one await per chunk: for long scans). */
  scanChunks(prefix: string, options?: ScanOptions): AsyncIterable<ReadonlyArray<readonly [string, Uint8Array]>>;
  /** Applies all operations atomically and durably, in order. */
  batch(operations: readonly StoreOperation[]): Promise<void>;
  close(): Promise<void>;
}

/** Entries per chunk of scanChunks. */
export const SCAN_CHUNK_ENTRIES = 1024;

/** scanChunks for adapters whose natural scan yields single entries. */
export async function* chunksOf<T>(entries: AsyncIterable<T>): AsyncIterable<T[]> {
  let chunk: T[] = [];
  for await (const entry of entries) {
    chunk.push(entry);
    if (chunk.length === SCAN_CHUNK_ENTRIES) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** Largest key we store; longer keys are a programmer error. */
export const STORE_KEY_BYTES_MAX = 480;

/** The smallest string greater than every string that starts with `prefix`. */
export function prefixEnd(prefix: string): string {
  return `${prefix}\uffff`;
}

/** A sequence number as a fixed-width key part, so that key order is numeric order. */
export function sequenceKey(sequence: number): string {
  return sequence.toString().padStart(16, '0');
}

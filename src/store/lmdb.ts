// The embedded default Store on lmdb (prebuilt binaries, no server). Writes queued in one event
// turn are committed in one transaction by lmdb-js; a write promise resolves after the commit
// AND the flush to disk (`db.flushed`), so "resolved" means durable, even across power loss.
import { open, type RootDatabase } from 'lmdb';
import { assert } from '../assert.js';
import { prefixEnd, SCAN_CHUNK_ENTRIES, STORE_KEY_BYTES_MAX, type ScanOptions, type Store, type StoreOperation } from './store.js';

export class LmdbStore implements Store {
  readonly description: string;
  private readonly db: RootDatabase<Buffer, string>;

  constructor(path: string) {
    this.description = `lmdb:${path}`;
    this.db = open<Buffer, string>({
      path,
      encoding: 'binary',
      keyEncoding: 'ordered-binary',
      compression: false,
      noSync: false,
      overlappingSync: true,
      cache: false,
    });
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const value = this.db.getBinary(key);
    return value === undefined ? undefined : new Uint8Array(value);
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    await this.batch([{ type: 'put', key, value }]);
  }

  async delete(key: string): Promise<void> {
    await this.batch([{ type: 'delete', key }]);
  }

  async batch(operations: readonly StoreOperation[]): Promise<void> {
    for (const operation of operations) assert(operation.key.length <= STORE_KEY_BYTES_MAX, 'store key too long');
    // batch() queues every write of the callback into one asynchronous transaction, executed on
    // lmdb-js's writer thread: all or nothing.
    await this.db.batch(() => {
      for (const operation of operations) {
        if (operation.type === 'put') void this.db.put(operation.key, Buffer.from(operation.value.buffer, operation.value.byteOffset, operation.value.byteLength));
        else void this.db.remove(operation.key);
      }
    });
    await this.db.flushed;
  }

  async *scan(prefix: string, options: ScanOptions = {}): AsyncIterable<readonly [string, Uint8Array]> {
    for await (const chunk of this.scanChunks(prefix, options)) yield* chunk;
  }

  async *scanChunks(prefix: string, options: ScanOptions = {}): AsyncIterable<ReadonlyArray<readonly [string, Uint8Array]>> {
    const reverse = options.reverse === true;
    const start = options.from ?? (reverse ? prefixEnd(prefix) : prefix);
    const end = reverse ? prefix : prefixEnd(prefix);
    const range = this.db.getRange({ start, end, reverse, ...(options.limit === undefined ? {} : { limit: options.limit }) });
    let chunk: Array<readonly [string, Uint8Array]> = [];
    for (const { key, value } of range) {
      if (!key.startsWith(prefix)) continue;
      chunk.push([key, new Uint8Array(value)]);
      if (chunk.length === SCAN_CHUNK_ENTRIES) {
        yield chunk;
        chunk = [];
      }
    }
    if (chunk.length > 0) yield chunk;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

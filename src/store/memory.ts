// An in-memory Store for tests and the simulator: the same contract, no durability.
import { assert } from '../assert.js';
import { chunksOf, STORE_KEY_BYTES_MAX, type ScanOptions, type Store, type StoreOperation } from './store.js';

export class MemoryStore implements Store {
  readonly description = 'memory';
  private readonly entries = new Map<string, Uint8Array>();
  private sortedKeys: string[] | undefined;
  private closed = false;

  async get(key: string): Promise<Uint8Array | undefined> {
    this.checkOpen();
    const value = this.entries.get(key);
    return value === undefined ? undefined : value.slice();
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    await this.batch([{ type: 'put', key, value }]);
  }

  async delete(key: string): Promise<void> {
    await this.batch([{ type: 'delete', key }]);
  }

  async batch(operations: readonly StoreOperation[]): Promise<void> {
    this.checkOpen();
    for (const operation of operations) assert(operation.key.length <= STORE_KEY_BYTES_MAX, 'store key too long');
    for (const operation of operations) {
      if (operation.type === 'put') this.entries.set(operation.key, operation.value.slice());
      else this.entries.delete(operation.key);
    }
    this.sortedKeys = undefined;
  }

  async *scan(prefix: string, options: ScanOptions = {}): AsyncIterable<readonly [string, Uint8Array]> {
    this.checkOpen();
    this.sortedKeys ??= [...this.entries.keys()].sort(compareUtf8);
    let keys = this.sortedKeys.filter((key) => key.startsWith(prefix) && (options.from === undefined || (options.reverse ? key <= options.from : key >= options.from)));
    if (options.reverse === true) keys = keys.reverse();
    if (options.limit !== undefined) keys = keys.slice(0, options.limit);
    for (const key of keys) {
      const value = this.entries.get(key);
      if (value !== undefined) yield [key, value.slice()] as const;
    }
  }

  scanChunks(prefix: string, options: ScanOptions = {}): AsyncIterable<ReadonlyArray<readonly [string, Uint8Array]>> {
    return chunksOf(this.scan(prefix, options));
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(): void {
    assert(!this.closed, 'the store is closed');
  }
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

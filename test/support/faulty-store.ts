// A Store for tests of failures: passes through to another store, except that writes can be made
// to fail ("disk full") or to wait until released (a slow disk), on command.
import type { Store, StoreOperation } from '../../src/store/store.js';

export class FaultyStore implements Store {
  readonly description = 'faulty';
  failWrites = false;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;

  constructor(private readonly inner: Store) {}

  holdWrites(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  releaseWrites(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  get(key: string) {
    return this.inner.get(key);
  }
  put(key: string, value: Uint8Array) {
    return this.batch([{ type: 'put', key, value }]);
  }
  delete(key: string) {
    return this.batch([{ type: 'delete', key }]);
  }
  scan(prefix: string, options?: Parameters<Store['scan']>[1]) {
    return this.inner.scan(prefix, options);
  }
  scanChunks(prefix: string, options?: Parameters<Store['scanChunks']>[1]) {
    return this.inner.scanChunks(prefix, options);
  }
  async batch(operations: readonly StoreOperation[]): Promise<void> {
    if (this.gate !== undefined) await this.gate;
    if (this.failWrites) throw new Error('disk full (injected)');
    return this.inner.batch(operations);
  }
  close() {
    return this.inner.close();
  }
}


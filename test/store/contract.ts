// The Store contract, one suite for every adapter: get/put/delete, ordered prefix scans (from,
// limit, reverse), atomic batches, byte-exact values, and model-based random operation
// sequences compared with a plain sorted map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Store } from '../../src/store/store.js';

export function storeContract(name: string, open: () => Promise<Store>, options: { skip?: string } = {}): void {
  const run = (title: string, body: (store: Store) => Promise<void>): void => {
    test(`${name}: ${title}`, { skip: options.skip ?? false }, async () => {
      const store = await open();
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });
  };

  run('get, put, overwrite and delete', async (store) => {
    assert.equal(await store.get('a/1'), undefined);
    await store.put('a/1', Uint8Array.of(1, 2, 3));
    assert.deepEqual(await store.get('a/1'), Uint8Array.of(1, 2, 3));
    await store.put('a/1', new Uint8Array(0));
    assert.deepEqual(await store.get('a/1'), new Uint8Array(0));
    await store.delete('a/1');
    assert.equal(await store.get('a/1'), undefined);
    await store.delete('a/never'); // deleting a missing key is fine
  });

  run('scan returns one prefix in key order, with from, limit and reverse', async (store) => {
    const keys = ['b/2', 'a/3', 'b/10', 'b/1', 'c/1', 'b/1/x', 'bb/1'];
    await store.batch(keys.map((key) => ({ type: 'put', key, value: Buffer.from(key) })));
    const scan = async (prefix: string, scanOptions = {}) => {
      const found: string[] = [];
      for await (const [key, value] of store.scan(prefix, scanOptions)) {
        assert.equal(Buffer.from(value).toString(), key);
        found.push(key);
      }
      return found;
    };
    assert.deepEqual(await scan('b/'), ['b/1', 'b/1/x', 'b/10', 'b/2']);
    assert.deepEqual(await scan('b/', { reverse: true }), ['b/2', 'b/10', 'b/1/x', 'b/1']);
    assert.deepEqual(await scan('b/', { limit: 2 }), ['b/1', 'b/1/x']);
    assert.deepEqual(await scan('b/', { from: 'b/10' }), ['b/10', 'b/2']);
    assert.deepEqual(await scan('b/', { from: 'b/10', reverse: true }), ['b/10', 'b/1/x', 'b/1']);
    assert.deepEqual(await scan('z/'), []);
  });

  run('a batch applies all of its operations in order', async (store) => {
    await store.put('k/1', Uint8Array.of(1));
    await store.batch([
      { type: 'put', key: 'k/2', value: Uint8Array.of(2) },
      { type: 'delete', key: 'k/1' },
      { type: 'put', key: 'k/2', value: Uint8Array.of(22) },
      { type: 'put', key: 'k/3', value: Uint8Array.of(3) },
    ]);
    assert.equal(await store.get('k/1'), undefined);
    assert.deepEqual(await store.get('k/2'), Uint8Array.of(22));
    assert.deepEqual(await store.get('k/3'), Uint8Array.of(3));
  });

  run('a value read back is a copy: changing it does not change the store', async (store) => {
    const value = Uint8Array.of(5, 6);
    await store.put('c/1', value);
    value[0] = 9;
    const read = (await store.get('c/1'))!;
    assert.deepEqual(read, Uint8Array.of(5, 6));
    read[1] = 9;
    assert.deepEqual(await store.get('c/1'), Uint8Array.of(5, 6));
  });

  run('random operation sequences match a sorted-map model', async (store) => {
    const keyArbitrary = fc.constantFrom('m/a', 'm/b', 'm/ab', 'm/b/1', 'm/c', 'n/a');
    const operation = fc.oneof(
      fc.record({ type: fc.constant('put' as const), key: keyArbitrary, value: fc.uint8Array({ maxLength: 8 }) }),
      fc.record({ type: fc.constant('delete' as const), key: keyArbitrary }),
    );
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(operation, { minLength: 1, maxLength: 4 }), { maxLength: 8 }), async (batches) => {
        round += 1;
        const prefix = `r${round}/`;
        const model = new Map<string, Uint8Array>();
        for (const batch of batches) {
          const prefixed = batch.map((op) => ({ ...op, key: prefix + op.key }));
          await store.batch(prefixed);
          for (const op of prefixed) {
            if (op.type === 'put') model.set(op.key, op.value);
            else model.delete(op.key);
          }
        }
        const scanned: Array<[string, Uint8Array]> = [];
        for await (const [key, value] of store.scan(`${prefix}m/`)) scanned.push([key, value]);
        const expected = [...model].filter(([key]) => key.startsWith(`${prefix}m/`)).sort(([a], [b]) => (a < b ? -1 : 1));
        assert.deepEqual(scanned.map(([key, value]) => [key, [...value]]), expected.map(([key, value]) => [key, [...value]]));
      }),
      { numRuns: 40 },
    );
  });
}

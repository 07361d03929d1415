// Goal: both chunk stores keep any file byte for byte, deduplicate, never return a corrupt chunk,
// collect only what no file or pin holds, and (on disk) survive a restart with the right reference
// counts, a torn pack record and an old one-file-per-chunk layout; the memory store keeps to its
// budget. Method: fast-check round trips, real files in a temporary directory, corruption and
// torn tails written straight to disk (the kill -9 test is in pack-crash.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { createPrng } from '../../src/random.js';
import { chunkKey, CorruptChunkError, type ChunkStore } from '../../src/cafs/chunk-store.js';
import { DiskChunkStore } from '../../src/cafs/disk-store.js';
import { MemoryChunkStore } from '../../src/cafs/memory-store.js';
import { importFile, readFileBytes } from '../../src/cafs/files.js';
import { StoreFullError } from '../../src/cafs/chunk-store.js';

const stores: Array<[string, () => ChunkStore]> = [
  ['memory', () => new MemoryChunkStore()],
  ['disk', () => new DiskChunkStore(mkdtempSync(join(tmpdir(), 'bitwrk-cafs-')))],
];

for (const [name, open] of stores) {
  test(`${name}: any data round-trips through importFile and readFile`, async () => {
    const store = open();
    await fc.assert(
      fc.asyncProperty(fc.integer(), fc.integer({ min: 0, max: 200_000 }), async (seed, length) => {
        const data = createPrng(seed).nextBytes(length);
        const manifest = await importFile(store, [data.subarray(0, length >> 1), data.subarray(length >> 1)]);
        assert.equal(manifest.size, length);
        assert.deepEqual(await readFileBytes(store, manifest), data);
        assert.deepEqual(await store.loadFile(manifest.fileKey), manifest);
      }),
      { numRuns: 25 },
    );
  });

  test(`${name}: the same data is stored once; gc keeps what files and pins hold`, async () => {
    const store = open();
    const data = createPrng(3).nextBytes(100_000);
    const first = await importFile(store, [data]);
    const used = store.usage().chunks;
    await importFile(store, [data]);
    assert.equal(store.usage().chunks, used, 'deduplicated');
    const loose = await store.put(Uint8Array.of(1, 2, 3));
    const pinned = await store.put(Uint8Array.of(4, 5, 6));
    store.pin(pinned);
    assert.deepEqual(await store.gc(), { removedChunks: 1, freedBytes: 3 });
    assert.equal(store.has(loose), false);
    assert.equal(store.has(pinned), true);
    await store.deleteFile(first.fileKey);
    assert.equal((await store.gc()).removedChunks, used);
    assert.equal(store.usage().chunks, 1);
  });
}

test('disk: a corrupt chunk is an error, never data', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'bitwrk-cafs-'));
  const store = new DiskChunkStore(directory);
  const key = await store.put(new Uint8Array(5000).fill(9));
  const pack = join(directory, 'packs', '00000001.pack');
  const bytes = readFileSync(pack);
  bytes[40 + 100] = 8; // a byte of the chunk, past its 40-byte record header
  writeFileSync(pack, bytes);
  await assert.rejects(store.get(key), CorruptChunkError);
  await assert.rejects(new DiskChunkStore(directory).get(key), CorruptChunkError, 'after a restart too');
});

test('disk: a record torn by a crash is cut off at open; every whole record before it is kept', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'bitwrk-cafs-'));
  const store = new DiskChunkStore(directory);
  const kept = await store.put(new Uint8Array(3000).fill(1));
  const torn = await store.put(new Uint8Array(3000).fill(2));
  store.close();
  const pack = join(directory, 'packs', '00000001.pack');
  truncateSync(pack, statSync(pack).size - 1000);
  const reopened = new DiskChunkStore(directory);
  assert.equal(reopened.has(torn), false);
  assert.deepEqual(await reopened.get(kept), new Uint8Array(3000).fill(1));
  assert.equal(statSync(pack).size, 40 + 3000, 'the torn tail is gone');
  const again = await reopened.put(new Uint8Array(3000).fill(2));
  assert.equal(again, torn);
  assert.deepEqual(await new DiskChunkStore(directory).get(torn), new Uint8Array(3000).fill(2), 'appends after the cut are whole');
});

test('disk: a bad header in an older pack costs the records after it, never the pack or the newer ones', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'bitwrk-cafs-'));
  const store = new DiskChunkStore(directory, { packBytesTarget: 10_000 });
  const keys: string[] = [];
  for (let index = 0; index < 6; index++) keys.push(await store.put(new Uint8Array(4000).fill(index))); // three records a pack
  store.close();
  const older = join(directory, 'packs', '00000001.pack');
  const bytes = readFileSync(older);
  const sizeBefore = bytes.length;
  bytes[4040] = 0; // the magic of the pack's second record
  writeFileSync(older, bytes);
  const reopened = new DiskChunkStore(directory);
  assert.deepEqual(keys.map((key) => reopened.has(key)), [true, false, false, true, true, true]);
  assert.equal(statSync(older).size, sizeBefore, 'an older pack is never cut');
  assert.deepEqual(await reopened.get(keys[3]!), new Uint8Array(4000).fill(3));
});

test('disk: gc compacts packs that are mostly dead and keeps every held chunk', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'bitwrk-cafs-'));
  const store = new DiskChunkStore(directory, { packBytesTarget: 64 * 1024 });
  const prng = createPrng(21);
  const held = await importFile(store, [prng.nextBytes(200_000)]);
  const loose = await importFile(store, [prng.nextBytes(400_000)]);
  await store.deleteFile(loose.fileKey);
  const before = packBytes(directory);
  const { freedBytes } = await store.gc();
  assert.equal(freedBytes, 400_000);
  assert.ok(packBytes(directory) < before - 300_000, `packs shrank (${before} -> ${packBytes(directory)} bytes)`);
  assert.equal((await readFileBytes(store, held)).length, 200_000);
  store.close();
  const reopened = new DiskChunkStore(directory);
  await reopened.gc(); // removed records in a pack not yet compacted are found again at open: nothing holds them
  assert.deepEqual(reopened.usage(), { chunks: held.chunks.length, bytes: 200_000 });
  assert.equal((await readFileBytes(reopened, held)).length, 200_000, 'after a restart too');
});

test('disk: a read in flight while gc compacts its pack still returns the chunk', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'bitwrk-cafs-'));
  const store = new DiskChunkStore(directory, { packBytesTarget: 10_000 });
  const held = await store.put(new Uint8Array(3000).fill(1));
  store.pin(held);
  await store.put(new Uint8Array(4000).fill(2));
  await store.put(new Uint8Array(4000).fill(3)); // the first pack is full; both of these are loose
  const reads = Array.from({ length: 8 }, () => store.get(held));
  assert.equal((await store.gc()).removedChunks, 2);
  assert.equal(existsSync(join(directory, 'packs', '00000001.pack')), false, 'the first pack was compacted');
  for (const read of reads) assert.deepEqual(await read, new Uint8Array(3000).fill(1));
  assert.deepEqual(await store.get(held), new Uint8Array(3000).fill(1), 'and from its new place');
});

test('disk: a store from before packs (one file per chunk) is moved into packs at open', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'bitwrk-cafs-'));
  const data = new Uint8Array(4000).fill(5);
  const key = chunkKey(data);
  mkdirSync(join(directory, 'chunks', key.slice(0, 2)), { recursive: true });
  writeFileSync(join(directory, 'chunks', key.slice(0, 2), key), data);
  writeFileSync(join(directory, 'chunks', key.slice(0, 2), `${'0'.repeat(64)}`), Uint8Array.of(1)); // not its chunk: left out
  const store = new DiskChunkStore(directory);
  assert.deepEqual(await store.get(key), data);
  assert.equal(store.usage().chunks, 1);
  assert.equal(existsSync(join(directory, 'chunks')), false);
});

function packBytes(directory: string): number {
  return readdirSync(join(directory, 'packs')).reduce((sum, name) => sum + statSync(join(directory, 'packs', name)).size, 0);
}

test('disk: files, chunks and reference counts survive a restart', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'bitwrk-cafs-'));
  const manifest = await importFile(new DiskChunkStore(directory), [createPrng(4).nextBytes(150_000)]);
  const reopened = new DiskChunkStore(directory);
  await reopened.put(Uint8Array.of(7));
  assert.equal((await reopened.gc()).removedChunks, 1, 'only the loose chunk is collected');
  assert.equal((await readFileBytes(reopened, manifest)).length, 150_000);
  assert.deepEqual(readdirSync(join(directory, 'files')), [`${manifest.fileKey}.json`]);
});

test('memory: the budget evicts chunks nobody holds, oldest first, and refuses what cannot fit', async () => {
  const store = new MemoryChunkStore(10 * 1024);
  const a = await store.put(new Uint8Array(3000).fill(1));
  const b = await store.put(new Uint8Array(3000).fill(2));
  await store.get(a); // a is now the most recently used
  await store.put(new Uint8Array(3000).fill(3));
  await store.put(new Uint8Array(3000).fill(4));
  assert.equal(store.has(b), false, 'the least recently used went first');
  assert.equal(store.has(a), true);
  store.pin(a);
  await assert.rejects(store.put(new Uint8Array(20_000)), StoreFullError);
  assert.equal(store.has(a), true, 'a pinned chunk is never evicted');
});

test('disk: a large file keeps its chunk list as a tree of list-node chunks', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'bitwrk-cafs-'));
  const store = new DiskChunkStore(directory);
  const data = createPrng(12).nextBytes(12 * 1024 * 1024); // about 1,300 chunks: more than fit inline
  const manifest = await importFile(store, [data]);
  assert.ok(manifest.chunks.length > 1024);
  const stored = JSON.parse(readFileSync(join(directory, 'files', `${manifest.fileKey}.json`), 'utf8')) as { listNodes?: string[]; chunks?: unknown };
  assert.equal(stored.chunks, undefined, 'the manifest names list nodes, not chunks');
  assert.equal(stored.listNodes?.length, 1);
  const reopened = new DiskChunkStore(directory);
  assert.deepEqual(await reopened.loadFile(manifest.fileKey), manifest);
  assert.equal((await reopened.gc()).removedChunks, 0, 'list nodes and chunks are held by the file');
  assert.deepEqual(await readFileBytes(reopened, manifest), data);
  await reopened.deleteFile(manifest.fileKey);
  assert.equal((await reopened.gc()).removedChunks, manifest.chunks.length + 1, 'the list node goes with the file');
});

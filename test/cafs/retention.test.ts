// Goal: collecting files under a byte budget never removes a chunk a live file or a pin needs,
// keeps the store within its budget unless live files and pins alone exceed it, deletes no file
// while the store fits, and deletes least recently used files first. Method: fast-check over
// random stores whose files share chunks (so deleting a file may free nothing), random live sets,
// pins, ages and budgets, on the memory store and on the disk store (pack files).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { createPrng } from '../../src/random.js';
import type { ChunkStore } from '../../src/cafs/chunk-store.js';
import { DiskChunkStore } from '../../src/cafs/disk-store.js';
import { MemoryChunkStore } from '../../src/cafs/memory-store.js';
import { importFile, readFileBytes } from '../../src/cafs/files.js';
import { cafsReceiver } from '../../src/cafs/sync.js';
import { collectFiles } from '../../src/cafs/retention.js';

const scenario = fc.record({
  seed: fc.integer(),
  chunkSizes: fc.array(fc.integer({ min: 1, max: 4000 }), { minLength: 1, maxLength: 24 }),
  files: fc.array(
    fc.record({ chunks: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), live: fc.boolean(), lastUsedMs: fc.integer({ min: 0, max: 50 }) }),
    { minLength: 1, maxLength: 12 },
  ),
  pins: fc.array(fc.nat(), { maxLength: 3 }),
  strayChunks: fc.nat({ max: 3 }),
  budgetPercent: fc.integer({ min: 0, max: 120 }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

async function check(store: ChunkStore, input: Scenario): Promise<void> {
  const prng = createPrng(input.seed);
  const pool = input.chunkSizes.map((size) => prng.nextBytes(size));
  const keys = await Promise.all(pool.map((data) => store.put(data)));
  const files = new Map<string, { bytes: Uint8Array; chunks: Map<string, number>; live: boolean; lastUsedMs: number }>();
  for (const file of input.files) {
    const parts = file.chunks.map((index) => index % pool.length);
    const bytes = new Uint8Array(Buffer.concat(parts.map((index) => pool[index]!)));
    const fileKey = createHash('sha256').update(bytes).digest('hex');
    if (files.has(fileKey)) continue;
    await store.saveFile({ fileKey, size: bytes.length, chunks: parts.map((index) => ({ key: keys[index]!, size: pool[index]!.length })) });
    files.set(fileKey, { bytes, chunks: new Map(parts.map((index) => [keys[index]!, pool[index]!.length])), live: file.live, lastUsedMs: file.lastUsedMs });
  }
  const pinned = input.pins.map((index) => keys[index % keys.length]!);
  for (const key of pinned) store.pin(key);
  for (let i = 0; i < input.strayChunks; i++) await store.put(prng.nextBytes(100 + i)); // held by nothing
  const live = new Set([...files].filter(([, file]) => file.live).map(([fileKey]) => fileKey));
  const lastUsedMs = (fileKey: string): number => files.get(fileKey)!.lastUsedMs;

  const budgetBytes = Math.floor((store.usage().bytes * input.budgetPercent) / 100);
  const afterGcOnly = await sizeAfterGc(store);
  const report = await collectFiles(store, { budgetBytes, live, lastUsedMs });

  assert.equal(report.bytes, store.usage().bytes);
  for (const fileKey of report.deletedFiles) assert.ok(!live.has(fileKey), 'a live file was deleted');
  for (const [fileKey, file] of files) {
    if (report.deletedFiles.includes(fileKey)) {
      assert.equal(await store.loadFile(fileKey), undefined);
      continue;
    }
    const manifest = await store.loadFile(fileKey);
    assert.ok(manifest !== undefined, 'a file not deleted is gone');
    assert.deepEqual(await readFileBytes(store, manifest), file.bytes);
  }
  for (const key of pinned) assert.ok(store.has(key), 'a pinned chunk was collected');
  const remaining = await store.listFiles();
  if (report.bytes > budgetBytes) {
    assert.ok(report.overBudget);
    assert.deepEqual(remaining.filter((fileKey) => !live.has(fileKey)), [], 'over budget with a file that could go');
  }
  if (afterGcOnly <= budgetBytes) assert.deepEqual(report.deletedFiles, [], 'a file was deleted while the store fit');
  // Least recently used first: every deleted file is at least as old as every kept candidate.
  const kept = remaining.filter((fileKey) => !live.has(fileKey));
  for (const deleted of report.deletedFiles) for (const other of kept) assert.ok(lastUsedMs(deleted) <= lastUsedMs(other), 'a newer file went before an older one');
  // No more than needed: with the last deleted file kept, the store would not fit.
  const last = report.deletedFiles.at(-1);
  if (last !== undefined) {
    const held = new Set([...pinned, ...(await Promise.all(remaining.map((fileKey) => store.loadFile(fileKey)))).flatMap((manifest) => manifest!.chunks.map((chunk) => chunk.key))]);
    const restored = [...files.get(last)!.chunks].filter(([key]) => !held.has(key)).reduce((sum, [, size]) => sum + store.chunkCostBytes(size), 0);
    assert.ok(report.bytes + restored > budgetBytes, 'a file was deleted that the budget did not need gone');
  }
  for (const key of pinned) store.unpin(key);
}

/** The store's bytes once unheld chunks are gone (gc is idempotent, so measuring it changes nothing collectFiles relies on). */
async function sizeAfterGc(store: ChunkStore): Promise<number> {
  await store.gc();
  return store.usage().bytes;
}

test('memory store: collection keeps live files and pins, holds the budget, goes oldest first', async () => {
  await fc.assert(fc.asyncProperty(scenario, async (input) => check(new MemoryChunkStore(1 << 30), input)), { seed: 21, numRuns: 300 });
});

test('disk store: the same, with pack files (compaction included)', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async (input) => {
      const directory = mkdtempSync(join(tmpdir(), 'bitwrk-retention-'));
      const store = new DiskChunkStore(directory, { packBytesTarget: 16 * 1024 });
      try {
        await check(store, input);
      } finally {
        store.close();
        rmSync(directory, { recursive: true, force: true });
      }
    }),
    { seed: 21, numRuns: 60 },
  );
});

/** A store where a collection runs while every put is under way (as a daemon's can, between awaits). */
class CollectingStore extends MemoryChunkStore {
  override async put(data: Uint8Array, key?: string): Promise<string> {
    const stored = await super.put(data, key);
    await this.gc();
    return stored;
  }
}

test('a collection while an import or a transfer waits on the store takes none of its chunks', async () => {
  const data = createPrng(5).nextBytes(200_000);
  const imported = await importFile(new CollectingStore(), [data]);
  assert.ok(imported.chunks.length > 3, 'several chunks, so a collection runs between their puts');

  const sender = new MemoryChunkStore();
  const manifest = await importFile(sender, [data]);
  const store = new CollectingStore();
  const receiver = cafsReceiver(store);
  const keys = new Uint8Array(manifest.chunks.length * 32);
  manifest.chunks.forEach((chunk, index) => keys.set(Buffer.from(chunk.key, 'hex'), index * 32));
  const transferId = 't1';
  await receiver['cafs.offer']!({ transferId, fileKey: manifest.fileKey, size: manifest.size, chunkCount: manifest.chunks.length, first: 0, keys, sizes: manifest.chunks.map((chunk) => chunk.size) }, undefined as never);
  for (const [index, chunk] of manifest.chunks.entries()) {
    await receiver['cafs.chunks']!({ transferId, chunks: [{ index, compressed: false, data: (await sender.get(chunk.key)) as Uint8Array<ArrayBuffer> }] }, undefined as never);
  }
  const done = await receiver['cafs.done']!({ transferId }, undefined as never);
  assert.equal(done.fileKey, manifest.fileKey);
  assert.deepEqual(await readFileBytes(store, (await store.loadFile(manifest.fileKey))!), data);
});

// Goal: chunking with hashing on a worker thread gives exactly the chunks and keys of inline
// chunking and hashing, in order, however the stream is split; importFile gives the same manifest
// either way; a closed worker fails the stream instead of hanging it. Method: fast-check over
// seeded random data and split points, one worker shared by the runs.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createPrng } from '../../src/random.js';
import { chunkAll } from '../../src/cafs/chunker.js';
import { chunkKey } from '../../src/cafs/chunk-store.js';
import { ChunkHashWorker, hashedChunks, type HashedChunk } from '../../src/cafs/chunk-hasher.js';
import { MemoryChunkStore } from '../../src/cafs/memory-store.js';
import { importFile, readFileBytes } from '../../src/cafs/files.js';

const worker = new ChunkHashWorker();
after(() => worker.close());

function* pieces(data: Uint8Array, sizes: readonly number[]): Iterable<Uint8Array> {
  for (let offset = 0, index = 0; offset < data.length; index++) {
    const size = sizes[index % sizes.length]!;
    yield data.subarray(offset, offset + size);
    offset += size;
  }
}

async function collect(stream: AsyncIterable<HashedChunk[]>): Promise<HashedChunk[]> {
  const all: HashedChunk[] = [];
  for await (const block of stream) all.push(...block);
  return all;
}

test('worker and inline hashing give the chunks and keys of chunkAll, in order', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer(), fc.integer({ min: 0, max: 3_000_000 }), fc.array(fc.integer({ min: 1, max: 1_500_000 }), { minLength: 1, maxLength: 5 }), async (seed, length, sizes) => {
      const data = createPrng(seed).nextBytes(length);
      const expected = chunkAll(data).map((chunk) => ({ key: chunkKey(chunk), length: chunk.length }));
      for (const hasher of [worker, undefined]) {
        const chunks = await collect(hashedChunks(pieces(data, sizes), { hasher }));
        assert.deepEqual(chunks.map((chunk) => ({ key: chunkKey(chunk.data), length: chunk.data.length })), expected, 'the data of each chunk');
        assert.deepEqual(chunks.map((chunk) => chunk.key), expected.map((chunk) => chunk.key), 'the keys computed by the hasher');
      }
    }),
    { numRuns: 15 },
  );
});

test('importFile with a hash worker records the same manifest and the file reads back', async () => {
  const data = createPrng(5).nextBytes(2_500_000);
  const inline = await importFile(new MemoryChunkStore(), [data]);
  const store = new MemoryChunkStore();
  const threaded = await importFile(store, pieces(data, [700_000]), { hasher: worker });
  assert.deepEqual(threaded, inline);
  assert.deepEqual(await readFileBytes(store, threaded), data);
});

test('a closed hash worker fails the stream and leaves the store without the file', async () => {
  const closed = new ChunkHashWorker();
  await closed.close();
  const store = new MemoryChunkStore();
  await assert.rejects(importFile(store, [createPrng(6).nextBytes(200_000)], { hasher: closed }), /closed/);
  assert.equal(store.usage().chunks, 0);
});

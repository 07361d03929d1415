// Goal: syncing a file between two stores ends with identical files, sends only the chunks the
// receiver lacks, rejects corrupt chunks, and resumes after a disconnect without resending what
// arrived. Method: fast-check over random files and edits across the in-process transport
// (virtual clock, flushed by hand), and one run over real loopback WebSockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createPrng } from '../../src/random.js';
import { realClock } from '../../src/clock.js';
import { MemoryChunkStore } from '../../src/cafs/memory-store.js';
import { importFile, readFileBytes } from '../../src/cafs/files.js';
import { cafsProtocol, cafsReceiver, sendFile } from '../../src/cafs/sync.js';
import { RpcPeer } from '../../src/transport/rpc.js';
import { connectWebSocket } from '../../src/transport/ws-client.js';
import type { ProtocolError } from '../../src/transport/errors.js';
import { memoryPair } from '../support/memory-pair.js';
import { startTestServer } from '../support/ws-server.js';

async function settle<T>(promise: Promise<T>, flush: () => Promise<void>): Promise<T> {
  let outcome: { value?: T; error?: unknown } | undefined;
  promise.then((value) => (outcome = { value }), (error) => (outcome = { error }));
  for (let round = 0; round < 2000 && outcome === undefined; round++) await flush();
  if (outcome === undefined) throw new Error('did not settle');
  if ('error' in outcome) throw outcome.error;
  return outcome.value as T;
}

function edit(data: Uint8Array, seed: number, edits: number): Uint8Array {
  const prng = createPrng(seed);
  const copy = data.slice();
  for (let i = 0; i < edits; i++) {
    const position = prng.nextInt(copy.length);
    copy[position] = copy[position]! ^ 0xff;
  }
  return copy;
}

test('sync ends with identical files and sends only the missing chunks', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer(), fc.integer({ min: 1, max: 300_000 }), fc.nat(20), async (seed, length, edits) => {
      const sender = new MemoryChunkStore();
      const receiver = new MemoryChunkStore();
      const original = createPrng(seed).nextBytes(length);
      await importFile(receiver, [original]); // the receiver has the old version
      const changed = edit(original, seed + 1, edits);
      const manifest = await importFile(sender, [changed]);
      // Only chunks the receiver lacks may travel (random data has no repeated chunks).
      const lacking = manifest.chunks.filter((chunk) => !receiver.has(chunk.key)).length;
      const { client, flush } = memoryPair(cafsProtocol, cafsReceiver(receiver), { seed, faults: { latencyMs: { min: 0, max: 3 } } });
      const report = await settle(sendFile(client, sender, manifest, { transferId: `t${seed & 0xffff}` }), () => flush(5));
      assert.equal(report.chunksSent, lacking);
      if (edits === 0 && length > 0) assert.equal(report.chunksSent, 0, 'an unchanged file sends no chunk');
      const received = await receiver.loadFile(manifest.fileKey);
      assert.ok(received);
      assert.deepEqual(await readFileBytes(receiver, received), changed);
    }),
    { numRuns: 25 },
  );
});

test('a transfer cut off midway resumes without resending what arrived', async () => {
  const sender = new MemoryChunkStore();
  const receiver = new MemoryChunkStore();
  const data = createPrng(9).nextBytes(600_000);
  const manifest = await importFile(sender, [data]);
  const handlers = cafsReceiver(receiver);
  const first = memoryPair(cafsProtocol, handlers, { faults: { latencyMs: { min: 1, max: 1 } } });
  let sentBeforeCut = 0;
  const attempt = sendFile(first.client, sender, manifest, {
    transferId: 'resume',
    window: 1,
    onProgress: (sent) => {
      if (sentBeforeCut > 0) return;
      sentBeforeCut = sent; // the first message of chunks has been acknowledged: cut the line
      first.client.close(1001, 'cut');
    },
  }).catch((error: ProtocolError) => error);
  for (let round = 0; round < 500; round++) await first.flush(2);
  assert.equal(((await attempt) as ProtocolError).code, 1009);
  const arrived = manifest.chunks.filter((chunk) => receiver.has(chunk.key)).length;
  assert.ok(arrived >= 1 && arrived === sentBeforeCut && arrived < manifest.chunks.length, `arrived ${arrived}`);
  const second = memoryPair(cafsProtocol, handlers);
  const report = await settle(sendFile(second.client, sender, manifest, { transferId: 'resume' }), () => second.flush(1));
  assert.equal(report.chunksSent, manifest.chunks.length - arrived, 'only what had not arrived is sent again');
  assert.deepEqual(await readFileBytes(receiver, (await receiver.loadFile(manifest.fileKey))!), data);
});

test('a chunk that does not match its key is refused with 6003 and not stored', async () => {
  const receiver = new MemoryChunkStore();
  const data = createPrng(10).nextBytes(50_000);
  const manifest = await importFile(new MemoryChunkStore(), [data]);
  const { client, flush } = memoryPair(cafsProtocol, cafsReceiver(receiver));
  const keys = new Uint8Array(manifest.chunks.length * 32);
  manifest.chunks.forEach((chunk, index) => keys.set(Buffer.from(chunk.key, 'hex'), index * 32));
  await settle(client.request('cafs.offer', { transferId: 'x', fileKey: manifest.fileKey, size: manifest.size, chunkCount: manifest.chunks.length, first: 0, keys, sizes: manifest.chunks.map((chunk) => chunk.size) }), () => flush());
  const forged = new Uint8Array(manifest.chunks[0]!.size).fill(1);
  const code = await settle(client.request('cafs.chunks', { transferId: 'x', chunks: [{ index: 0, compressed: false, data: forged }] }).then(() => 0, (error: ProtocolError) => error.code), () => flush());
  assert.equal(code, 6003);
  assert.equal(receiver.usage().chunks, 0);
  const incomplete = await settle(client.request('cafs.done', { transferId: 'x' }).then(() => 0, (error: ProtocolError) => error.code), () => flush());
  assert.equal(incomplete, 6005);
});

test('sync over real loopback WebSockets', async () => {
  const sender = new MemoryChunkStore();
  const receiver = new MemoryChunkStore();
  const data = createPrng(11).nextBytes(1_000_000);
  const manifest = await importFile(sender, [data]);
  const server = await startTestServer(cafsProtocol, cafsReceiver(receiver), { clock: realClock });
  try {
    const client = new RpcPeer(await connectWebSocket(server.url, { clock: realClock }), cafsProtocol, {}, { clock: realClock });
    const report = await sendFile(client, sender, manifest, { transferId: 'ws' });
    assert.equal(report.chunksSent, manifest.chunks.length);
    assert.deepEqual(await readFileBytes(receiver, (await receiver.loadFile(manifest.fileKey))!), data);
    const again = await sendFile(client, sender, manifest, { transferId: 'ws-2' });
    assert.equal(again.chunksSent, 0, 'the second sending is free');
    client.close();
  } finally {
    await server.stop();
  }
});

// CAFS benchmark:
//  - chunk+hash: the streaming chunker plus SHA-256 of every chunk, MiB/s, hashing inline and on a
//    worker thread (overlapped with chunking), against node's plain SHA-256 of the same data in the
//    same run (the ratios are the figures); the chunker alone; importFile (chunk, hash, whole-file
//    key, store in memory) both ways; importFile into the daemon's disk store (pack files) and its
//    ratio to the memory store, and reading the file back from disk (every chunk checked);
//  - re-sync: bytes on the wire (every frame, both ways: offers, bitmaps, chunks, answers) to bring
//    a receiver holding a 64 MiB file up to date after scattered edits, as a fraction of the file,
//    for two shapes (see docs/cafs.md): 1% of the bytes rewritten in 64 runs at random places, and
//    single-byte edits at as many places as 1% of the chunks;
//  - sync speed: a 64 MiB file into an empty store over loopback WebSockets, MiB/s.
import { hash } from 'node:crypto';
import { realClock } from '../src/clock.js';
import { createPrng } from '../src/random.js';
import { Chunker, splitBlock, type ChunkBlock } from '../src/cafs/chunker.js';
import { ChunkHashWorker, hashedChunks } from '../src/cafs/chunk-hasher.js';
import { MemoryChunkStore } from '../src/cafs/memory-store.js';
import { importFile, readFile } from '../src/cafs/files.js';
import { DiskChunkStore } from '../src/cafs/disk-store.js';
import type { FileManifest } from '../src/cafs/chunk-store.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cafsProtocol, cafsReceiver, sendFile } from '../src/cafs/sync.js';
import { RpcPeer } from '../src/transport/rpc.js';
import { connectWebSocket } from '../src/transport/ws-client.js';
import { startTestServer, waitFor } from '../test/support/ws-server.js';
import { benchOptions, printFigures, round } from './support.js';

const options = benchOptions();
const MIB = 1024 * 1024;
const fileBytes = 64 * MIB;
const repetitions = options.quick ? 2 : 5;
const data = createPrng(1).nextBytes(fileBytes);

/** Best of `passes` timings of an async run, after one warm-up pass (V8 optimises the loops). */
async function bestSeconds(passes: number, run: () => Promise<unknown>): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let pass = 0; pass <= passes; pass++) {
    const start = process.hrtime.bigint();
    await run();
    if (pass > 0) best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
  }
  return best;
}

function* megabytes(bytes: Uint8Array): Iterable<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += MIB) yield bytes.subarray(offset, offset + MIB);
}

/** Chunks and hashes the data as a stream of 1 MiB reads. */
async function chunkAndHash(hasher: ChunkHashWorker | undefined): Promise<void> {
  for await (const block of hashedChunks(megabytes(data), { hasher })) void block;
}

/** Chunking with each chunk hashed by crypto.subtle (libuv's thread pool), a block in flight. */
async function chunkAndHashSubtle(): Promise<void> {
  const chunker = new Chunker();
  let previous: Promise<unknown> = Promise.resolve();
  const start = (block: ChunkBlock): void => {
    const digests = Promise.all(splitBlock(block).map((chunk) => crypto.subtle.digest('SHA-256', chunk)));
    previous = Promise.all([previous, digests]);
  };
  for (const piece of megabytes(data)) {
    for (const block of chunker.pushBlocks(piece)) start(block);
    await previous;
  }
  start(chunker.endBlock());
  await previous;
}

const hasher = new ChunkHashWorker();
const chunkOnlySeconds = await bestSeconds(repetitions, async () => {
  const chunker = new Chunker();
  for (const piece of megabytes(data)) chunker.pushBlocks(piece);
  chunker.endBlock();
});
const inlineSeconds = await bestSeconds(repetitions, () => chunkAndHash(undefined));
const workerSeconds = await bestSeconds(repetitions, () => chunkAndHash(hasher));
const subtleSeconds = await bestSeconds(repetitions, chunkAndHashSubtle);
const shaSeconds = await bestSeconds(repetitions, async () => void hash('sha256', data, 'buffer'));
const importInlineSeconds = await bestSeconds(repetitions, () => importFile(new MemoryChunkStore(1024 * MIB), megabytes(data)));
const importWorkerSeconds = await bestSeconds(repetitions, () => importFile(new MemoryChunkStore(1024 * MIB), megabytes(data), { hasher }));
// The daemon's on-disk store (pack files): import into a fresh one, then read the file back.
const diskDirectory = mkdtempSync(join(tmpdir(), 'bitwrk-bench-cafs-'));
let diskPass = 0;
let diskStore: DiskChunkStore | undefined;
let diskManifest: FileManifest | undefined;
const importDiskSeconds = await bestSeconds(repetitions, async () => {
  diskStore?.close();
  diskStore = new DiskChunkStore(join(diskDirectory, String(diskPass++)));
  diskManifest = await importFile(diskStore, megabytes(data));
});
const readDiskSeconds = await bestSeconds(repetitions, async () => {
  for await (const part of readFile(diskStore!, diskManifest!)) void part;
});
diskStore?.close();
rmSync(diskDirectory, { recursive: true, force: true });
await hasher.close();

/** Bytes that cross a connection in both directions during a sync of `edited` onto `original`. */
/** Also the seconds the sync itself took (not the imports or the connection setup). */
async function resyncBytes(original: Uint8Array, edited: Uint8Array): Promise<{ wireBytes: number; chunksSent: number; seconds: number }> {
  const sender = new MemoryChunkStore(1024 * MIB);
  const receiver = new MemoryChunkStore(1024 * MIB);
  await importFile(receiver, [original]);
  const manifest = await importFile(sender, [edited]);
  const server = await startTestServer(cafsProtocol, cafsReceiver(receiver), { clock: realClock });
  try {
    const connection = await connectWebSocket(server.url, { clock: realClock });
    await waitFor(() => server.peers.length === 1);
    let wireBytes = 0;
    for (const side of [connection, server.peers[0]!.connection]) {
      const send = side.send.bind(side);
      side.send = (frame) => ((wireBytes += frame.length), send(frame));
    }
    const client = new RpcPeer(connection, cafsProtocol, {}, { clock: realClock });
    const start = process.hrtime.bigint();
    const report = await sendFile(client, sender, manifest, { transferId: 'bench' });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    client.close();
    return { wireBytes, chunksSent: report.chunksSent, seconds };
  } finally {
    await server.stop();
  }
}

function runsEdit(source: Uint8Array, seed: number): Uint8Array {
  const copy = source.slice();
  const prng = createPrng(seed);
  const runs = 64;
  const runBytes = Math.floor(copy.length / 100 / runs);
  for (let run = 0; run < runs; run++) {
    const at = prng.nextInt(copy.length - runBytes);
    copy.set(prng.nextBytes(runBytes), at);
  }
  return copy;
}

function byteEdits(source: Uint8Array, seed: number, count: number): Uint8Array {
  const copy = source.slice();
  const prng = createPrng(seed);
  for (let i = 0; i < count; i++) {
    const at = prng.nextInt(copy.length);
    copy[at] = copy[at]! ^ 0xff;
  }
  return copy;
}

const chunkCount = (await importFile(new MemoryChunkStore(1024 * MIB), [data])).chunks.length;
const runs = await resyncBytes(data, runsEdit(data, 2));
const bytes = await resyncBytes(data, byteEdits(data, 3, Math.round(chunkCount / 100)));

const empty = await resyncBytes(new Uint8Array(0), data);

printFigures('cafs', {
  fileMiB: fileBytes / MIB,
  chunkOnlyMiBPerSecond: round(fileBytes / MIB / chunkOnlySeconds),
  chunkHashInlineMiBPerSecond: round(fileBytes / MIB / inlineSeconds),
  chunkHashWorkerMiBPerSecond: round(fileBytes / MIB / workerSeconds),
  chunkHashSubtleMiBPerSecond: round(fileBytes / MIB / subtleSeconds),
  plainSha256MiBPerSecond: round(fileBytes / MIB / shaSeconds),
  ratioInlineToSha256: round(shaSeconds / inlineSeconds, 2),
  ratioWorkerToSha256: round(shaSeconds / workerSeconds, 2),
  importFileInlineMiBPerSecond: round(fileBytes / MIB / importInlineSeconds),
  importFileWorkerMiBPerSecond: round(fileBytes / MIB / importWorkerSeconds),
  importFileDiskMiBPerSecond: round(fileBytes / MIB / importDiskSeconds),
  ratioImportDiskToMemory: round(importInlineSeconds / importDiskSeconds, 2),
  readFileDiskMiBPerSecond: round(fileBytes / MIB / readDiskSeconds),
  chunks: chunkCount,
  resyncOnePercentIn64RunsFraction: round(runs.wireBytes / fileBytes, 4),
  resyncOnePercentIn64RunsChunksSent: runs.chunksSent,
  resyncByteEditsAtOnePercentOfChunksFraction: round(bytes.wireBytes / fileBytes, 4),
  resyncByteEditsChunksSent: bytes.chunksSent,
  syncIntoEmptyMiBPerSecond: round(fileBytes / MIB / empty.seconds),
  syncIntoEmptyWireFraction: round(empty.wireBytes / fileBytes, 4),
  goalRatio: 0.5,
  goalResyncFractionMax: 0.05,
});

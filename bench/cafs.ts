// CAFS benchmark:
//  - chunk+hash: the streaming chunker plus SHA-256 of every chunk, MiB/s, against node's plain
//    SHA-256 of the same data in the same run (the ratio is the figure);
//  - re-sync: bytes on the wire (every frame, both ways: offers, bitmaps, chunks, answers) to bring
//    a receiver holding a 64 MiB file up to date after scattered edits, as a fraction of the file,
//    for two shapes (see docs/cafs.md): 1% of the bytes rewritten in 64 runs at random places, and
//    single-byte edits at as many places as 1% of the chunks;
//  - sync speed: a 64 MiB file into an empty store over loopback WebSockets, MiB/s.
import { hash } from 'node:crypto';
import { realClock } from '../src/clock.js';
import { createPrng } from '../src/random.js';
import { Chunker } from '../src/cafs/chunker.js';
import { MemoryChunkStore } from '../src/cafs/memory-store.js';
import { importFile } from '../src/cafs/files.js';
import { cafsProtocol, cafsReceiver, sendFile } from '../src/cafs/sync.js';
import { RpcPeer } from '../src/transport/rpc.js';
import { connectWebSocket } from '../src/transport/ws-client.js';
import { startTestServer, waitFor } from '../test/support/ws-server.js';
import { benchOptions, printFigures, round } from './support.js';

const options = benchOptions();
const MIB = 1024 * 1024;
const fileBytes = 64 * MIB;
const repetitions = options.quick ? 1 : 3;
const data = createPrng(1).nextBytes(fileBytes);

function seconds(run: () => void): number {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

// V8 needs a few passes to optimise the chunker's loop: the first passes are warm-up, the best
// of the rest counts.
const chunkHashSeconds = Math.min(...Array.from({ length: repetitions + 3 }, () => seconds(() => {
  const chunker = new Chunker();
  for (let offset = 0; offset < data.length; offset += MIB) for (const chunk of chunker.push(data.subarray(offset, offset + MIB))) hash('sha256', chunk, 'buffer');
  for (const chunk of chunker.end()) hash('sha256', chunk, 'buffer');
})));
const shaSeconds = Math.min(...Array.from({ length: repetitions }, () => seconds(() => void hash('sha256', data, 'buffer'))));

/** Bytes that cross a connection in both directions during a sync of `edited` onto `original`. */
async function resyncBytes(original: Uint8Array, edited: Uint8Array): Promise<{ wireBytes: number; chunksSent: number }> {
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
    const report = await sendFile(client, sender, manifest, { transferId: 'bench' });
    client.close();
    return { wireBytes, chunksSent: report.chunksSent };
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

const syncStart = process.hrtime.bigint();
const empty = await resyncBytes(new Uint8Array(0), data);
const syncSeconds = Number(process.hrtime.bigint() - syncStart) / 1e9;

printFigures('cafs', {
  fileMiB: fileBytes / MIB,
  chunkHashMiBPerSecond: round(fileBytes / MIB / chunkHashSeconds),
  plainSha256MiBPerSecond: round(fileBytes / MIB / shaSeconds),
  ratioChunkHashToSha256: round(shaSeconds / chunkHashSeconds, 2),
  chunks: chunkCount,
  resyncOnePercentIn64RunsFraction: round(runs.wireBytes / fileBytes, 4),
  resyncOnePercentIn64RunsChunksSent: runs.chunksSent,
  resyncByteEditsAtOnePercentOfChunksFraction: round(bytes.wireBytes / fileBytes, 4),
  resyncByteEditsChunksSent: bytes.chunksSent,
  syncIntoEmptyMiBPerSecond: round(fileBytes / MIB / syncSeconds),
  syncIntoEmptyWireFraction: round(empty.wireBytes / fileBytes, 4),
  goalRatio: 0.5,
  goalResyncFractionMax: 0.05,
});

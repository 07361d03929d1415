// Worker thread of ChunkHashWorker (chunk-hasher.ts). Plain JS importing only node modules, so it
// loads the same under tsx, the test runner and plain node. Receives { id, bytes, sizes } (a
// block of consecutive chunks, its buffer transferred) and answers { id, bytes, keys }, handing
// the buffer back, with keys as 32 raw SHA-256 bytes per chunk.
import { hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

parentPort.on('message', ({ id, bytes, sizes }) => {
  const keys = new Uint8Array(sizes.length * 32);
  let offset = 0;
  for (let index = 0; index < sizes.length; index++) {
    keys.set(hash('sha256', bytes.subarray(offset, offset + sizes[index]), 'buffer'), index * 32);
    offset += sizes[index];
  }
  parentPort.postMessage({ id, bytes, keys }, [bytes.buffer, keys.buffer]);
});

// Worker thread of the verification pool. Plain JS that imports only packages and the shared
// recovery core (recover-core.js), so it loads the same under `node --import tsx`, the test runner
// and plain node, without a TypeScript loader.
// workerData.backend is 'native' (libsecp256k1 through the `secp256k1` package) or 'noble'.
// Receives { items } where items packs ITEM_BYTES per signature:
//   digest (32) || address HASH160 (20) || recovery id + 4 if compressed (1) || r (32) || s (32)
// and answers { results } with one byte per item: 1 = valid, 0 = not. High-S is accepted by both.
import { parentPort, workerData } from 'node:worker_threads';
import { loadNativeRecover, nobleRecover, signedBy } from './recover-core.js';

const ITEM_BYTES = 117;

const recover = workerData?.backend === 'noble' ? nobleRecover : loadNativeRecover();

function verifyItem(items, offset) {
  const flags = items[offset + 52];
  const compact = items.subarray(offset + 53, offset + ITEM_BYTES);
  return signedBy(recover, compact, flags & 3, items.subarray(offset, offset + 32), (flags & 4) !== 0, items.subarray(offset + 32, offset + 52)) ? 1 : 0;
}

parentPort.on('message', ({ items }) => {
  const count = items.length / ITEM_BYTES;
  const results = new Uint8Array(count);
  for (let index = 0; index < count; index++) results[index] = verifyItem(items, index * ITEM_BYTES);
  parentPort.postMessage({ results }, [results.buffer]);
});

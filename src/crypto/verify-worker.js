// Worker thread of the verification pool. Plain JS that imports only packages, so it loads the
// same under `node --import tsx`, the test runner and plain node, without a TypeScript loader.
// workerData.backend is 'native' (libsecp256k1 through the `secp256k1` package) or 'noble'.
// Receives { items } where items packs ITEM_BYTES per signature:
//   digest (32) || address HASH160 (20) || recovery id + 4 if compressed (1) || r (32) || s (32)
// and answers { results } with one byte per item: 1 = valid, 0 = not. High-S is accepted by both.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import * as secp from '@noble/secp256k1';

const ITEM_BYTES = 117;

function nobleRecover(compact, recoveryId, digest, compressed) {
  const signature = new Uint8Array(65);
  signature[0] = recoveryId;
  signature.set(compact, 1);
  const publicKey = secp.recoverPublicKey(signature, digest, { prehash: false });
  return secp.Point.fromBytes(publicKey).toBytes(compressed);
}

function loadRecover(backend) {
  if (backend === 'noble') return nobleRecover;
  const native = createRequire(import.meta.url)('secp256k1/bindings');
  return (compact, recoveryId, digest, compressed) => native.ecdsaRecover(compact, recoveryId, digest, compressed);
}

const recover = loadRecover(workerData?.backend);

function verifyItem(items, offset) {
  const digest = items.subarray(offset, offset + 32);
  const expected = items.subarray(offset + 32, offset + 52);
  const flags = items[offset + 52];
  const compact = items.subarray(offset + 53, offset + ITEM_BYTES);
  let publicKey;
  try {
    publicKey = recover(compact, flags & 3, digest, (flags & 4) !== 0);
  } catch {
    return 0;
  }
  const hash = createHash('ripemd160').update(createHash('sha256').update(publicKey).digest()).digest();
  return hash.equals(expected) ? 1 : 0;
}

parentPort.on('message', ({ items }) => {
  const count = items.length / ITEM_BYTES;
  const results = new Uint8Array(count);
  for (let index = 0; index < count; index++) results[index] = verifyItem(items, index * ITEM_BYTES);
  parentPort.postMessage({ results }, [results.buffer]);
});

// Worker thread of the verification pool (plain JS so it loads without a TypeScript loader).
// Receives { id, items } where items packs ITEM_BYTES per signature:
//   digest (32) || address HASH160 (20) || recovery id + 4*compressed (1) || r || s (64)
// and answers { id, results } with one byte per item: 1 = valid, 0 = not.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';

const native = createRequire(import.meta.url)('secp256k1/bindings');
const ITEM_BYTES = 117;

function verifyItem(items, offset) {
  const digest = items.subarray(offset, offset + 32);
  const expected = items.subarray(offset + 32, offset + 52);
  const flags = items[offset + 52];
  const compact = items.subarray(offset + 53, offset + 117);
  let publicKey;
  try {
    publicKey = native.ecdsaRecover(compact, flags & 3, digest, (flags & 4) !== 0);
  } catch {
    return 0;
  }
  const sha = createHash('sha256').update(publicKey).digest();
  const hash = createHash('ripemd160').update(sha).digest();
  return hash.equals(expected) ? 1 : 0;
}

parentPort.on('message', ({ id, items }) => {
  const count = items.length / ITEM_BYTES;
  const results = new Uint8Array(count);
  for (let index = 0; index < count; index++) results[index] = verifyItem(items, index * ITEM_BYTES);
  parentPort.postMessage({ id, results }, [results.buffer]);
});

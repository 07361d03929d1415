// Public-key recovery from a signmessage signature, one implementation for the main thread
// (signmessage.ts, verifier.ts) and the verification pool's worker threads (verify-worker.js).
// Plain JS importing only packages, so a worker loads it under plain node, without a TypeScript
// loader; recover-core.d.ts gives its types. Both backends accept high-S signatures (recovery,
// unlike verification, does not require low-S), as the original's signatures need.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import * as secp from '@noble/secp256k1';

/** Recovery with @noble/secp256k1 (pure JS); throws where no key can be recovered. */
export function nobleRecover(compact, recoveryId, digest, compressed) {
  const signature = new Uint8Array(65);
  signature[0] = recoveryId;
  signature.set(compact, 1);
  return secp.Point.fromBytes(secp.recoverPublicKey(signature, digest, { prehash: false })).toBytes(compressed);
}

let nativeRecover;

/** Recovery with native libsecp256k1 (the `secp256k1` package), or null where it does not load. */
export function loadNativeRecover() {
  if (nativeRecover !== undefined) return nativeRecover;
  try {
    const native = createRequire(import.meta.url)('secp256k1/bindings');
    nativeRecover = (compact, recoveryId, digest, compressed) => native.ecdsaRecover(compact, recoveryId, digest, compressed);
  } catch {
    nativeRecover = null;
  }
  return nativeRecover;
}

/** Whether the key `recover` gets from the signature hashes (HASH160) to `expectedHash160`. */
export function signedBy(recover, compact, recoveryId, digest, compressed, expectedHash160) {
  let publicKey;
  try {
    publicKey = recover(compact, recoveryId, digest, compressed);
  } catch {
    return false;
  }
  const hash = createHash('ripemd160').update(createHash('sha256').update(publicKey).digest()).digest();
  return hash.length === expectedHash160.length && hash.every((byte, index) => byte === expectedHash160[index]);
}

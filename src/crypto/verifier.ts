// Signature verification behind one interface, with the fastest backend available: native
// libsecp256k1 (the `secp256k1` package ships prebuilt binaries) or, where it does not load,
// the reference implementation (@noble/secp256k1, pure JS, ~40x slower). Verification bounds
// the exchange's intake, so batches can also go to a worker-thread pool (verify-pool.ts).
import { createRequire } from 'node:module';
import { parseAddress } from './address.js';
import { checkBytes, checkString } from './check.js';
import { hash160 } from './hash.js';
import { checkDigestArguments, equalBytes, messageDigest, parseSignature, verifyDigestNoble } from './signmessage.js';

export type VerifierBackend = 'native' | 'noble';

/**
 * Checks Bitcoin signed messages. Both methods return false, never throw, for anything a peer can
 * send (malformed base64, wrong length, header byte outside 27..34, unparsable address, a
 * signature by another key) and accept high-S signatures and uncompressed keys; they throw
 * TypeError / RangeError only for misuse, naming the argument (see verifyMessage).
 */
export interface MessageVerifier {
  readonly backend: VerifierBackend;
  /** As verifyMessage. */
  verify(message: string | Uint8Array, address: string, signatureBase64: string): boolean;
  /** The same on a precomputed 32-byte signmessage digest and the address's 20-byte HASH160. */
  verifyDigest(digest: Uint8Array, addressHash160: Uint8Array, signatureBase64: string): boolean;
}

interface NativeSecp256k1 {
  ecdsaRecover(signature: Uint8Array, recoveryId: number, message: Uint8Array, compressed: boolean): Uint8Array;
}

let nativeModule: NativeSecp256k1 | null | undefined;

/** The native binding, or null when it cannot be loaded here (the pure-JS fallback is not used). */
export function loadNative(): NativeSecp256k1 | null {
  if (nativeModule !== undefined) return nativeModule;
  try {
    nativeModule = createRequire(import.meta.url)('secp256k1/bindings') as NativeSecp256k1;
  } catch {
    nativeModule = null;
  }
  return nativeModule;
}

function verifyDigestNative(native: NativeSecp256k1, digest: Uint8Array, addressHash160: Uint8Array, signatureBase64: string): boolean {
  checkDigestArguments(digest, addressHash160, signatureBase64);
  const signature = parseSignature(signatureBase64);
  if (signature === undefined) return false;
  let publicKey: Uint8Array;
  try {
    // libsecp256k1's recovery does not require low-S (only verify does), so the original's
    // high-S signatures recover as they are; the tests check it with the original's vectors.
    publicKey = native.ecdsaRecover(signature.compact, signature.recoveryId, digest, signature.compressed);
  } catch {
    return false;
  }
  return equalBytes(hash160(publicKey), addressHash160);
}

function makeVerifier(backend: VerifierBackend, verifyDigest: MessageVerifier['verifyDigest']): MessageVerifier {
  return {
    backend,
    verifyDigest,
    verify(message, address, signatureBase64) {
      if (typeof message !== 'string') checkBytes(message, undefined, 'message');
      checkString(address, 'address');
      checkString(signatureBase64, 'signature');
      const parsed = parseAddress(address);
      if (!parsed.ok) return false;
      return verifyDigest(messageDigest(message), parsed.address.hash160, signatureBase64);
    },
  };
}

/**
 * A verifier on the named backend. 'auto' (the default) picks native when its binding loads,
 * else noble, and logs nothing; asking for 'native' where it is missing throws.
 */
export function createVerifier(backend: VerifierBackend | 'auto' = 'auto'): MessageVerifier {
  const native = backend === 'noble' ? null : loadNative();
  if (native !== null) return makeVerifier('native', (digest, hash, signature) => verifyDigestNative(native, digest, hash, signature));
  if (backend === 'native') throw new Error('the native secp256k1 binding could not be loaded');
  return makeVerifier('noble', verifyDigestNoble);
}

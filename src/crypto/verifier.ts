// Signature verification behind one interface, with the fastest backend available: native
// libsecp256k1 (the `secp256k1` package ships prebuilt binaries) or, where it does not load,
// the reference implementation (@noble/secp256k1, pure JS, ~40x slower). Verification bounds
// the exchange's intake, so batches can also go to a worker-thread pool (verify-pool.ts).
import { parseAddress } from './address.js';
import { checkBytes, checkString } from './check.js';
import { loadNativeRecover, signedBy, type Recover } from './recover-core.js';
import { checkDigestArguments, messageDigest, parseSignature, verifyDigestNoble } from './signmessage.js';

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

/** Whether native libsecp256k1 loads here (the pure-JS fallback is then not used). */
export function nativeLoads(): boolean {
  return loadNativeRecover() !== null;
}

function verifyDigestNative(recover: Recover, digest: Uint8Array, addressHash160: Uint8Array, signatureBase64: string): boolean {
  checkDigestArguments(digest, addressHash160, signatureBase64);
  const signature = parseSignature(signatureBase64);
  return signature !== undefined && signedBy(recover, signature.compact, signature.recoveryId, digest, signature.compressed, addressHash160);
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
  const native = backend === 'noble' ? null : loadNativeRecover();
  if (native !== null) return makeVerifier('native', (digest, hash, signature) => verifyDigestNative(native, digest, hash, signature));
  if (backend === 'native') throw new Error('the native secp256k1 binding could not be loaded');
  return makeVerifier('noble', verifyDigestNoble);
}

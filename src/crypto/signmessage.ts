// Bitcoin Core `signmessage` signatures, so that any Bitcoin wallet can check a BitWrk message.
//   digest    = SHA256(SHA256(varint(24) || "Bitcoin Signed Message:\n" || varint(len) || message))
//   signature = [27 + recoveryId + (4 if the key is compressed)] || r (32) || s (32), in base64.
// Verification recovers the public key from (digest, signature), derives the P2PKH address and
// compares it with the claimed one. High-S signatures are accepted: the original daemon signed
// with a random k and no low-S normalisation.
import * as secp from '@noble/secp256k1';
import { parseAddress } from './address.js';
import { checkBytes, checkString } from './check.js';
import { doubleSha256, hash160 } from './hash.js';
import './noble-setup.js';

const MAGIC = new TextEncoder().encode('\x18Bitcoin Signed Message:\n');
export const SIGNATURE_BYTES = 65;

function varint(length: number): Uint8Array {
  if (length < 0xfd) return Uint8Array.of(length);
  if (length <= 0xffff) return Uint8Array.of(0xfd, length & 0xff, length >>> 8);
  return Uint8Array.of(0xfe, length & 0xff, (length >>> 8) & 0xff, (length >>> 16) & 0xff, (length >>> 24) & 0xff);
}

/** The 32-byte digest that Bitcoin's signmessage signs for `message` (a string is UTF-8 encoded). */
export function messageDigest(message: string | Uint8Array): Uint8Array {
  const bytes = typeof message === 'string' ? new TextEncoder().encode(message) : checkBytes(message, undefined, 'message');
  const buffer = new Uint8Array(MAGIC.length + 9 + bytes.length);
  buffer.set(MAGIC, 0);
  const length = varint(bytes.length);
  buffer.set(length, MAGIC.length);
  buffer.set(bytes, MAGIC.length + length.length);
  return doubleSha256(buffer.subarray(0, MAGIC.length + length.length + bytes.length));
}

/** Signs `message` with `privateKey`; returns the 65-byte signature as base64. */
export function signMessage(message: string | Uint8Array, privateKey: Uint8Array, options: { compressed?: boolean } = {}): string {
  checkBytes(privateKey, 32, 'privateKey');
  const compressed = options.compressed ?? true;
  const recovered = secp.sign(messageDigest(message), privateKey, { prehash: false, format: 'recovered' });
  // noble's 'recovered' layout is recoveryId || r || s.
  const signature = new Uint8Array(SIGNATURE_BYTES);
  signature[0] = 27 + recovered[0]! + (compressed ? 4 : 0);
  signature.set(recovered.subarray(1), 1);
  return Buffer.from(signature).toString('base64');
}

export interface ParsedSignature {
  readonly recoveryId: number;
  readonly compressed: boolean;
  /** r || s, 64 bytes. */
  readonly compact: Uint8Array;
}

/** Decodes a base64 signmessage signature, or returns undefined if it is not one. */
export function parseSignature(signatureBase64: string): ParsedSignature | undefined {
  if (typeof signatureBase64 !== 'string' || !/^[A-Za-z0-9+/]{87}=$/.test(signatureBase64)) return undefined;
  const bytes = new Uint8Array(Buffer.from(signatureBase64, 'base64'));
  if (bytes.length !== SIGNATURE_BYTES) return undefined;
  const header = bytes[0]!;
  if (header < 27 || header > 34) return undefined;
  return { recoveryId: (header - 27) & 3, compressed: header >= 31, compact: bytes.subarray(1) };
}

/**
 * Checks a signed message with the reference implementation (@noble/secp256k1).
 * Returns false for every signature that does not verify for `address`, including malformed
 * base64, a wrong length, a bad header byte or an address that does not parse. Throws
 * TypeError only for misuse (arguments that are not strings).
 */
export function verifyMessage(message: string | Uint8Array, address: string, signatureBase64: string): boolean {
  if (typeof message !== 'string') checkBytes(message, undefined, 'message');
  checkString(address, 'address');
  checkString(signatureBase64, 'signature');
  const parsed = parseAddress(address);
  if (!parsed.ok) return false;
  return verifyDigestNoble(messageDigest(message), parsed.address.hash160, signatureBase64);
}

/** Reference check of a signature over a precomputed digest against an address's HASH160. */
export function verifyDigestNoble(digest: Uint8Array, addressHash160: Uint8Array, signatureBase64: string): boolean {
  const signature = parseSignature(signatureBase64);
  if (signature === undefined) return false;
  const recovered = new Uint8Array(SIGNATURE_BYTES);
  recovered[0] = signature.recoveryId;
  recovered.set(signature.compact, 1);
  let publicKey: Uint8Array;
  try {
    // recoverPublicKey accepts high-S; it fails for r or s out of range or no point.
    publicKey = secp.Point.fromBytes(secp.recoverPublicKey(recovered, digest, { prehash: false })).toBytes(signature.compressed);
  } catch {
    return false;
  }
  return equalBytes(hash160(publicKey), addressHash160);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

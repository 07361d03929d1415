// Bitcoin Core `signmessage` signatures, so that any Bitcoin wallet can check a BitWrk message.
//   digest    = SHA256(SHA256(varint(24) || "Bitcoin Signed Message:\n" || varint(len) || message))
//   signature = [27 + recoveryId + (4 if the key is compressed)] || r (32) || s (32), in base64.
// Verification recovers the public key from (digest, signature), derives the P2PKH address and
// compares it with the claimed one. High-S signatures are accepted: the original daemon signed
// with a random k and no low-S normalisation.
import * as secp from '@noble/secp256k1';
import { parseAddress } from './address.js';
import { checkBytes, checkString } from './check.js';
import { doubleSha256 } from './hash.js';
import './noble-setup.js';
import { nobleRecover, signedBy } from './recover-core.js';

const MAGIC = new TextEncoder().encode('\x18Bitcoin Signed Message:\n');
export const SIGNATURE_BYTES = 65;
export const DIGEST_BYTES = 32;
export const HASH160_BYTES = 20;
const HEADER_MIN = 27;
const HEADER_MAX = 34;
const COMPRESSED_FLAG = 4;

/** Bitcoin's CompactSize length prefix. */
function varint(length: number): Uint8Array {
  if (length < 0xfd) return Uint8Array.of(length);
  if (length <= 0xffff) return Uint8Array.of(0xfd, length & 0xff, length >>> 8);
  return Uint8Array.of(0xfe, length & 0xff, (length >>> 8) & 0xff, (length >>> 16) & 0xff, (length >>> 24) & 0xff);
}

/**
 * The 32-byte digest that Bitcoin's signmessage signs for `message` (a string is UTF-8 encoded).
 * @throws TypeError if `message` is neither a string nor a Uint8Array.
 */
export function messageDigest(message: string | Uint8Array): Uint8Array {
  const bytes = typeof message === 'string' ? new TextEncoder().encode(message) : checkBytes(message, undefined, 'message');
  const length = varint(bytes.length);
  const buffer = new Uint8Array(MAGIC.length + length.length + bytes.length);
  buffer.set(MAGIC, 0);
  buffer.set(length, MAGIC.length);
  buffer.set(bytes, MAGIC.length + length.length);
  return doubleSha256(buffer);
}

/**
 * Signs `message` with `privateKey` (deterministic RFC 6979 nonce, low-S); returns the 65-byte
 * signature in base64. `compressed` (default true) must match the key form of the signer's address.
 * @throws TypeError / RangeError if `privateKey` is not 32 bytes or not a valid secret key.
 */
export function signMessage(message: string | Uint8Array, privateKey: Uint8Array, options: { compressed?: boolean } = {}): string {
  checkBytes(privateKey, 32, 'privateKey');
  const compressed = options.compressed ?? true;
  const recovered = secp.sign(messageDigest(message), privateKey, { prehash: false, format: 'recovered' });
  // noble's 'recovered' layout is recoveryId || r || s.
  const signature = new Uint8Array(SIGNATURE_BYTES);
  signature[0] = HEADER_MIN + recovered[0]! + (compressed ? COMPRESSED_FLAG : 0);
  signature.set(recovered.subarray(1), 1);
  return Buffer.from(signature).toString('base64');
}

export interface ParsedSignature {
  readonly recoveryId: number;
  readonly compressed: boolean;
  /** r || s, 64 bytes. */
  readonly compact: Uint8Array;
}

/**
 * Decodes a base64 signmessage signature (standard alphabet, padded: 88 characters), or returns
 * undefined if it is not one: wrong alphabet or length, or a header byte outside 27..34.
 */
export function parseSignature(signatureBase64: string): ParsedSignature | undefined {
  if (typeof signatureBase64 !== 'string' || !/^[A-Za-z0-9+/]{87}=$/.test(signatureBase64)) return undefined;
  const bytes = new Uint8Array(Buffer.from(signatureBase64, 'base64'));
  if (bytes.length !== SIGNATURE_BYTES) return undefined;
  const header = bytes[0]!;
  if (header < HEADER_MIN || header > HEADER_MAX) return undefined;
  const flags = header - HEADER_MIN;
  return { recoveryId: flags & 3, compressed: (flags & COMPRESSED_FLAG) !== 0, compact: bytes.subarray(1) };
}

/**
 * Checks a Bitcoin signed message with the reference implementation (@noble/secp256k1).
 *
 * Returns true only if `signatureBase64` is a signmessage signature of `message` by the key of
 * `address` (P2PKH, any network). Returns false, never throws, for everything a peer can send:
 * malformed base64, a wrong length, a header byte outside 27..34, r or s out of range, no
 * recoverable key, an address that does not parse or belongs to another key. High-S signatures
 * and uncompressed keys are accepted.
 * @throws TypeError only for misuse: `message` not a string or Uint8Array, `address` or
 *   `signatureBase64` not a string.
 */
export function verifyMessage(message: string | Uint8Array, address: string, signatureBase64: string): boolean {
  if (typeof message !== 'string') checkBytes(message, undefined, 'message');
  checkString(address, 'address');
  checkString(signatureBase64, 'signature');
  const parsed = parseAddress(address);
  if (!parsed.ok) return false;
  return verifyDigestNoble(messageDigest(message), parsed.address.hash160, signatureBase64);
}

/**
 * Reference check of a signature over a precomputed signmessage digest against an address's
 * HASH160. Same contract as verifyMessage.
 * @throws TypeError / RangeError for misuse: `digest` not 32 bytes, `addressHash160` not 20
 *   bytes, `signatureBase64` not a string.
 */
export function verifyDigestNoble(digest: Uint8Array, addressHash160: Uint8Array, signatureBase64: string): boolean {
  checkDigestArguments(digest, addressHash160, signatureBase64);
  const signature = parseSignature(signatureBase64);
  return signature !== undefined && signedBy(nobleRecover, signature.compact, signature.recoveryId, digest, signature.compressed, addressHash160);
}

/**
 * The public key that made a signmessage signature over `message` (compressed or not, as its
 * header says), or undefined when none can be recovered. Check it against the signer's address
 * (verifyMessage) before trusting it: anything recovers to some key.
 */
export function recoverMessageSigner(message: string | Uint8Array, signatureBase64: string): Uint8Array | undefined {
  if (typeof message !== 'string') checkBytes(message, undefined, 'message');
  checkString(signatureBase64, 'signature');
  return recoverDigestSigner(messageDigest(message), signatureBase64);
}

function recoverDigestSigner(digest: Uint8Array, signatureBase64: string): Uint8Array | undefined {
  const signature = parseSignature(signatureBase64);
  if (signature === undefined) return undefined;
  try {
    // Fails for r or s out of range or no point.
    return nobleRecover(signature.compact, signature.recoveryId, digest, signature.compressed);
  } catch {
    return undefined;
  }
}

export function checkDigestArguments(digest: Uint8Array, addressHash160: Uint8Array, signatureBase64: string): void {
  checkBytes(digest, DIGEST_BYTES, 'digest');
  checkBytes(addressHash160, HASH160_BYTES, 'addressHash160');
  checkString(signatureBase64, 'signature');
}


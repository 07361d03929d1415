// Hashes used by Bitcoin identities, all from node:crypto (the fastest here): SHA-256, double
// SHA-256 and HASH160 = RIPEMD-160(SHA-256(x)).
import { createHash } from 'node:crypto';

export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

export function doubleSha256(data: Uint8Array): Uint8Array {
  return sha256(sha256(data));
}

export function hash160(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('ripemd160').update(createHash('sha256').update(data).digest()).digest());
}

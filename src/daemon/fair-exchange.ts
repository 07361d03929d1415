// The cryptography of the fair exchange between buyer and seller (docs/daemon.md):
//   * the buyer commits to its work and a random secret: worksecrethash = SHA-256(workhash ‖ secret),
//     both 32 raw bytes, so the seller proves it holds the work by publishing the secret;
//   * the seller encrypts the result with a fresh random 256-bit key, AES-256-GCM (authenticated,
//     unlike the original's OFB), nonce all zero: safe because every key encrypts one message only;
//     the blob is ciphertext ‖ 16-byte tag;
//   * the buyer's receipt is its Bitcoin signature over the hex SHA-256 of that blob, and the seller
//     then publishes the key on the exchange, sealed to the buyer's public key (ECIES on secp256k1
//     from eciesjs: an ephemeral key, ECDH, HKDF-SHA256, AES-256-GCM), so the exchange and anyone
//     who asks it see only the sealed key. The buyer's public key is recovered from its receipt.
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { decrypt as eciesDecrypt, encrypt as eciesEncrypt } from 'eciesjs';

const NONCE = new Uint8Array(12);
const TAG_BYTES = 16;

export class ResultDecryptionError extends Error {
  override name = 'ResultDecryptionError';
}

export function encryptResult(result: Uint8Array, keyHex: string): Uint8Array {
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(keyHex, 'hex'), NONCE);
  const body = Buffer.concat([cipher.update(result), cipher.final(), cipher.getAuthTag()]);
  return new Uint8Array(body.buffer, body.byteOffset, body.length);
}

/** Decrypts and authenticates; a wrong key or altered bytes throw ResultDecryptionError. */
export function decryptResult(blob: Uint8Array, keyHex: string): Uint8Array {
  if (blob.length < TAG_BYTES) throw new ResultDecryptionError(`encrypted result of ${blob.length} bytes is shorter than its tag`);
  const decipher = createDecipheriv('aes-256-gcm', Buffer.from(keyHex, 'hex'), NONCE);
  decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
  try {
    const plain = Buffer.concat([decipher.update(blob.subarray(0, blob.length - TAG_BYTES)), decipher.final()]);
    return new Uint8Array(plain.buffer, plain.byteOffset, plain.length);
  } catch {
    throw new ResultDecryptionError('the result does not decrypt with the published key (wrong key or altered bytes)');
  }
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The result key (64 hex) sealed to the buyer's secp256k1 public key, as lowercase hex. */
export function sealKeyForBuyer(resultKeyHex: string, buyerPublicKey: Uint8Array): string {
  return Buffer.from(eciesEncrypt(buyerPublicKey, Buffer.from(resultKeyHex, 'hex'))).toString('hex');
}

/** Opens a sealed result key with the buyer's private key; throws ResultDecryptionError if it is not one. */
export function openSealedKey(sealedHex: string, buyerPrivateKey: Uint8Array): string {
  let key: Uint8Array;
  try {
    key = eciesDecrypt(buyerPrivateKey, Buffer.from(sealedHex, 'hex'));
  } catch {
    throw new ResultDecryptionError('the published key is not sealed to this buyer');
  }
  if (key.length !== 32) throw new ResultDecryptionError(`the sealed key has ${key.length} bytes, not 32`);
  return Buffer.from(key).toString('hex');
}

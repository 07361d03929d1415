// Test participants with real Bitcoin keys and real receipt verification (Bitcoin signed
// message, P2PKH address), so that the market tests check the very signatures a daemon makes.
// Two independent implementations meet here: receipts are signed with bitcoinjs-message (a dev
// dependency); the core checks them with the exchange's own verifier (src/crypto/verifier.ts,
// native libsecp256k1 where it loads), while the reference model and the auditor check them with
// bitcoinjs-message. Any disagreement between the two shows up as a model mismatch.
import { createHash } from 'node:crypto';
import bitcoinMessage from 'bitcoinjs-message';
import * as bitcoin from 'bitcoinjs-lib';
import * as secp from '@noble/secp256k1';
import type { VerifyReceipt } from '../../../src/market/core.js';
import { createVerifier } from '../../../src/crypto/verifier.js';

export interface Participant {
  readonly name: string;
  readonly address: string;
  readonly privateKey: Buffer;
}

export function participant(name: string): Participant {
  const privateKey = createHash('sha256').update(`bitwrk test key ${name}`).digest();
  const pubkey = Buffer.from(secp.getPublicKey(privateKey, true));
  const address = bitcoin.payments.p2pkh({ pubkey }).address;
  if (address === undefined) throw new Error('p2pkh gave no address');
  return { name, address, privateKey };
}

/** Signs `text` as Bitcoin Core's signmessage does (compressed key), in base64. */
export function signText(text: string, signer: Participant): string {
  return bitcoinMessage.sign(text, signer.privateKey, true).toString('base64');
}

const exchangeVerifier = createVerifier('auto');

/** The check the exchange makes (src/crypto): false for anything that does not verify. */
export const verifyReceipt: VerifyReceipt = (buyerAddress, hashHex, signatureBase64) =>
  exchangeVerifier.verify(hashHex, buyerAddress, signatureBase64);

/** An independent check (bitcoinjs-message), for the reference model and the auditor. */
export const verifyReceiptIndependently: VerifyReceipt = (buyerAddress, hashHex, signatureBase64) => {
  try {
    return bitcoinMessage.verify(hashHex, buyerAddress, signatureBase64);
  } catch {
    // bitcoinjs-message throws on malformed input; for a receipt that only means "not valid".
    return false;
  }
};

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

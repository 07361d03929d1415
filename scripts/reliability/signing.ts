// Identities and signed exchange commands for the load generators. Keys come from the suite's
// seeded PRNG (so a run can be repeated); signatures are made with native libsecp256k1 so that
// one core can sign tens of thousands of commands per second (the exchange verifies them like
// any others). Bodies are encoded once: the exact bytes can be resent after a restart.
import { createRequire } from 'node:module';
import { address as bitcoinAddress } from 'bitcoinjs-lib';
import { identityFromPrivateKey, type Identity } from '../../src/crypto/keys.js';
import { messageDigest } from '../../src/crypto/signmessage.js';
import type { Prng } from '../../src/random.js';
import { creditText, placeBidText, withdrawBidText } from '../../src/protocol/signed-commands.js';
import { encode } from '../../src/transport/codec.js';
import { wallClockMs } from './timing.js';

export const EXCHANGE_ID = 'bitwrk-local';
export const ARTICLE = 'net.bitwrk/test/hash/0';

const native = createRequire(import.meta.url)('secp256k1') as {
  ecdsaSign(message: Uint8Array, key: Uint8Array): { signature: Uint8Array; recid: number };
};

/** A testnet identity whose key is drawn from `prng`. */
export function seededIdentity(prng: Prng): Identity {
  for (;;) {
    try {
      return identityFromPrivateKey(prng.nextBytes(32), 'testnet');
    } catch {
      // A draw outside the curve order (probability about 2^-128): draw again.
    }
  }
}

/** A fresh testnet address with no key behind it (a credit target): base58check of random HASH160. */
export function seededAddress(prng: Prng): string {
  return bitcoinAddress.toBase58Check(Buffer.from(prng.nextBytes(20)), 0x6f);
}

/** signmessage signature (65 bytes: header, r, s) of `text` by `identity`. */
export function sign(text: string, identity: Identity): Uint8Array {
  const { signature, recid } = native.ecdsaSign(messageDigest(text), identity.privateKey);
  const bytes = new Uint8Array(65);
  bytes[0] = 27 + recid + (identity.compressed ? 4 : 0);
  bytes.set(signature, 1);
  return bytes;
}

/** Makes nonces of the documented form: wall-clock ms, a dash, 32 hex digits from the PRNG. */
export class Nonces {
  constructor(private readonly prng: Prng) {}

  next(): string {
    return `${wallClockMs()}-${Buffer.from(this.prng.nextBytes(16)).toString('hex')}`;
  }
}

/** One signed command, ready to send: its request type, signer, nonce and encoded body. */
export interface SignedCommand {
  readonly type: 'credit' | 'placeBid' | 'withdrawBid';
  readonly address: string;
  readonly nonce: string;
  /** MessagePack of the body, exactly as sent (and resent). */
  readonly body: Uint8Array;
}

export function signedBid(identity: Identity, nonce: string, side: 'buy' | 'sell', priceSats: number): SignedCommand {
  const unsigned = { article: ARTICLE, side, priceSats, address: identity.address, nonce };
  const body = { ...unsigned, signature: sign(placeBidText(EXCHANGE_ID, unsigned), identity) };
  return { type: 'placeBid', address: identity.address, nonce, body: encode(body) };
}

export function signedCredit(admin: Identity, nonce: string, participant: string, amountSats: number): SignedCommand {
  const unsigned = { participant, amountSats, address: admin.address, nonce };
  const body = { ...unsigned, signature: sign(creditText(EXCHANGE_ID, unsigned), admin) };
  return { type: 'credit', address: admin.address, nonce, body: encode(body) };
}

export function signedWithdraw(identity: Identity, nonce: string, bidId: string): SignedCommand {
  const unsigned = { bidId, address: identity.address, nonce };
  const body = { ...unsigned, signature: sign(withdrawBidText(EXCHANGE_ID, unsigned), identity) };
  return { type: 'withdrawBid', address: identity.address, nonce, body: encode(body) };
}

/** `(address, nonce)` as one map key. */
export function nonceKey(address: string, nonce: string): string {
  return `${address} ${nonce}`;
}

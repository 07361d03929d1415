// Identities and signatures for synthetic traders. Each agent has a real testnet address (the
// exchange parses and checks it like any other), but no key: signing and verifying real
// secp256k1 signatures for every command of thousands of agents would cost more than the whole
// market. So the simulation signs with a stand-in, SHA-256 over the signer's address and the
// exact signed text (the real texts of src/protocol/signed-commands.ts), and the exchange is given
// the matching verifier. Simulation only: the exchange's real signature path is tested and
// benchmarked on its own (test/server, bench/exchange.ts).
import { createHash } from 'node:crypto';
import { payments } from 'bitcoinjs-lib';
import type { MessageVerifier } from '../src/crypto/verifier.js';
import { bitcoinNetwork } from '../src/crypto/networks.js';

/** A testnet P2PKH address derived from a name (no key behind it). */
export function agentAddress(name: string): string {
  const hash = createHash('sha256').update(`bitwrk-sim-agent|${name}`).digest().subarray(0, 20);
  return payments.p2pkh({ hash, network: bitcoinNetwork('testnet') }).address!;
}

/** The stand-in signature: 65 bytes, base64, determined by the signer and the text. */
export function standInSignature(address: string, text: string): string {
  const digest = createHash('sha256').update(address).update('\n').update(text).digest();
  return Buffer.concat([digest, digest, digest.subarray(0, 1)]).toString('base64');
}

export function standInSignatureBytes(address: string, text: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(standInSignature(address, text), 'base64'));
}

/** The exchange's verifier in a simulation: accepts exactly the stand-in signatures. */
export const standInVerifier: MessageVerifier = {
  backend: 'noble',
  verify: (message, address, signatureBase64) => typeof message === 'string' && signatureBase64 === standInSignature(address, message),
  verifyDigest: () => false,
};

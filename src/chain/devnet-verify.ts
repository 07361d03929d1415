// Input script verification for the devnet: P2WPKH (BIP143 signature hash, ECDSA with strict DER and
// low S) and P2TR key-path spends (BIP341 signature hash, BIP340 Schnorr). Those are the outputs the
// exchange's deposit addresses and the faucet use; any other spend is refused as non-standard rather
// than accepted unverified. Signature hashes are @scure/btc-signer's (`preimageWitnessV0/V1`), DER
// decoding bitcoinjs-lib's (BIP66), curve arithmetic @noble/secp256k1's.
import * as secp from '@noble/secp256k1';
import { OutScript } from '@scure/btc-signer';
import { hash160 } from '@scure/btc-signer/utils.js';
import { script as bitcoinScript } from 'bitcoinjs-lib';
import '../crypto/noble-setup.js';
import { decodeOutScript, DevnetRefusal, equalBytes, type DevnetTx, type DevnetTxOutput } from './devnet-tx.js';

/** The sighash types consensus defines (ALL, NONE, SINGLE, each optionally with ANYONECANPAY). */
const DEFINED_SIGHASH_TYPES: ReadonlySet<number> = new Set([0x01, 0x02, 0x03, 0x81, 0x82, 0x83]);
/** BIP341: the first byte of an annex. */
const ANNEX_TAG = 0x50;

/**
 * Checks every input's witness against the output it spends (`prevouts[i]` for input i). Returns
 * null when all are valid, otherwise the refusal for the first input that is not: 'bad-signature'
 * for a signature that does not verify or is malformed, 'non-standard-input' for a spend of a kind
 * the devnet does not verify. Never throws for hostile data.
 */
export function verifyInputs(tx: DevnetTx, prevouts: readonly DevnetTxOutput[]): DevnetRefusal | null {
  if (prevouts.length !== tx.inputs.length) throw new RangeError(`"prevouts" expected ${tx.inputs.length} entries, got ${prevouts.length}`);
  for (let index = 0; index < tx.inputs.length; index++) {
    const script = prevouts[index]!.script;
    const decoded = decodeOutScript(script);
    let problem: DevnetRefusal | null;
    if (decoded.type === 'wpkh') problem = verifyP2wpkh(tx, index, decoded.hash, prevouts[index]!.valueSats);
    else if (decoded.type === 'tr') problem = verifyP2trKeyPath(tx, index, decoded.pubkey, prevouts);
    else problem = new DevnetRefusal('non-standard-input', `input ${index} spends a ${decoded.type} output; the devnet verifies only P2WPKH and P2TR key-path spends`);
    if (problem !== null) return problem;
  }
  return null;
}

function verifyP2wpkh(tx: DevnetTx, index: number, keyHash: Uint8Array, valueSats: number): DevnetRefusal | null {
  const input = tx.inputs[index]!;
  const bad = (why: string): DevnetRefusal => new DevnetRefusal('bad-signature', `input ${index} (P2WPKH): ${why}`);
  if (input.scriptSig.length !== 0) return bad('a native segwit spend needs an empty scriptSig');
  if (input.witness.length !== 2) return bad(`the witness has ${input.witness.length} items, not a signature and a key`);
  const [signature, publicKey] = input.witness as readonly [Uint8Array, Uint8Array];
  if (publicKey.length !== 33 || (publicKey[0] !== 0x02 && publicKey[0] !== 0x03)) return bad('segwit needs a compressed public key');
  if (!equalBytes(hash160(publicKey), keyHash)) return bad('the public key does not hash to the output\'s key hash');
  let decoded: { signature: Uint8Array; hashType: number };
  try {
    decoded = bitcoinScript.signature.decode(signature);
  } catch (error) {
    return bad(`the signature is not strict DER with a defined sighash type (${(error as Error).message})`);
  }
  const scriptCode = OutScript.encode({ type: 'pkh', hash: keyHash });
  try {
    const digest = tx.parsed.preimageWitnessV0(index, scriptCode, decoded.hashType, BigInt(valueSats));
    if (!secp.verify(decoded.signature, digest, publicKey, { prehash: false, lowS: true })) return bad('the signature does not verify (BIP143)');
  } catch (error) {
    return bad(`the signature cannot be checked: ${(error as Error).message}`);
  }
  return null;
}

function verifyP2trKeyPath(tx: DevnetTx, index: number, outputKey: Uint8Array, prevouts: readonly DevnetTxOutput[]): DevnetRefusal | null {
  const input = tx.inputs[index]!;
  const bad = (why: string): DevnetRefusal => new DevnetRefusal('bad-signature', `input ${index} (P2TR): ${why}`);
  if (input.scriptSig.length !== 0) return bad('a native segwit spend needs an empty scriptSig');
  const witness = input.witness;
  if (witness.length === 0) return bad('the witness is empty');
  if (witness.length >= 2 && witness[witness.length - 1]![0] === ANNEX_TAG) return new DevnetRefusal('non-standard-input', `input ${index} (P2TR) carries an annex`);
  if (witness.length !== 1) return new DevnetRefusal('non-standard-input', `input ${index} (P2TR) is a script-path spend; the devnet verifies key-path spends only`);
  const signature = witness[0]!;
  if (signature.length !== 64 && signature.length !== 65) return bad(`a Schnorr signature has 64 or 65 bytes, not ${signature.length}`);
  const hashType = signature.length === 65 ? signature[64]! : 0;
  if (signature.length === 65 && !DEFINED_SIGHASH_TYPES.has(hashType)) return bad(`sighash type 0x${hashType.toString(16)} is not defined`);
  try {
    const digest = tx.parsed.preimageWitnessV1(index, prevouts.map((prevout) => prevout.script), hashType, prevouts.map((prevout) => BigInt(prevout.valueSats)));
    if (!secp.schnorr.verify(signature.subarray(0, 64), digest, outputKey)) return bad('the signature does not verify (BIP341)');
  } catch (error) {
    return bad(`the signature cannot be checked: ${(error as Error).message}`);
  }
  return null;
}


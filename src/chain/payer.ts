// The payer: the separate signer that holds the wallet's account-level private key and signs a
// payout batch only when the PSBT is exactly what its manifest says and within the payer's own
// policy. It is written with @scure/btc-signer while the exchange builds with bitcoinjs-lib, so
// a bug in one library does not pass both sides unnoticed. It refuses, with the reason:
// - an input not derived from its own account (fingerprint, path 0/i or 1/i), or whose witness
//   UTXO is not that key's P2WPKH output (so it never signs an amount it has not checked);
// - outputs other than the manifest's, in its order, plus exactly one change output on its own
//   change branch at the manifest's index;
// - a fee other than the manifest's, or above its cap; more than its daily limit in total.
import { HDKey } from '@scure/bip32';
import { base64, hex } from '@scure/base';
import { Address, OutScript, p2wpkh, Transaction } from '@scure/btc-signer';
import { btcSignerNetwork } from './deposit-keys.js';
import type { BatchManifest } from './payout-batch.js';
import type { NetworkName } from '../crypto/networks.js';

export interface PayerPolicy {
  readonly feeCapSats: number;
  /** The most this payer signs away in one day (the caller keeps the count). */
  readonly dailyLimitSats: number;
}

export class PayerRefusal extends Error {}

export interface SignedBatch {
  readonly txid: string;
  readonly rawHex: string;
}

/** Signs `psbtBase64` with the account key `accountXprv` if it matches `manifest` and the policy. */
export function signBatch(options: {
  readonly accountXprv: string;
  readonly network: NetworkName;
  readonly psbtBase64: string;
  readonly manifest: BatchManifest;
  readonly policy: PayerPolicy;
  /** Signed already today (the payer's own count). */
  readonly signedTodaySats: number;
}): SignedBatch {
  const network = btcSignerNetwork(options.network);
  const versions = options.network === 'mainnet' ? { private: 0x0488ade4, public: 0x0488b21e } : { private: 0x04358394, public: 0x043587cf };
  const account = HDKey.fromExtendedKey(options.accountXprv, versions);
  if (account.privateKey === null) throw new PayerRefusal('the payer needs the account private key');
  let tx: Transaction;
  try {
    tx = Transaction.fromPSBT(base64.decode(options.psbtBase64));
  } catch (error) {
    throw new PayerRefusal(`not a PSBT: ${(error as Error).message}`);
  }
  const { manifest } = options;
  // Inputs: each one ours, at a path we derive, with the amount it claims on our own script.
  const keys: HDKey[] = [];
  let inSats = 0n;
  for (let index = 0; index < tx.inputsLength; index++) {
    const input = tx.getInput(index);
    const derivation = input.bip32Derivation?.[0];
    const utxo = input.witnessUtxo;
    if (derivation === undefined || utxo === undefined) throw new PayerRefusal(`input ${index}: no BIP32 derivation or witness UTXO`);
    const [, { fingerprint, path }] = derivation;
    if (fingerprint !== account.fingerprint) throw new PayerRefusal(`input ${index}: derived from another key (fingerprint ${fingerprint.toString(16)})`);
    if (path.length !== 2 || (path[0] !== 0 && path[0] !== 1) || path[1]! >= 2 ** 31) throw new PayerRefusal(`input ${index}: path ${path.join('/')} is not 0/i or 1/i of the account`);
    const key = account.deriveChild(path[0]!).deriveChild(path[1]!);
    if (hex.encode(p2wpkh(key.publicKey!, network).script) !== hex.encode(utxo.script)) throw new PayerRefusal(`input ${index}: the witness UTXO is not this account's output at ${path.join('/')}`);
    keys.push(key);
    inSats += utxo.amount;
  }
  // Outputs: the manifest's exactly, then our change.
  if (tx.outputsLength !== manifest.outputs.length + 1) throw new PayerRefusal(`${tx.outputsLength} outputs, the manifest has ${manifest.outputs.length} and a change`);
  let outSats = 0n;
  manifest.outputs.forEach((wanted, index) => {
    const output = tx.getOutput(index);
    const script = OutScript.encode(Address(network).decode(wanted.address));
    if (output.script === undefined || hex.encode(output.script) !== hex.encode(script) || output.amount !== BigInt(wanted.amountSats)) {
      throw new PayerRefusal(`output ${index} is not ${wanted.amountSats} sat to ${wanted.address} (${wanted.withdrawalId})`);
    }
    outSats += output.amount;
  });
  const change = tx.getOutput(manifest.outputs.length);
  const changeKey = account.deriveChild(1).deriveChild(manifest.change.index);
  if (change.script === undefined || hex.encode(change.script) !== hex.encode(p2wpkh(changeKey.publicKey!, network).script) || change.amount !== BigInt(manifest.change.amountSats)) {
    throw new PayerRefusal(`the change is not ${manifest.change.amountSats} sat to this account's change address 1/${manifest.change.index}`);
  }
  outSats += change.amount;
  const feeSats = Number(inSats - outSats);
  if (feeSats !== manifest.feeSats) throw new PayerRefusal(`the fee is ${feeSats} sat, the manifest says ${manifest.feeSats}`);
  if (feeSats > options.policy.feeCapSats) throw new PayerRefusal(`the fee of ${feeSats} sat is over the cap of ${options.policy.feeCapSats}`);
  const paid = manifest.outputs.reduce((sum, output) => sum + output.amountSats, 0);
  if (options.signedTodaySats + paid > options.policy.dailyLimitSats) throw new PayerRefusal(`${paid} sat more would exceed the payer's daily limit of ${options.policy.dailyLimitSats} (signed today: ${options.signedTodaySats})`);
  keys.forEach((key, index) => tx.signIdx(key.privateKey!, index));
  tx.finalize();
  return { txid: tx.id, rawHex: tx.hex };
}

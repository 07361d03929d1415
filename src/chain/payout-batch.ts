// A batch of approved withdrawals as one Bitcoin transaction, built by the exchange as an
// unsigned BIP174 PSBT (bitcoinjs-lib) with each input's witness UTXO and BIP32 derivation (from
// the account key: paths 0/i for deposits, 1/i for change), exact outputs in the withdrawals'
// order and one change output on the account's own change branch; with it a manifest that the
// separate signer (payer.ts, another library) checks the PSBT against. The exchange holds no
// private key: it can build, never sign.
// Fee rule (docs/payments.md): withdrawals are paid exactly; the network fee comes from the
// wallet's change (the exchange pays it, out of its fee income).
import { Psbt, Transaction as BitcoinTransaction, networks, address as bitcoinAddress } from 'bitcoinjs-lib';
import { hex } from '@scure/base';
import { chainAddress, chainPublicKey, type DepositKey } from './deposit-keys.js';
import { parseTransaction } from './devnet-tx.js';
import { verifyInputs } from './devnet-verify.js';

/** A wallet coin: an unspent output of one of the account's addresses. */
export interface WalletCoin {
  readonly txid: string;
  readonly vout: number;
  readonly valueSats: number;
  /** Where it sits in the account: chain 0 (deposits) or 1 (change), and the index. */
  readonly chain: 0 | 1;
  readonly index: number;
}

export interface BatchManifest {
  readonly batchId: string;
  /** Exactly these outputs, in this order, then the change. */
  readonly outputs: readonly { readonly withdrawalId: string; readonly address: string; readonly amountSats: number }[];
  readonly change: { readonly index: number; readonly amountSats: number };
  readonly feeSats: number;
}

export interface BuiltBatch {
  readonly psbtBase64: string;
  readonly manifest: BatchManifest;
  /** The coins it spends, in the PSBT's order. */
  readonly inputs: readonly WalletCoin[];
}

export class BatchError extends Error {}

/** vbytes of a P2WPKH spend, a P2WPKH/P2TR output (the largest standard one: P2WSH 43), and the rest. */
const INPUT_VBYTES = 68;
const OUTPUT_VBYTES = 43;
const OVERHEAD_VBYTES = 11;
/** Change below this is not worth an output; batches that would leave less are refused instead. */
const CHANGE_SATS_MIN = 1_000;

export function buildBatch(options: {
  readonly key: DepositKey;
  readonly batchId: string;
  readonly withdrawals: readonly { readonly withdrawalId: string; readonly destination: string; readonly amountSats: number }[];
  readonly coins: readonly WalletCoin[];
  readonly feeRateSatVb: number;
  readonly changeIndex: number;
  /** Spend exactly `coins`, in their order (a fee bump re-spends its batch's inputs). */
  readonly spendAll?: boolean;
}): BuiltBatch {
  const { key, withdrawals } = options;
  if (key.type !== 'p2wpkh') throw new BatchError('batches spend native segwit (BIP84) deposits only for now');
  if (withdrawals.length === 0) throw new BatchError('a batch needs at least one withdrawal');
  const network = key.network === 'mainnet' ? networks.bitcoin : key.network === 'testnet' ? networks.testnet : networks.regtest;
  const total = withdrawals.reduce((sum, withdrawal) => sum + withdrawal.amountSats, 0);
  // Largest coins first, until they cover the outputs, the change and the fee of what is chosen.
  const chosen: WalletCoin[] = [];
  let inSats = 0;
  const feeFor = (inputs: number): number => Math.ceil(options.feeRateSatVb * (OVERHEAD_VBYTES + inputs * INPUT_VBYTES + (withdrawals.length + 1) * OUTPUT_VBYTES));
  const ordered = options.spendAll === true ? options.coins : [...options.coins].sort((a, b) => b.valueSats - a.valueSats);
  for (const coin of ordered) {
    if (options.spendAll !== true && inSats >= total + CHANGE_SATS_MIN + feeFor(chosen.length)) break;
    chosen.push(coin);
    inSats += coin.valueSats;
  }
  const feeSats = feeFor(chosen.length);
  const changeSats = inSats - total - feeSats;
  if (changeSats < CHANGE_SATS_MIN) throw new BatchError(`the wallet holds ${inSats} sat in ${chosen.length} coins, short of ${total} sat + ${feeSats} sat fee + change`);
  const psbt = new Psbt({ network });
  for (const coin of chosen) {
    const publicKey = chainPublicKey(key, coin.chain, coin.index);
    const script = bitcoinAddress.toOutputScript(chainAddress(key, coin.chain, coin.index), network);
    psbt.addInput({
      hash: coin.txid,
      index: coin.vout,
      witnessUtxo: { script, value: BigInt(coin.valueSats) },
      bip32Derivation: [{ masterFingerprint: fingerprintBytes(key.accountFingerprint), path: `m/${coin.chain}/${coin.index}`, pubkey: publicKey }],
      sequence: 0xfffffffd, // BIP125: a stuck batch can be bumped
    });
  }
  for (const withdrawal of withdrawals) psbt.addOutput({ address: withdrawal.destination, value: BigInt(withdrawal.amountSats) });
  psbt.addOutput({
    address: chainAddress(key, 1, options.changeIndex),
    value: BigInt(changeSats),
    bip32Derivation: [{ masterFingerprint: fingerprintBytes(key.accountFingerprint), path: `m/1/${options.changeIndex}`, pubkey: chainPublicKey(key, 1, options.changeIndex) }],
  });
  return {
    psbtBase64: psbt.toBase64(),
    inputs: chosen,
    manifest: {
      batchId: options.batchId,
      outputs: withdrawals.map(({ withdrawalId, destination, amountSats }) => ({ withdrawalId, address: destination, amountSats })),
      change: { index: options.changeIndex, amountSats: changeSats },
      feeSats,
    },
  };
}

/** The manifest of a recorded batch's unsigned PSBT: what the payer checks it against. */
export function manifestOf(
  batch: { readonly batchId: string; readonly changeIndex: number; readonly unsigned: { readonly feeSats: number; readonly changeSats: number } },
  withdrawals: readonly { readonly withdrawalId: string; readonly destination: string; readonly amountSats: number }[],
): BatchManifest {
  return {
    batchId: batch.batchId,
    outputs: withdrawals.map(({ withdrawalId, destination, amountSats }) => ({ withdrawalId, address: destination, amountSats })),
    change: { index: batch.changeIndex, amountSats: batch.unsigned.changeSats },
    feeSats: batch.unsigned.feeSats,
  };
}

function fingerprintBytes(fingerprint: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(fingerprint >>> 0);
  return bytes;
}

/**
 * Before the broadcast: the signed transaction spends exactly the PSBT's inputs and pays exactly
 * its outputs (checked with this side's library), and every input's signature verifies against
 * the output it spends (BIP143, the devnet's verifier); returns its txid, which is recorded
 * before the transaction is sent anywhere.
 */
export function verifySignedBatch(rawHex: string, psbtBase64: string): string {
  let signed: BitcoinTransaction;
  try {
    signed = BitcoinTransaction.fromHex(rawHex);
  } catch (error) {
    throw new BatchError(`the signed batch is not a transaction: ${(error as Error).message}`);
  }
  const unsigned = Psbt.fromBase64(psbtBase64).txInputs;
  const outputs = Psbt.fromBase64(psbtBase64).txOutputs;
  if (signed.ins.length !== unsigned.length || signed.outs.length !== outputs.length) throw new BatchError('the signed batch has other inputs or outputs than the PSBT');
  signed.ins.forEach((input, index) => {
    const wanted = unsigned[index]!;
    if (Buffer.compare(Buffer.from(input.hash), Buffer.from(wanted.hash)) !== 0 || input.index !== wanted.index) throw new BatchError(`input ${index} is not the PSBT's`);
    if (input.witness.length === 0) throw new BatchError(`input ${index} is not signed`);
  });
  signed.outs.forEach((output, index) => {
    const wanted = outputs[index]!;
    if (Buffer.compare(Buffer.from(output.script), Buffer.from(wanted.script)) !== 0 || output.value !== wanted.value) throw new BatchError(`output ${index} is not the PSBT's`);
  });
  const prevouts = Psbt.fromBase64(psbtBase64).data.inputs.map((input, index) => {
    if (input.witnessUtxo === undefined) throw new BatchError(`input ${index} of the PSBT has no witness UTXO`);
    return { script: new Uint8Array(input.witnessUtxo.script), valueSats: Number(input.witnessUtxo.value) };
  });
  let problem: Error | null;
  try {
    problem = verifyInputs(parseTransaction(hex.decode(rawHex.toLowerCase())), prevouts);
  } catch (error) {
    problem = error as Error;
  }
  if (problem !== null) throw new BatchError(`the signed batch does not verify: ${problem.message}`);
  return signed.getId();
}

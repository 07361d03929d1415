// The devnet's answers in Esplora's JSON shapes (Blockstream/esplora API.md, as electrs's rest.rs
// serializes them: field names, field order, omitted-when-empty fields), so that an unmodified
// Esplora client reads the devnet as it reads blockstream.info.
import { hex } from '@scure/base';
import type { DevnetBlockStatus, DevnetBlockView, DevnetOutspend, DevnetTxStatus, DevnetTxView, DevnetUtxo } from './devnet.js';
import { scriptAddress, scriptAsm, scriptType, type DevnetTxOutput } from './devnet-tx.js';

export interface EsploraStatus {
  readonly confirmed: boolean;
  readonly block_height?: number;
  readonly block_hash?: string;
  readonly block_time?: number;
}

export interface EsploraTxOut {
  readonly scriptpubkey: string;
  readonly scriptpubkey_asm: string;
  readonly scriptpubkey_type: string;
  readonly scriptpubkey_address?: string;
  readonly value: number;
}

export interface EsploraTxIn {
  readonly txid: string;
  readonly vout: number;
  readonly prevout: EsploraTxOut | null;
  readonly scriptsig: string;
  readonly scriptsig_asm: string;
  readonly witness?: readonly string[];
  readonly is_coinbase: boolean;
  readonly sequence: number;
}

export interface EsploraTx {
  readonly txid: string;
  readonly version: number;
  readonly locktime: number;
  readonly vin: readonly EsploraTxIn[];
  readonly vout: readonly EsploraTxOut[];
  readonly size: number;
  readonly weight: number;
  readonly fee: number;
  readonly status: EsploraStatus;
}

export interface EsploraBlock {
  readonly id: string;
  readonly height: number;
  readonly version: number;
  readonly timestamp: number;
  readonly tx_count: number;
  readonly size: number;
  readonly weight: number;
  readonly merkle_root: string;
  readonly previousblockhash: string | null;
  readonly mediantime: number;
  readonly nonce: number;
  readonly bits: number;
  readonly difficulty: number;
}

export function esploraStatus(status: DevnetTxStatus): EsploraStatus {
  if (!status.confirmed) return { confirmed: false };
  return { confirmed: true, block_height: status.blockHeight, block_hash: status.blockHash, block_time: status.blockTime };
}

export function esploraOutput(output: DevnetTxOutput): EsploraTxOut {
  const address = scriptAddress(output.script);
  return {
    scriptpubkey: hex.encode(output.script),
    scriptpubkey_asm: scriptAsm(output.script),
    scriptpubkey_type: scriptType(output.script),
    ...(address === undefined ? {} : { scriptpubkey_address: address }),
    value: output.valueSats,
  };
}

export function esploraTx(view: DevnetTxView): EsploraTx {
  const { tx } = view;
  return {
    txid: tx.txid,
    // electrs prints the version as u32 and the locktime as the consensus u32.
    version: tx.version >>> 0,
    locktime: tx.lockTime,
    vin: tx.inputs.map((input, index) => {
      const prevout = view.prevouts[index] ?? null;
      return {
        txid: input.txid,
        vout: input.vout,
        prevout: prevout === null ? null : esploraOutput(prevout),
        scriptsig: hex.encode(input.scriptSig),
        scriptsig_asm: scriptAsm(input.scriptSig),
        ...(input.witness.length === 0 ? {} : { witness: input.witness.map((item) => hex.encode(item)) }),
        is_coinbase: tx.coinbase,
        sequence: input.sequence,
      };
    }),
    vout: tx.outputs.map(esploraOutput),
    size: tx.size,
    weight: tx.weight,
    fee: view.feeSats,
    status: esploraStatus(view.status),
  };
}

export function esploraBlock(block: DevnetBlockView): EsploraBlock {
  return {
    id: block.hash,
    height: block.height,
    version: block.version >>> 0,
    timestamp: block.time,
    tx_count: block.txids.length,
    size: block.size,
    weight: block.weight,
    merkle_root: block.merkleRoot,
    previousblockhash: block.prevHash,
    mediantime: block.medianTime,
    nonce: block.nonce,
    bits: block.bits,
    difficulty: difficulty(block.bits),
  };
}

/** electrs answers a block outside the best chain (stale or unknown) with nulls. */
export function esploraBlockStatus(status: DevnetBlockStatus | undefined): { readonly in_best_chain: boolean; readonly height: number | null; readonly next_best: string | null } {
  if (status === undefined || !status.inBestChain) return { in_best_chain: false, height: null, next_best: null };
  return { in_best_chain: true, height: status.height, next_best: status.nextBest };
}

export function esploraOutspend(outspend: DevnetOutspend): { readonly spent: boolean; readonly txid?: string; readonly vin?: number; readonly status?: EsploraStatus } {
  if (!outspend.spent) return { spent: false };
  return { spent: true, txid: outspend.txid, vin: outspend.vin, status: esploraStatus(outspend.status) };
}

export function esploraUtxo(utxo: DevnetUtxo): { readonly txid: string; readonly vout: number; readonly status: EsploraStatus; readonly value: number } {
  return { txid: utxo.txid, vout: utxo.vout, status: esploraStatus(utxo.status), value: utxo.valueSats };
}

/** Difficulty relative to the mainnet minimum (0x1d00ffff), as rust-bitcoin's difficulty_float. */
export function difficulty(bits: number): number {
  const exponent = bits >>> 24;
  const mantissa = bits & 0x007fffff;
  return (0xffff / mantissa) * 2 ** (8 * (0x1d - exponent));
}

// The devnet's view of one transaction: parsed once with @scure/btc-signer from real serialized
// bytes, with the numbers the chain and the mempool need (txid, wtxid, weight, values in sats) and
// the helpers shared by every devnet module: regtest network parameters, the refusal type,
// output-script classification, dust and addresses. Parsing, hashing and address encoding are the
// libraries'; nothing here is curve or hash code.
import { btcSignerNetwork } from './deposit-keys.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hex } from '@scure/base';
import { Address, OP, OutScript, Transaction } from '@scure/btc-signer';
import { assert } from '../assert.js';

/** Regtest: testnet's base58 versions, bech32 prefix `bcrt`. */
export const DEVNET_NETWORK = btcSignerNetwork('regtest');
export const COIN_SATS = 100_000_000;
export const MONEY_SATS_MAX = 21_000_000 * COIN_SATS;
/** Bitcoin Core's MAX_STANDARD_TX_WEIGHT and MIN_STANDARD_TX_NONWITNESS_SIZE. */
export const TX_WEIGHT_MAX = 400_000;
export const TX_NONWITNESS_BYTES_MIN = 65;
/** Bitcoin Core's DUST_RELAY_TX_FEE, in sat/vB. */
const DUST_RELAY_SATS_PER_VBYTE = 3;
/** Sequence 0xffffffff input of a coinbase, and its all-zero prevout txid. */
export const COINBASE_VOUT = 0xffffffff;
export const NULL_TXID = '0'.repeat(64);

assert(MONEY_SATS_MAX <= Number.MAX_SAFE_INTEGER, 'amounts in sats fit a double exactly');

/** Why the devnet refused something; `code` is stable and short, `detail` says what exactly. */
export type DevnetRefusalCode =
  | 'decode' | 'non-standard' | 'dust' | 'coinbase' | 'duplicate' | 'duplicate-inputs' | 'bad-amount'
  | 'missing-inputs' | 'double-spend' | 'immature-coinbase' | 'outputs-exceed-inputs' | 'non-final'
  | 'min-relay-fee' | 'insufficient-fee' | 'too-many-replacements' | 'replacement-spends-conflicting'
  | 'too-long-mempool-chain' | 'mempool-full' | 'bad-signature' | 'non-standard-input'
  | 'bad-address' | 'bad-request' | 'unknown-block' | 'unknown-tx' | 'not-replaceable' | 'no-funds';

export class DevnetRefusal extends Error {
  override name = 'DevnetRefusal';
  constructor(readonly code: DevnetRefusalCode, readonly detail: string) {
    super(`${code}: ${detail}`);
  }
}

export function refuse(code: DevnetRefusalCode, detail: string): never {
  throw new DevnetRefusal(code, detail);
}

export interface DevnetTxInput {
  /** The spent output's transaction, display (reversed) hex. */
  readonly txid: string;
  readonly vout: number;
  readonly sequence: number;
  readonly scriptSig: Uint8Array;
  readonly witness: readonly Uint8Array[];
}

export interface DevnetTxOutput {
  readonly script: Uint8Array;
  readonly valueSats: number;
}

export interface DevnetTx {
  readonly txid: string;
  readonly wtxid: string;
  /** The serialization as received (with witness): what /tx/:txid/hex answers. */
  readonly raw: Uint8Array;
  readonly version: number;
  readonly lockTime: number;
  readonly inputs: readonly DevnetTxInput[];
  readonly outputs: readonly DevnetTxOutput[];
  /** Bytes of `raw`, weight units, and virtual bytes (weight / 4 rounded up). */
  readonly size: number;
  readonly weight: number;
  readonly vsize: number;
  readonly coinbase: boolean;
  /** btc-signer's transaction, kept for the BIP143/BIP341 signature hashes. */
  readonly parsed: Transaction;
}

/**
 * Parses a serialized transaction. Refuses ('decode') bytes that are not exactly one canonical
 * transaction: trailing bytes, a re-serialization that differs, no inputs or outputs, amounts out of
 * range ('bad-amount'). Says nothing yet about whether it may be spent; that is the chain's job.
 */
export function parseTransaction(raw: Uint8Array): DevnetTx {
  let parsed: Transaction;
  try {
    parsed = Transaction.fromRaw(raw, { allowUnknownOutputs: true, allowUnknownInputs: true, allowUnknownVersion: true, disableScriptCheck: true });
  } catch (error) {
    return refuse('decode', `TX decode failed: ${(error as Error).message}`);
  }
  const full = parsed.toBytes(true, true);
  if (!equalBytes(full, raw)) refuse('decode', 'TX decode failed: the bytes are not a canonical serialization');
  if (parsed.inputsLength === 0 || parsed.outputsLength === 0) refuse('decode', 'TX decode failed: a transaction needs inputs and outputs');
  const inputs: DevnetTxInput[] = [];
  for (let index = 0; index < parsed.inputsLength; index++) {
    const input = parsed.getInput(index);
    assert(input.txid !== undefined && input.index !== undefined, 'a parsed input has its prevout');
    inputs.push({ txid: hex.encode(input.txid), vout: input.index, sequence: input.sequence ?? 0xffffffff, scriptSig: input.finalScriptSig ?? new Uint8Array(0), witness: input.finalScriptWitness ?? [] });
  }
  const outputs: DevnetTxOutput[] = [];
  let totalSats = 0;
  for (let index = 0; index < parsed.outputsLength; index++) {
    const output = parsed.getOutput(index);
    assert(output.script !== undefined && output.amount !== undefined, 'a parsed output has script and amount');
    if (output.amount > BigInt(MONEY_SATS_MAX)) refuse('bad-amount', `output ${index} is worth more than all bitcoin`);
    const valueSats = Number(output.amount);
    totalSats += valueSats;
    if (totalSats > MONEY_SATS_MAX) refuse('bad-amount', 'the outputs together are worth more than all bitcoin');
    outputs.push({ script: output.script, valueSats });
  }
  const first = inputs[0]!;
  // BIP141 weight from the two serializations (btc-signer's getter needs finalized inputs).
  const weight = parsed.toBytes(true, false).length * 3 + full.length;
  return {
    txid: parsed.id,
    wtxid: hex.encode(sha256(sha256(full)).reverse()),
    raw: full,
    version: parsed.version,
    lockTime: parsed.lockTime,
    inputs,
    outputs,
    size: full.length,
    weight,
    vsize: Math.ceil(weight / 4),
    coinbase: inputs.length === 1 && first.txid === NULL_TXID && first.vout === COINBASE_VOUT,
    parsed,
  };
}

/** Decodes a hex transaction as a client sends it (whitespace around allowed), or refuses ('decode'). */
export function decodeTransactionHex(text: string): Uint8Array {
  const trimmed = text.trim();
  if (trimmed.length === 0 || trimmed.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(trimmed)) refuse('decode', 'TX decode failed: not an even-length hex string');
  return hex.decode(trimmed.toLowerCase());
}

export function outpointKey(txid: string, vout: number): string {
  return `${txid}:${vout}`;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

/** Output script types, named as Esplora names them. */
export type ScriptType = 'empty' | 'op_return' | 'p2pk' | 'p2pkh' | 'p2sh' | 'v0_p2wpkh' | 'v0_p2wsh' | 'v1_p2tr' | 'unknown';

const OUT_SCRIPT_TYPES: Readonly<Record<string, ScriptType>> = { pk: 'p2pk', pkh: 'p2pkh', sh: 'p2sh', wpkh: 'v0_p2wpkh', wsh: 'v0_p2wsh', tr: 'v1_p2tr' };

export function scriptType(script: Uint8Array): ScriptType {
  if (script.length === 0) return 'empty';
  if (script[0] === OP.RETURN) return 'op_return';
  return OUT_SCRIPT_TYPES[decodeOutScript(script).type] ?? 'unknown';
}

/** btc-signer's template match of an output script; 'unknown' for scripts it cannot even parse. */
export function decodeOutScript(script: Uint8Array) {
  try {
    return OutScript.decode(script);
  } catch {
    return { type: 'unknown' as const, script }; // e.g. a push past the end or an undefined opcode
  }
}

/** A segwit program of any version (BIP141: a version opcode and one 2-40 byte push). */
export function isWitnessProgram(script: Uint8Array): boolean {
  const version = script[0];
  if (version === undefined || !(version === OP.OP_0 || (version >= OP.OP_1 && version <= OP.OP_16))) return false;
  return script.length >= 4 && script.length <= 42 && script[1] === script.length - 2;
}

/**
 * Whether Bitcoin Core relays an output with this script: the known templates, OP_RETURN (any
 * size, as Core 30 does), bare multisig and witness programs of future versions.
 */
export function isStandardOutput(script: Uint8Array): boolean {
  const type = scriptType(script);
  if (type !== 'unknown') return type !== 'empty';
  if (isWitnessProgram(script)) return true;
  return decodeOutScript(script).type === 'ms';
}

/** Bitcoin Core's GetDustThreshold at the default dust relay fee: 294 sats for P2WPKH, 330 for P2TR, 546 for P2PKH. */
export function dustThresholdSats(script: Uint8Array): number {
  if (script[0] === OP.RETURN) return 0;
  const outputBytes = 8 + compactSizeBytes(script.length) + script.length;
  // The input that would spend it: outpoint, scriptSig length, sequence, plus a signature and key.
  const spendBytes = isWitnessProgram(script) ? 32 + 4 + 1 + Math.floor(107 / 4) + 4 : 32 + 4 + 1 + 107 + 4;
  return (outputBytes + spendBytes) * DUST_RELAY_SATS_PER_VBYTE;
}

function compactSizeBytes(length: number): number {
  return length < 0xfd ? 1 : length <= 0xffff ? 3 : 5;
}

/** The output script an address pays, or a 'bad-address' refusal (wrong network, checksum, format). */
export function addressScript(address: string): Uint8Array {
  if (typeof address !== 'string' || address.length < 14 || address.length > 90 || !/^[A-Za-z0-9]+$/.test(address)) refuse('bad-address', 'not a regtest address');
  try {
    return OutScript.encode(Address(DEVNET_NETWORK).decode(address));
  } catch (error) {
    return refuse('bad-address', `not a regtest address: ${(error as Error).message}`);
  }
}

/** The regtest address of an output script, where it has one. */
export function scriptAddress(script: Uint8Array): string | undefined {
  const decoded = decodeOutScript(script);
  if (!['pkh', 'sh', 'wpkh', 'wsh', 'tr'].includes(decoded.type)) return undefined;
  try {
    return Address(DEVNET_NETWORK).encode(decoded);
  } catch {
    return undefined; // e.g. a taproot program that is not a valid x-only key
  }
}

const OPCODE_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(OP).map(([name, code]) => [code, name]));

/** A script in rust-bitcoin's assembly notation (what Esplora's `*_asm` fields show). */
export function scriptAsm(script: Uint8Array): string {
  const parts: string[] = [];
  let index = 0;
  while (index < script.length) {
    const code = script[index++]!;
    let length = -1;
    let name: string;
    if (code >= 1 && code <= 75) [length, name] = [code, `OP_PUSHBYTES_${code}`];
    else if (code >= OP.PUSHDATA1 && code <= OP.PUSHDATA4) {
      const width = code === OP.PUSHDATA1 ? 1 : code === OP.PUSHDATA2 ? 2 : 4;
      if (index + width > script.length) return [...parts, '<unexpected end>'].join(' ');
      length = 0;
      for (let byte = width - 1; byte >= 0; byte--) length = length * 256 + script[index + byte]!;
      index += width;
      name = `OP_PUSHDATA${width}`;
    } else name = opcodeName(code);
    if (length < 0) {
      parts.push(name);
      continue;
    }
    if (index + length > script.length) return [...parts, name, '<push past end>'].join(' ');
    parts.push(length === 0 ? name : `${name} ${hex.encode(script.subarray(index, index + length))}`);
    index += length;
  }
  return parts.join(' ');
}

function opcodeName(code: number): string {
  if (code === OP.OP_0) return 'OP_0';
  if (code === OP['1NEGATE']) return 'OP_PUSHNUM_NEG1';
  if (code >= OP.OP_1 && code <= OP.OP_16) return `OP_PUSHNUM_${code - OP.OP_1 + 1}`;
  if (code === OP.CHECKLOCKTIMEVERIFY) return 'OP_CLTV';
  if (code === OP.CHECKSEQUENCEVERIFY) return 'OP_CSV';
  if (code === 0xff) return 'OP_INVALIDOPCODE';
  const name = OPCODE_NAMES.get(code);
  return name === undefined ? `OP_RETURN_${code}` : `OP_${name}`;
}

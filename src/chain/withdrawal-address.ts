// A withdrawal's destination: the address a participant types, checked before any money moves.
// It must be a Bitcoin address of the exchange's network whose output script we know how to
// spend to and fee: P2PKH and P2SH (base58check), P2WPKH and P2WSH (witness v0, bech32) and P2TR
// (witness v1, 32 bytes, bech32m). Future segwit versions (v2..16) and v1 programs of other
// lengths are valid addresses (BIP350) but refused by policy. Checksums and encodings are
// @scure/base's; what is built here is the classification (BIP173/BIP350/BIP141 rules) and the
// output script. Nothing here throws: every failure is a problem code and a short message, and a
// message never repeats the input (a pasted private key must not end up in a log), at most a
// short human-readable part of it.
import { bech32, bech32m, createBase58check } from '@scure/base';
import { sha256 } from '@noble/hashes/sha2.js';
import type { NetworkName } from '../crypto/networks.js';

export type WithdrawalAddressProblem =
  /** Not an address at all: bad checksum, characters, length or witness program, mixed case, … */
  | 'address_invalid'
  /** A valid address of another network. */
  | 'address_wrong_network'
  /** Valid, but of an output type refused by policy (witness v2..16, v1 not 32 bytes). */
  | 'address_unsupported'
  /** The amount is below the dust limit of the destination's script type. */
  | 'amount_below_dust';

export type WithdrawalAddressType = 'p2pkh' | 'p2sh' | 'p2wpkh' | 'p2wsh' | 'p2tr';

export interface WithdrawalDestination {
  /** The address, normalised: bech32/bech32m lower-cased, base58 as given. */
  readonly address: string;
  readonly type: WithdrawalAddressType;
  /** The output script (scriptPubKey) paying to it. */
  readonly script: Uint8Array;
  /** The smallest amount Bitcoin Core relays to this script type (see dustLimitSats). */
  readonly dustSats: number;
}

/** Any valid Bitcoin address, decoded but not yet judged by network or policy. */
export interface DecodedAddress {
  /** Normalised: bech32/bech32m lower-cased, base58 as given. */
  readonly address: string;
  readonly encoding: 'base58' | 'bech32' | 'bech32m';
  /** The networks it belongs to: testnet and regtest share base58 versions (not bech32 prefixes). */
  readonly networks: readonly NetworkName[];
  /** 'p2pkh'/'p2sh' for base58, otherwise the witness version 0..16. */
  readonly program: { readonly kind: 'p2pkh' | 'p2sh'; readonly hash: Uint8Array } | { readonly kind: 'witness'; readonly version: number; readonly data: Uint8Array };
  readonly script: Uint8Array;
}

export type ParseWithdrawalAddressResult = { ok: true; destination: WithdrawalDestination } | { ok: false; problem: WithdrawalAddressProblem; detail: string };

/** Refused before any decoding: bech32 addresses are at most 90 characters, base58 ones 35. */
export const MAX_ADDRESS_CHARS = 100;

/** BIP173: a bech32 string is at most 90 characters. */
const BECH32_MAX_CHARS = 90;

/**
 * Bitcoin Core's dust threshold at its default dust relay fee of 3 sat/vB: 3 × (output size +
 * the size of the input that later spends it, witness discounted). An output below it is not relayed.
 */
const DUST_SATS: Readonly<Record<WithdrawalAddressType, number>> = { p2pkh: 546, p2sh: 540, p2wpkh: 294, p2wsh: 330, p2tr: 330 };

const SEGWIT_HRPS: ReadonlyMap<string, NetworkName> = new Map([
  ['bc', 'mainnet'],
  ['tb', 'testnet'],
  ['bcrt', 'regtest'],
]);

/** Base58check version bytes of P2PKH and P2SH addresses. */
const BASE58_VERSIONS: ReadonlyMap<number, { readonly kind: 'p2pkh' | 'p2sh'; readonly networks: readonly NetworkName[] }> = new Map([
  [0x00, { kind: 'p2pkh', networks: ['mainnet'] }],
  [0x05, { kind: 'p2sh', networks: ['mainnet'] }],
  [0x6f, { kind: 'p2pkh', networks: ['testnet', 'regtest'] }],
  [0xc4, { kind: 'p2sh', networks: ['testnet', 'regtest'] }],
]);

const NETWORKS: readonly NetworkName[] = ['mainnet', 'testnet', 'regtest'];

const base58check = createBase58check(sha256);
const BASE58_CHARS = /^[1-9A-HJ-NP-Za-km-z]+$/;
const BECH32_DATA_CHARS = /^[qpzry9x8gf2tvdw0s3jn54khce6mua7l]*$/;
const PRINTABLE_ASCII = /^[\x21-\x7e]*$/;

const OP_0 = 0x00;
const OP_1 = 0x51;
const OP_DUP = 0x76;
const OP_HASH160 = 0xa9;
const OP_EQUAL = 0x87;
const OP_EQUALVERIFY = 0x88;
const OP_CHECKSIG = 0xac;

type DecodeResult = { ok: true; decoded: DecodedAddress } | { ok: false; problem: 'address_invalid'; detail: string };

const invalid = (detail: string): { ok: false; problem: 'address_invalid'; detail: string } => ({ ok: false, problem: 'address_invalid', detail });

/** A short, escaped excerpt of (untrusted) text for a message. */
function excerpt(text: string, max = 16): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

/** Decodes any mainnet, testnet or regtest address; judges neither its network nor the policy. Never throws. */
export function decodeBitcoinAddress(text: string): DecodeResult {
  try {
    return decodeUnchecked(text);
  } catch {
    // Nothing above is expected to throw; an input must still never make the caller fail.
    return invalid('not a Bitcoin address');
  }
}

function decodeUnchecked(text: string): DecodeResult {
  if (typeof text !== 'string') return invalid('not a Bitcoin address: not text');
  if (text.length === 0) return invalid('no address given');
  if (text.length > MAX_ADDRESS_CHARS) return invalid(`not a Bitcoin address: ${text.length} characters, where an address has at most ${BECH32_MAX_CHARS}`);
  if (/^\s|\s$/u.test(text)) return invalid('the address has spaces or line breaks around it; give the address alone');
  if (!PRINTABLE_ASCII.test(text)) return invalid('not a Bitcoin address: it contains a space, a control character or a character outside ASCII');
  const lower = text.toLowerCase();
  const separator = lower.lastIndexOf('1');
  const hrp = separator > 0 ? lower.slice(0, separator) : '';
  const hrpNetwork = SEGWIT_HRPS.get(hrp);
  if (hrpNetwork !== undefined) return decodeSegwit(text, lower, hrp, hrpNetwork);
  if (BASE58_CHARS.test(text)) return decodeBase58(text);
  // Neither a segwit prefix of ours nor base58: say whether it is bech32 for something else.
  if (separator > 0 && (bech32.decodeUnsafe(lower, BECH32_MAX_CHARS) !== undefined || bech32m.decodeUnsafe(lower, BECH32_MAX_CHARS) !== undefined)) {
    return invalid(`not a Bitcoin address: unknown prefix ${excerpt(hrp)} (Bitcoin's are bc, tb and bcrt)`);
  }
  return invalid('not a Bitcoin address');
}

function decodeBase58(text: string): DecodeResult {
  let payload: Uint8Array;
  try {
    payload = base58check.decode(text);
  } catch {
    return invalid('not a Bitcoin address: its checksum does not match (a typing error?)');
  }
  if (payload.length !== 21) return invalid(`not a Bitcoin address: it decodes to ${payload.length} bytes, where an address has 21`);
  const version = BASE58_VERSIONS.get(payload[0]!);
  if (version === undefined) return invalid(`not a Bitcoin address: unknown version byte 0x${payload[0]!.toString(16).padStart(2, '0')}`);
  const hash = payload.slice(1);
  const script = version.kind === 'p2pkh' ? Uint8Array.of(OP_DUP, OP_HASH160, 20, ...hash, OP_EQUALVERIFY, OP_CHECKSIG) : Uint8Array.of(OP_HASH160, 20, ...hash, OP_EQUAL);
  return { ok: true, decoded: { address: text, encoding: 'base58', networks: version.networks, program: { kind: version.kind, hash }, script } };
}

function decodeSegwit(text: string, lower: string, hrp: string, network: NetworkName): DecodeResult {
  if (text !== lower && text !== text.toUpperCase()) return invalid('not a Bitcoin address: it mixes upper and lower case');
  if (lower.length > BECH32_MAX_CHARS) return invalid(`not a Bitcoin address: ${lower.length} characters, where a segwit address has at most ${BECH32_MAX_CHARS}`);
  const data = lower.slice(hrp.length + 1);
  if (!BECH32_DATA_CHARS.test(data)) return invalid('not a Bitcoin address: it contains a character that bech32 does not use (b, i or o, or a character outside its alphabet)');
  const asBech32 = bech32.decodeUnsafe(lower, BECH32_MAX_CHARS);
  const asBech32m = asBech32 === undefined ? bech32m.decodeUnsafe(lower, BECH32_MAX_CHARS) : undefined;
  const decoded = asBech32 ?? asBech32m;
  if (decoded === undefined) return invalid('not a Bitcoin address: its checksum does not match (a typing error?)');
  // The checks in the order of BIP350's reference decoder (segwit_addr.py), so that each BIP173
  // and BIP350 test vector fails for the reason the BIPs give.
  const words = decoded.words;
  if (words.length === 0) return invalid('not a Bitcoin address: no witness version or program');
  const version = words[0]!;
  const program = bech32.fromWordsUnsafe(words.slice(1));
  if (program === undefined) return invalid('not a Bitcoin address: its witness program has invalid padding');
  if (program.length < 2 || program.length > 40) return invalid(`not a Bitcoin address: a witness program of ${program.length} byte${program.length === 1 ? '' : 's'} (2..40)`);
  if (version > 16) return invalid(`not a Bitcoin address: witness version ${version} does not exist (0..16)`);
  if (version === 0 && program.length !== 20 && program.length !== 32) return invalid(`not a Bitcoin address: a witness v0 program of ${program.length} bytes (20 or 32)`);
  // BIP350: v0 is checksummed with bech32, v1..16 with bech32m; no string is valid as both.
  if (version === 0 && asBech32 === undefined) return invalid('not a Bitcoin address: a witness v0 address must use the bech32 checksum, not bech32m (BIP350)');
  if (version !== 0 && asBech32 !== undefined) return invalid(`not a Bitcoin address: a witness v${version} address must use the bech32m checksum, not bech32 (BIP350)`);
  const script = Uint8Array.of(version === 0 ? OP_0 : OP_1 + version - 1, program.length, ...program);
  return { ok: true, decoded: { address: lower, encoding: asBech32 !== undefined ? 'bech32' : 'bech32m', networks: [network], program: { kind: 'witness', version, data: program }, script } };
}

/** The output type a decoded address pays to, or why it is refused by policy. */
function outputType(decoded: DecodedAddress): { ok: true; type: WithdrawalAddressType } | { ok: false; detail: string } {
  const program = decoded.program;
  if (program.kind !== 'witness') return { ok: true, type: program.kind };
  if (program.version === 0) return { ok: true, type: program.data.length === 20 ? 'p2wpkh' : 'p2wsh' };
  if (program.version === 1) {
    if (program.data.length === 32) return { ok: true, type: 'p2tr' };
    return { ok: false, detail: `a witness v1 program of ${program.data.length} bytes is not a taproot output (32 bytes); withdrawals to it are not supported` };
  }
  return { ok: false, detail: `a witness v${program.version} address (a future segwit version) is not supported for withdrawals` };
}

/**
 * Checks `text` as the destination of a withdrawal on `network`: a valid address (exactly as
 * given: no surrounding whitespace, one letter case), of that network, of a type we pay to.
 * Never throws.
 */
export function parseWithdrawalAddress(text: string, network: NetworkName): ParseWithdrawalAddressResult {
  const result = decodeBitcoinAddress(text);
  if (!result.ok) return result;
  const decoded = result.decoded;
  if (!NETWORKS.includes(network)) return { ok: false, problem: 'address_wrong_network', detail: 'the exchange runs on no known network' };
  if (!decoded.networks.includes(network)) {
    return { ok: false, problem: 'address_wrong_network', detail: `a ${decoded.networks.join('/')} address, but withdrawals here are on ${network}` };
  }
  const type = outputType(decoded);
  if (!type.ok) return { ok: false, problem: 'address_unsupported', detail: type.detail };
  return { ok: true, destination: { address: decoded.address, type: type.type, script: decoded.script, dustSats: dustLimitSats(type.type) } };
}

/** Bitcoin Core's dust limit at 3 sat/vB for an output of `type`: p2pkh 546, p2sh 540, p2wpkh 294, p2wsh and p2tr 330. */
export function dustLimitSats(type: WithdrawalAddressType): number {
  return DUST_SATS[type];
}

/** Whether `amountSats` may be paid to `destination`: a whole number of satoshis, not below its dust limit. */
export function checkWithdrawalAmount(destination: WithdrawalDestination, amountSats: number): { ok: true } | { ok: false; problem: 'amount_below_dust'; detail: string } {
  const dust = dustLimitSats(destination.type);
  if (!Number.isSafeInteger(amountSats)) return { ok: false, problem: 'amount_below_dust', detail: `the amount must be a whole number of satoshis, at least ${dust} for a ${destination.type} output` };
  if (amountSats < dust) return { ok: false, problem: 'amount_below_dust', detail: `${amountSats} sats is below the dust limit of ${dust} sats for a ${destination.type} output` };
  return { ok: true };
}

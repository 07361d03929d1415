// Blocks as Bitcoin builds them, at regtest parameters: an 80-byte header (version, previous hash,
// merkle root of the txids, time, bits, nonce) hashed with double SHA-256, a BIP34 coinbase with a
// BIP141 witness commitment, and regtest's genesis block byte for byte. Regtest's proof of work is
// a coin flip per nonce (target 0x7fffff << 232), so headers are ground to a valid nonce: the blocks
// would pass Bitcoin Core's header check. Hashing is @noble/hashes'; serialization btc-signer's.
import { concatBytes } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hex } from '@scure/base';
import { CompactSize, RawTx, Script } from '@scure/btc-signer';
import { assert } from '../assert.js';
import { COIN_SATS, COINBASE_VOUT, parseTransaction, type DevnetTx } from './devnet-tx.js';

/** Regtest's compact target (powLimit) and halving interval. */
export const REGTEST_BITS = 0x207fffff;
export const HALVING_INTERVAL_BLOCKS = 150;
export const COINBASE_MATURITY_BLOCKS = 100;
/** Bitcoin Core's MAX_BLOCK_WEIGHT, and what the template keeps free for the coinbase. */
export const BLOCK_WEIGHT_MAX = 4_000_000;
export const COINBASE_WEIGHT_RESERVED = 4_000;
/** Version bits top bits (BIP9), as Core's block templates set them. */
export const BLOCK_VERSION = 0x20000000;
/** Nonces tried before giving up: each succeeds with probability 1/2 at regtest difficulty. */
const NONCE_TRIES_MAX = 10_000;
const HEADER_BYTES = 80;
/** BIP141's witness commitment header, after OP_RETURN and a 36-byte push. */
const WITNESS_COMMITMENT_TAG = hex.decode('aa21a9ed');
/** Regtest's proof-of-work limit as big-endian hex; a block hash (display order) must not exceed it. */
const TARGET_HEX = '7fffff' + '00'.repeat(29);

export interface BlockHeader {
  readonly version: number;
  /** Display-order hex; the genesis block's is all zeros. */
  readonly prevHash: string;
  readonly merkleRoot: string;
  /** Seconds since the epoch. */
  readonly time: number;
  readonly bits: number;
  readonly nonce: number;
}

export function encodeHeader(header: BlockHeader): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, header.version, true);
  bytes.set(hex.decode(header.prevHash).reverse(), 4);
  bytes.set(hex.decode(header.merkleRoot).reverse(), 36);
  view.setUint32(68, header.time, true);
  view.setUint32(72, header.bits, true);
  view.setUint32(76, header.nonce, true);
  return bytes;
}

export function headerHash(header: BlockHeader): string {
  return hex.encode(sha256(sha256(encodeHeader(header))).reverse());
}

/** The merkle root over hashes given in display order (txids or wtxids), as Bitcoin computes it. */
export function merkleRoot(hashes: readonly string[]): string {
  assert(hashes.length > 0, 'a merkle tree needs at least one leaf');
  let level = hashes.map((hash) => hex.decode(hash).reverse());
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let index = 0; index < level.length; index += 2) {
      const left = level[index]!;
      const right = level[index + 1] ?? left; // an odd level pairs its last hash with itself
      const pair = new Uint8Array(64);
      pair.set(left, 0);
      pair.set(right, 32);
      next.push(sha256(sha256(pair)));
    }
    level = next;
  }
  return hex.encode(level[0]!.slice().reverse());
}

/** Regtest's block subsidy: 50 BTC halving every 150 blocks. */
export function subsidySats(height: number): number {
  const halvings = Math.floor(height / HALVING_INTERVAL_BLOCKS);
  return halvings >= 64 ? 0 : Math.floor((50 * COIN_SATS) / 2 ** halvings);
}

export interface CoinbaseSpec {
  readonly height: number;
  /** Makes every block this devnet mines unique, even at the same height with the same contents. */
  readonly extraNonce: number;
  readonly payeeScript: Uint8Array;
  readonly valueSats: number;
  /** Wtxids of the block's other transactions, for the witness commitment. */
  readonly wtxids: readonly string[];
}

/** A coinbase: BIP34 height first in the scriptSig, the reward, and the BIP141 witness commitment. */
export function buildCoinbase(spec: CoinbaseSpec): DevnetTx {
  assert(Number.isSafeInteger(spec.height) && spec.height > 0, 'a coinbase is at height 1 or more');
  const reserved = new Uint8Array(32);
  const witnessRoot = merkleRoot(['00'.repeat(32), ...spec.wtxids]);
  const commitmentInput = new Uint8Array(64);
  commitmentInput.set(hex.decode(witnessRoot).reverse(), 0);
  commitmentInput.set(reserved, 32);
  const commitment = new Uint8Array([...WITNESS_COMMITMENT_TAG, ...sha256(sha256(commitmentInput))]);
  const scriptSig = Script.encode([spec.height, spec.extraNonce, new TextEncoder().encode('bitwrk devnet')]);
  const raw = RawTx.encode({
    version: 2,
    segwitFlag: true,
    inputs: [{ txid: new Uint8Array(32), index: COINBASE_VOUT, finalScriptSig: scriptSig, sequence: 0xffffffff }],
    outputs: [
      { amount: BigInt(spec.valueSats), script: spec.payeeScript },
      { amount: 0n, script: Script.encode(['RETURN', commitment]) },
    ],
    witnesses: [[reserved]],
    lockTime: 0,
  });
  const coinbase = parseTransaction(raw);
  assert(coinbase.coinbase, 'the coinbase parses as one');
  return coinbase;
}

/** Finds a nonce for which the header meets regtest's target. */
export function grindHeader(header: Omit<BlockHeader, 'nonce'>): { readonly header: BlockHeader; readonly hash: string } {
  for (let nonce = 0; nonce < NONCE_TRIES_MAX; nonce++) {
    const candidate = { ...header, nonce };
    const hash = headerHash(candidate);
    if (hash <= TARGET_HEX) return { header: candidate, hash };
  }
  throw new Error(`no nonce below ${NONCE_TRIES_MAX} meets the regtest target`); // probability 2^-10000
}

export function meetsTarget(hash: string): boolean {
  return hash <= TARGET_HEX;
}

/** Serialized size and weight of a block with these transactions. */
export function blockSize(txs: readonly DevnetTx[]): { readonly size: number; readonly weight: number } {
  const countBytes = CompactSize.encode(BigInt(txs.length)).length;
  let size = HEADER_BYTES + countBytes;
  let weight = (HEADER_BYTES + countBytes) * 4;
  for (const tx of txs) {
    size += tx.size;
    weight += tx.weight;
  }
  return { size, weight };
}

/** A whole block, serialized: header, transaction count, transactions with witnesses. */
export function encodeBlock(header: BlockHeader, txs: readonly DevnetTx[]): Uint8Array {
  return concatBytes(encodeHeader(header), CompactSize.encode(BigInt(txs.length)), ...txs.map((tx) => tx.raw));
}

/** Regtest's genesis coinbase ("The Times 03/Jan/2009 ...") and header, as in Bitcoin Core's chainparams. */
const GENESIS_COINBASE_HEX =
  '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000';
export const REGTEST_GENESIS_HASH = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206';

export function regtestGenesis(): { readonly header: BlockHeader; readonly hash: string; readonly coinbase: DevnetTx } {
  const coinbase = parseTransaction(hex.decode(GENESIS_COINBASE_HEX));
  const header: BlockHeader = { version: 1, prevHash: '00'.repeat(32), merkleRoot: coinbase.txid, time: 1296688602, bits: REGTEST_BITS, nonce: 2 };
  const hash = headerHash(header);
  assert(hash === REGTEST_GENESIS_HASH, `the regtest genesis block hashes to ${REGTEST_GENESIS_HASH}, not ${hash}`);
  return { header, hash, coinbase };
}


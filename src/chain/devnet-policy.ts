// What the devnet's mempool lets in, beyond "the inputs exist and the signatures verify": Bitcoin
// Core's standardness of a transaction alone, finality (absolute and BIP68 relative locks), the
// minimum relay fee, BIP125 replacement with full RBF, and the mempool chain limits. Each check
// either returns or throws a DevnetRefusal that says which rule and by how much.
import type { MempoolEntry, Mempool } from './devnet-mempool.js';
import { dustThresholdSats, isStandardOutput, refuse, TX_NONWITNESS_BYTES_MIN, TX_WEIGHT_MAX, type DevnetTx } from './devnet-tx.js';

/** Bitcoin Core's relay policy numbers, at their defaults (minimum relay fee rounded up to 1 sat/vB). */
export const MIN_RELAY_SATS_PER_VBYTE = 1;
export const INCREMENTAL_RELAY_SATS_PER_VBYTE = 1;
export const ANCESTORS_MAX = 25;
export const DESCENDANTS_MAX = 25;
export const REPLACED_MAX = 100;
const SCRIPT_SIG_BYTES_MAX = 1650;
/** Locktimes below this are heights, at or above it times (BIP65). */
const LOCKTIME_THRESHOLD = 500_000_000;
const SEQUENCE_FINAL = 0xffffffff;
const SEQUENCE_DISABLE_FLAG = 0x80000000;
const SEQUENCE_TYPE_FLAG = 0x00400000;
const SEQUENCE_MASK = 0xffff;
/** BIP68 time locks count in units of 512 seconds. */
const SEQUENCE_TIME_UNIT_SECONDS = 512;

/** Core's standardness checks of the transaction alone: version, size, scriptSig size, output types, dust. */
export function checkStandard(tx: DevnetTx): void {
  if (tx.version < 1 || tx.version > 3) refuse('non-standard', `version ${tx.version} is not standard`);
  if (tx.weight > TX_WEIGHT_MAX) refuse('non-standard', `tx-size: weight ${tx.weight} is over ${TX_WEIGHT_MAX}`);
  const baseBytes = (tx.weight - tx.size) / 3;
  if (baseBytes < TX_NONWITNESS_BYTES_MIN) refuse('non-standard', `tx-size-small: ${baseBytes} bytes without witness, under ${TX_NONWITNESS_BYTES_MIN}`);
  tx.inputs.forEach((input, vin) => {
    if (input.scriptSig.length > SCRIPT_SIG_BYTES_MAX) refuse('non-standard', `input ${vin}'s scriptSig is over ${SCRIPT_SIG_BYTES_MAX} bytes`);
  });
  tx.outputs.forEach((output, vout) => {
    if (!isStandardOutput(output.script)) refuse('non-standard', `output ${vout} pays a script of no standard type`);
    const dust = dustThresholdSats(output.script);
    if (output.valueSats < dust) refuse('dust', `output ${vout} pays ${output.valueSats} sats, below the dust threshold of ${dust} sats for its type`);
  });
}

export interface FinalityContext {
  /** Height of the block the transaction would enter. */
  readonly nextHeight: number;
  /** Median time past of the tip. */
  readonly medianTime: number;
  /** BIP68's time of a coin: the median time past of the block before the one at `height`. */
  coinTime(height: number): number;
}

/** Absolute locktime (BIP113) and relative locks (BIP68) for inclusion in the next block; `prevoutHeights[i]` is input i's coin height. */
export function checkFinal(tx: DevnetTx, prevoutHeights: readonly number[], context: FinalityContext): void {
  const { nextHeight, medianTime } = context;
  if (tx.lockTime !== 0 && tx.inputs.some((input) => input.sequence !== SEQUENCE_FINAL)) {
    const reached = tx.lockTime < LOCKTIME_THRESHOLD ? tx.lockTime < nextHeight : tx.lockTime < medianTime;
    if (!reached) refuse('non-final', `locktime ${tx.lockTime} is not reached (next block ${nextHeight}, median time past ${medianTime})`);
  }
  if (tx.version < 2) return;
  tx.inputs.forEach((input, vin) => {
    if ((input.sequence & SEQUENCE_DISABLE_FLAG) !== 0) return;
    const locked = input.sequence & SEQUENCE_MASK;
    const coinHeight = prevoutHeights[vin]!;
    if ((input.sequence & SEQUENCE_TYPE_FLAG) !== 0) {
      const lockedSeconds = locked * SEQUENCE_TIME_UNIT_SECONDS;
      if (!(context.coinTime(coinHeight) + lockedSeconds - 1 < medianTime)) refuse('non-final', `input ${vin} is time-locked (BIP68) for ${lockedSeconds} s after its coin`);
    } else if (!(coinHeight + locked - 1 < nextHeight)) refuse('non-final', `input ${vin} is height-locked (BIP68) for ${locked} blocks after its coin`);
  });
}

export function checkMinRelayFee(tx: DevnetTx, feeSats: number): void {
  const requiredSats = tx.vsize * MIN_RELAY_SATS_PER_VBYTE;
  if (feeSats < requiredSats) refuse('min-relay-fee', `min relay fee not met: ${feeSats} sats < ${requiredSats} for ${tx.vsize} vB`);
}

/**
 * BIP125 with full RBF (any conflicting transaction may be replaced, signalling or not): the
 * replacement pays a higher fee rate than each transaction it evicts (the direct conflicts and their
 * descendants), and in total their fees plus the incremental relay fee for its own size.
 */
export function checkReplacement(tx: DevnetTx, feeSats: number, evicted: readonly MempoolEntry[]): void {
  const evictedTxids = new Set(evicted.map((entry) => entry.tx.txid));
  for (const input of tx.inputs) if (evictedTxids.has(input.txid)) refuse('replacement-spends-conflicting', `${tx.txid} spends an output of ${input.txid}, which it would replace`);
  if (evicted.length > REPLACED_MAX) refuse('too-many-replacements', `${tx.txid} would replace ${evicted.length} transactions, more than ${REPLACED_MAX}`);
  let evictedSats = 0;
  for (const entry of evicted) {
    evictedSats += entry.feeSats;
    // Rates compared exactly: fee × other vsize, in integers.
    if (BigInt(feeSats) * BigInt(entry.tx.vsize) <= BigInt(entry.feeSats) * BigInt(tx.vsize)) {
      refuse('insufficient-fee', `rejecting replacement ${tx.txid}: its fee rate ${rate(feeSats, tx.vsize)} sat/vB is not above ${rate(entry.feeSats, entry.tx.vsize)} of ${entry.tx.txid}`);
    }
  }
  const requiredSats = evictedSats + tx.vsize * INCREMENTAL_RELAY_SATS_PER_VBYTE;
  if (feeSats < requiredSats) refuse('insufficient-fee', `rejecting replacement ${tx.txid}: it pays ${feeSats} sats, not the ${evictedSats} of what it replaces plus ${tx.vsize} for its ${tx.vsize} vB`);
}

/** Chain limits (25 ancestors, 25 descendants) and the mempool's size, counted as if `evict` had left. */
export function checkPackage(tx: DevnetTx, evict: ReadonlySet<string>, mempool: Mempool, mempoolTxsMax: number): void {
  const parents = new Set(tx.inputs.map((input) => input.txid).filter((txid) => mempool.get(txid) !== undefined && !evict.has(txid)));
  const ancestors = mempool.ancestors(parents, ANCESTORS_MAX);
  if (ancestors.size + 1 > ANCESTORS_MAX) refuse('too-long-mempool-chain', `too many unconfirmed ancestors (more than ${ANCESTORS_MAX - 1})`);
  for (const ancestor of ancestors) {
    const descendants = [...mempool.withDescendants([ancestor])].filter((txid) => !evict.has(txid));
    if (descendants.length + 1 > DESCENDANTS_MAX) refuse('too-long-mempool-chain', `${ancestor} would have more than ${DESCENDANTS_MAX - 1} unconfirmed descendants`);
  }
  if (mempool.size - evict.size >= mempoolTxsMax) refuse('mempool-full', `the mempool holds ${mempoolTxsMax} transactions`);
}

function rate(feeSats: number, vsize: number): string {
  return (feeSats / vsize).toFixed(2);
}

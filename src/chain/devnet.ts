// The local Bitcoin test chain ("devnet") that the exchange's tests, playground and simulator run
// against: regtest parameters, real blocks and real serialized transactions, a UTXO set and a
// mempool with Bitcoin Core's rules where they matter to a deposit watcher (signatures, double
// spends, coinbase maturity, full-RBF replacement, reorgs), all in-process and deterministic from
// a seed. Time is an input: block times come from an injected `now()` (or advance ten minutes a
// block), and scheduled mining runs on a Clock. `devnetBackend` adapts it to the ChainBackend port;
// src/chain/devnet-server.ts serves it as an Esplora REST API.
import { sha256 } from '@noble/hashes/sha2.js';
import { hex } from '@scure/base';
import { assert } from '../assert.js';
import type { Clock, TimerId } from '../clock.js';
import { isHash64, type ChainBackend, type ChainBlockRef, type ChainPayment, type FeeEstimate, type OutputSpender, type TransactionStatus } from './backend.js';
import { BLOCK_VERSION, BLOCK_WEIGHT_MAX, buildCoinbase, COINBASE_MATURITY_BLOCKS, COINBASE_WEIGHT_RESERVED, encodeBlock, grindHeader, merkleRoot, REGTEST_BITS, regtestGenesis, subsidySats } from './devnet-block.js';
import { ChainState, touchedScripts, type StoredBlock } from './devnet-chain.js';
import { Mempool, type MempoolEntry } from './devnet-mempool.js';
import { ANCESTORS_MAX, checkFinal, checkMinRelayFee, checkPackage, checkReplacement, checkStandard } from './devnet-policy.js';
import { addressScript, decodeTransactionHex, DevnetRefusal, outpointKey, parseTransaction, refuse, type DevnetTx, type DevnetTxInput, type DevnetTxOutput } from './devnet-tx.js';
import { verifyInputs } from './devnet-verify.js';
import { Faucet, type FaucetCoin, type FaucetHost } from './devnet-wallet.js';

export { DevnetRefusal, type DevnetRefusalCode, type DevnetTx, type DevnetTxOutput } from './devnet-tx.js';
export { Faucet, type FaucetBalance, type FaucetOutput, type FaucetPayOptions, type FaucetReplaceOptions, type FaucetTransaction } from './devnet-wallet.js';

export interface DevnetOptions {
  /** Everything (keys, blocks, txids) follows from it; default 0. */
  readonly seed?: number | string;
  /** Virtual time in ms for block times; without it each block is 10 minutes after its parent. */
  readonly now?: () => number;
  /** Blocks mined at creation; default 101, after which the faucet has mature coins. */
  readonly initialBlocks?: number;
}

export interface DevnetMineOptions {
  /** Who the coinbase pays; default the faucet. */
  readonly address?: string;
  /** Mempool transactions (and so their descendants) to leave out of these blocks. */
  readonly exclude?: readonly string[];
}

export interface DevnetReorgOptions {
  /** Transactions of the disconnected blocks (or the mempool) to drop: gone, not re-mined. */
  readonly drop?: readonly string[];
  /** Faucet transactions to replace by ones paying the faucet back before the new branch is mined. */
  readonly doubleSpend?: readonly string[];
  /** Length of the new branch; default depth + 1. */
  readonly blocks?: number;
  readonly address?: string;
}

export interface DevnetSwitch {
  readonly disconnected: readonly string[];
  readonly connected: readonly string[];
}

export interface DevnetBlockView {
  readonly hash: string;
  readonly height: number;
  readonly version: number;
  readonly prevHash: string | null;
  readonly merkleRoot: string;
  readonly time: number;
  readonly medianTime: number;
  readonly bits: number;
  readonly nonce: number;
  readonly txids: readonly string[];
  readonly size: number;
  readonly weight: number;
  readonly inBestChain: boolean;
}

export interface DevnetBlockStatus {
  readonly inBestChain: boolean;
  readonly height: number;
  readonly nextBest: string | null;
}

export type DevnetTxStatus =
  | { readonly confirmed: false }
  | { readonly confirmed: true; readonly blockHeight: number; readonly blockHash: string; readonly blockTime: number };

export interface DevnetTxView {
  readonly tx: DevnetTx;
  readonly status: DevnetTxStatus;
  /** The outputs its inputs spend; null for a coinbase's. */
  readonly prevouts: readonly (DevnetTxOutput | null)[];
  readonly feeSats: number;
}

export type DevnetOutspend = { readonly spent: false } | { readonly spent: true; readonly txid: string; readonly vin: number; readonly status: DevnetTxStatus };

export interface DevnetUtxo {
  readonly txid: string;
  readonly vout: number;
  readonly valueSats: number;
  readonly status: DevnetTxStatus;
}

/** Limits of this devnet. */
const MEMPOOL_TXS_MAX = 50_000;
const MINE_BLOCKS_MAX = 10_000;
const VERIFIED_CACHE_MAX = 100_000;
const BLOCK_SPACING_SECONDS = 600;
const ADDRESS_TXS_MAX = 1_000;
const UTXOS_MAX = 5_000;
const SEED_CHARS_MAX = 256;
/** Esplora's confirmation targets. */
const FEE_TARGETS = [...Array.from({ length: 25 }, (_, index) => index + 1), 144, 504, 1008];

export class Devnet {
  readonly faucet: Faucet;
  private readonly chain = new ChainState(regtestGenesis());
  private readonly mempool = new Mempool();
  /** Wtxids whose inputs verified: a signature over fixed prevouts stays valid. */
  private readonly verified = new Set<string>();
  private readonly nowMs: (() => number) | undefined;
  private extraNonce = 0;
  private schedule: { readonly clock: Clock; timer: TimerId } | undefined;

  constructor(options: DevnetOptions = {}) {
    const seed = options.seed ?? 0;
    if (typeof seed === 'number' ? !Number.isSafeInteger(seed) : seed.length > SEED_CHARS_MAX) throw new RangeError(`"seed" expected a safe integer or a string of at most ${SEED_CHARS_MAX} characters`);
    const initialBlocks = options.initialBlocks ?? COINBASE_MATURITY_BLOCKS + 1;
    if (!Number.isSafeInteger(initialBlocks) || initialBlocks < 0 || initialBlocks > MINE_BLOCKS_MAX) throw new RangeError(`"initialBlocks" expected 0..${MINE_BLOCKS_MAX}, got ${initialBlocks}`);
    this.nowMs = options.now;
    this.faucet = new Faucet(this.faucetHost(), sha256(new TextEncoder().encode(`bitwrk-devnet/${String(seed)}`)));
    this.mine(initialBlocks);
  }

  // --- Transactions in ---------------------------------------------------------------------

  /** Admits a raw transaction (hex or bytes) to the mempool; returns its txid or throws DevnetRefusal. */
  submit(raw: string | Uint8Array): string {
    const tx = parseTransaction(typeof raw === 'string' ? decodeTransactionHex(raw) : raw);
    this.admit(tx);
    return tx.txid;
  }

  /** `submit`, except that sending a transaction the mempool already holds succeeds (as sendrawtransaction does). */
  broadcast(raw: string | Uint8Array): string {
    const tx = parseTransaction(typeof raw === 'string' ? decodeTransactionHex(raw) : raw);
    if (this.mempool.get(tx.txid)?.tx.wtxid === tx.wtxid) return tx.txid;
    this.admit(tx);
    return tx.txid;
  }

  // --- Blocks ------------------------------------------------------------------------------

  /** Mines `count` blocks on the tip, each with what the mempool holds (parents first); returns their hashes. */
  mine(count: number, options: DevnetMineOptions = {}): string[] {
    if (!Number.isSafeInteger(count) || count < 0 || count > MINE_BLOCKS_MAX) throw new RangeError(`"count" expected 0..${MINE_BLOCKS_MAX}, got ${count}`);
    const payee = options.address === undefined ? this.faucet.script : addressScript(options.address);
    const exclude = new Set(options.exclude ?? []);
    const hashes: string[] = [];
    for (let index = 0; index < count; index++) hashes.push(this.mineBlock(payee, exclude));
    return hashes;
  }

  /** Mines a block every `intervalMs` on `clock` until stopped (replacing a schedule already running). */
  startMining(clock: Clock, intervalMs: number): { stop(): void } {
    if (!Number.isSafeInteger(intervalMs) || intervalMs <= 0) throw new RangeError(`"intervalMs" expected a positive whole number, got ${intervalMs}`);
    this.stopMining();
    const tick = (): void => {
      this.schedule = { clock, timer: clock.setTimer(tick, intervalMs) };
      this.mine(1);
    };
    this.schedule = { clock, timer: clock.setTimer(tick, intervalMs) };
    return { stop: () => this.stopMining() };
  }

  stopMining(): void {
    if (this.schedule === undefined) return;
    this.schedule.clock.clearTimer(this.schedule.timer);
    this.schedule = undefined;
  }

  /**
   * Bitcoin Core's invalidateblock: the block and its descendants leave the best chain for good,
   * the best remaining valid tip takes over, and the transactions of disconnected blocks return to
   * the mempool where they are still valid. A later `mine` builds the competing branch.
   */
  invalidate(hash: string): DevnetSwitch {
    if (!isHash64(hash)) refuse('bad-request', 'a block hash is 64 lower-case hex characters');
    const block = this.chain.block(hash) ?? refuse('unknown-block', `block ${hash} is unknown`);
    if (block.height === 0) refuse('bad-request', 'the genesis block cannot be invalidated');
    const change = this.chain.invalidate(hash);
    this.refillMempool(change.disconnected);
    return { disconnected: change.disconnected.map((stale) => stale.hash), connected: change.connected.map((joined) => joined.hash) };
  }

  /**
   * A reorg of the last `depth` blocks: they are invalidated, `drop` transactions are removed,
   * `doubleSpend` faucet transactions are replaced by ones paying the faucet back, and a longer
   * branch is mined (by default depth + 1 blocks).
   */
  reorg(depth: number, options: DevnetReorgOptions = {}): DevnetSwitch {
    const tip = this.chain.tip;
    if (!Number.isSafeInteger(depth) || depth < 1 || depth > tip.height) refuse('bad-request', `a reorg depth is 1..${tip.height}, got ${depth}`);
    const fork = this.chain.atHeight(tip.height - depth + 1)!;
    const leaving = new Set<string>();
    for (let height = fork.height; height <= tip.height; height++) for (const tx of this.chain.atHeight(height)!.txs) leaving.add(tx.txid);
    for (const txid of [...(options.drop ?? []), ...(options.doubleSpend ?? [])]) {
      if (!leaving.has(txid) && this.mempool.get(txid) === undefined) refuse('unknown-tx', `${txid} is neither in the last ${depth} blocks nor in the mempool`);
    }
    for (const txid of options.doubleSpend ?? []) {
      if (!this.transaction(txid)!.prevouts.every((prevout) => prevout !== null && hex.encode(prevout.script) === hex.encode(this.faucet.script))) refuse('not-replaceable', `${txid} spends coins the faucet does not own`);
    }
    const change = this.invalidate(fork.hash);
    if (options.drop !== undefined) this.mempool.evict(options.drop);
    for (const txid of options.doubleSpend ?? []) if (this.mempool.get(txid) !== undefined) this.faucet.replace(txid, { payTo: [] });
    const mined = this.mine(options.blocks ?? depth + 1, options.address === undefined ? {} : { address: options.address });
    return { disconnected: change.disconnected, connected: [...change.connected, ...mined] };
  }

  // --- Queries -----------------------------------------------------------------------------

  tip(): ChainBlockRef {
    return { height: this.chain.tip.height, hash: this.chain.tip.hash };
  }

  blockHash(height: number): string | undefined {
    return this.chain.atHeight(height)?.hash;
  }

  block(hash: string): DevnetBlockView | undefined {
    const block = this.chain.block(hash);
    if (block === undefined) return undefined;
    const { header } = block;
    return {
      hash: block.hash, height: block.height, version: header.version, prevHash: block.height === 0 ? null : header.prevHash, merkleRoot: header.merkleRoot,
      time: header.time, medianTime: this.chain.medianTimePast(block), bits: header.bits, nonce: header.nonce,
      txids: block.txs.map((tx) => tx.txid), size: block.size, weight: block.weight, inBestChain: this.chain.isInBest(block),
    };
  }

  /** The serialized block (header, count, transactions). */
  rawBlock(hash: string): Uint8Array | undefined {
    const block = this.chain.block(hash);
    return block === undefined ? undefined : encodeBlock(block.header, block.txs);
  }

  blockStatus(hash: string): DevnetBlockStatus | undefined {
    const block = this.chain.block(hash);
    if (block === undefined) return undefined;
    const inBestChain = this.chain.isInBest(block);
    return { inBestChain, height: block.height, nextBest: inBestChain ? (this.chain.atHeight(block.height + 1)?.hash ?? null) : null };
  }

  /** A transaction of the best chain or the mempool (not one only in a stale block). */
  transaction(txid: string): DevnetTxView | undefined {
    const location = this.chain.location(txid);
    const entry = location === undefined ? this.mempool.get(txid) : undefined;
    const tx = location !== undefined ? location.block.txs[location.index]! : entry?.tx;
    if (tx === undefined) return undefined;
    const prevouts = tx.coinbase ? [null] : tx.inputs.map((input) => this.outputOf(input.txid, input.vout) ?? null);
    const inSats = prevouts.reduce((sum, prevout) => sum + (prevout?.valueSats ?? 0), 0);
    const feeSats = tx.coinbase ? 0 : inSats - tx.outputs.reduce((sum, output) => sum + output.valueSats, 0);
    return { tx, status: location === undefined ? { confirmed: false } : this.confirmedIn(location.block), prevouts, feeSats };
  }

  outspends(txid: string): DevnetOutspend[] | undefined {
    const view = this.transaction(txid);
    if (view === undefined) return undefined;
    return view.tx.outputs.map((_, vout): DevnetOutspend => {
      const key = outpointKey(txid, vout);
      const spender = this.chain.spender(key) ?? this.mempool.spender(key);
      if (spender === undefined) return { spent: false };
      return { spent: true, txid: spender.txid, vin: spender.vin, status: this.transaction(spender.txid)!.status };
    });
  }

  mempoolTxids(): string[] {
    return this.mempool.ordered().map((entry) => entry.tx.txid);
  }

  /** Mempool transactions paying or spending from `address`, newest first. */
  addressMempoolTransactions(address: string, limit = 50): DevnetTxView[] {
    const script = hex.encode(addressScript(address));
    return this.mempool.touching(script).slice(0, clampLimit(limit)).map((entry) => this.transaction(entry.tx.txid)!);
  }

  /** Best-chain transactions paying or spending from `address`, newest first, after `afterTxid` when given. */
  addressChainTransactions(address: string, options: { readonly afterTxid?: string; readonly limit?: number } = {}): DevnetTxView[] {
    const history = this.chain.history(hex.encode(addressScript(address)));
    let start = history.length - 1;
    if (options.afterTxid !== undefined) {
      while (start >= 0 && history[start]!.txid !== options.afterTxid) start--;
      start--; // after the last seen one; an unknown one leaves nothing (as Esplora does)
    }
    const views: DevnetTxView[] = [];
    for (let index = start; index >= 0 && views.length < clampLimit(options.limit ?? 25); index--) views.push(this.transaction(history[index]!.txid)!);
    return views;
  }

  /** Esplora's /address/:address/txs: up to 50 mempool transactions, then the 25 newest confirmed. */
  addressTransactions(address: string): DevnetTxView[] {
    return [...this.addressMempoolTransactions(address, 50), ...this.addressChainTransactions(address, { limit: 25 })];
  }

  /** Unspent outputs paying `address` once the mempool is applied: unconfirmed first, then newest confirmed. */
  addressUtxos(address: string): DevnetUtxo[] {
    const script = addressScript(address);
    const scriptHex = hex.encode(script);
    const utxos: DevnetUtxo[] = [];
    for (const entry of this.mempool.touching(scriptHex)) {
      entry.tx.outputs.forEach((output, vout) => {
        if (hex.encode(output.script) === scriptHex && this.mempool.spender(outpointKey(entry.tx.txid, vout)) === undefined) utxos.push({ txid: entry.tx.txid, vout, valueSats: output.valueSats, status: { confirmed: false } });
      });
    }
    const confirmed: Array<DevnetUtxo & { readonly height: number }> = [];
    for (const key of this.chain.coinKeysOf(scriptHex)) {
      if (this.mempool.spender(key) !== undefined) continue;
      const coin = this.chain.coin(key)!;
      const [txid, vout] = splitOutpoint(key);
      confirmed.push({ txid, vout, valueSats: coin.valueSats, status: this.confirmedIn(this.chain.atHeight(coin.height)!), height: coin.height });
    }
    confirmed.sort((a, b) => b.height - a.height || (a.txid < b.txid ? -1 : a.txid > b.txid ? 1 : a.vout - b.vout));
    const all = [...utxos, ...confirmed.map(({ height: _height, ...utxo }) => utxo)];
    if (all.length > UTXOS_MAX) refuse('bad-request', `more than ${UTXOS_MAX} unspent outputs; too many to list`);
    return all;
  }

  /** Every output paying one of `addresses` in the best chain or the mempool (the ChainBackend query). */
  paymentsTo(addresses: readonly string[]): ChainPayment[] {
    const payments: ChainPayment[] = [];
    for (const address of new Set(addresses)) {
      const scriptHex = hex.encode(addressScript(address));
      const paying = (tx: DevnetTx, block: ChainBlockRef | null): void => {
        tx.outputs.forEach((output, vout) => {
          if (hex.encode(output.script) === scriptHex) payments.push({ txid: tx.txid, vout, address, valueSats: output.valueSats, block });
        });
      };
      for (const entry of this.chain.history(scriptHex)) {
        const location = this.chain.location(entry.txid)!;
        paying(location.block.txs[location.index]!, { height: location.block.height, hash: location.block.hash });
      }
      for (const entry of this.mempool.touching(scriptHex)) paying(entry.tx, null);
    }
    return payments;
  }

  /** sat/vB by confirmation target: 1 with an empty mempool, rising with its size, lower for later targets. */
  feeEstimates(): Record<number, number> {
    const backlogVsize = Math.min(this.mempool.vsizeTotal, 100_000_000);
    const estimates: Record<number, number> = {};
    for (const target of FEE_TARGETS) estimates[target] = Math.round((1 + backlogVsize / (50_000 * target)) * 1000) / 1000;
    return estimates;
  }

  // --- Internals ---------------------------------------------------------------------------

  private mineBlock(payee: Uint8Array, exclude: ReadonlySet<string>): string {
    const parent = this.chain.tip;
    const height = parent.height + 1;
    const chosen: MempoolEntry[] = [];
    const included = new Set<string>();
    let weight = COINBASE_WEIGHT_RESERVED;
    let feesSats = 0;
    // Arrival order puts parents first; a transaction whose parent is left out waits too.
    for (const entry of this.mempool.ordered()) {
      if (exclude.has(entry.tx.txid) || weight + entry.tx.weight > BLOCK_WEIGHT_MAX) continue;
      if ([...entry.parents].some((parent) => !included.has(parent))) continue;
      chosen.push(entry);
      included.add(entry.tx.txid);
      weight += entry.tx.weight;
      feesSats += entry.feeSats;
    }
    const coinbase = buildCoinbase({ height, extraNonce: this.extraNonce++, payeeScript: payee, valueSats: subsidySats(height) + feesSats, wtxids: chosen.map((entry) => entry.tx.wtxid) });
    const txs = [coinbase, ...chosen.map((entry) => entry.tx)];
    const medianTime = this.chain.medianTimePast(parent);
    const wantedTime = this.nowMs === undefined ? parent.header.time + BLOCK_SPACING_SECONDS : Math.floor(this.nowMs() / 1000);
    // As Core's UpdateTime: never at or before the median time past, so the block stays valid.
    const time = Math.max(wantedTime, medianTime + 1);
    assert(Number.isSafeInteger(time) && time <= 0xffffffff, `block time ${time} fits a header`);
    const { header, hash } = grindHeader({ version: BLOCK_VERSION, prevHash: parent.hash, merkleRoot: merkleRoot(txs.map((tx) => tx.txid)), time, bits: REGTEST_BITS });
    this.chain.extend(header, hash, txs);
    for (const entry of chosen) this.mempool.removeMined(entry.tx.txid);
    return hash;
  }

  private admit(tx: DevnetTx): void {
    const decision = this.check(tx);
    if (decision.evict.size > 0) this.mempool.evict(decision.evict);
    this.mempool.add(tx, decision.feeSats, decision.scripts);
  }

  /** Decides whether `tx` may enter the mempool now, and what it would evict. Refusals in Core's order. */
  private check(tx: DevnetTx): { readonly feeSats: number; readonly evict: ReadonlySet<string>; readonly scripts: ReadonlySet<string> } {
    if (tx.coinbase) refuse('coinbase', 'a coinbase transaction is only valid in a block');
    checkStandard(tx);
    if (this.mempool.get(tx.txid) !== undefined) refuse('duplicate', `${tx.txid} is already in the mempool`);
    if (this.chain.location(tx.txid) !== undefined) refuse('duplicate', `${tx.txid} is already in the chain`);
    const spent = new Set<string>();
    for (const input of tx.inputs) {
      const key = outpointKey(input.txid, input.vout);
      if (spent.has(key)) refuse('duplicate-inputs', `${key} is spent twice by the same transaction`);
      spent.add(key);
    }
    const prevouts = tx.inputs.map((input, vin) => this.prevout(input, vin));
    const inSats = prevouts.reduce((sum, prevout) => sum + prevout.output.valueSats, 0);
    const outSats = tx.outputs.reduce((sum, output) => sum + output.valueSats, 0);
    if (outSats > inSats) refuse('outputs-exceed-inputs', `the outputs (${outSats} sats) are worth more than the inputs (${inSats} sats)`);
    const feeSats = inSats - outSats;
    const nextHeight = this.chain.tip.height + 1;
    checkFinal(tx, prevouts.map((prevout) => prevout.height), { nextHeight, medianTime: this.chain.medianTimePast(), coinTime: (height) => this.chain.medianTimePast(this.chain.atHeight(Math.max(height - 1, 0))!) });
    checkMinRelayFee(tx, feeSats);
    const evict = this.mempool.withDescendants(this.mempool.conflicts(tx));
    if (evict.size > 0) checkReplacement(tx, feeSats, [...evict].map((txid) => this.mempool.get(txid)!));
    checkPackage(tx, evict, this.mempool, MEMPOOL_TXS_MAX);
    if (!this.verified.has(tx.wtxid)) {
      const problem = verifyInputs(tx, prevouts.map((prevout) => prevout.output));
      if (problem !== null) throw problem;
      if (this.verified.size >= VERIFIED_CACHE_MAX) this.verified.clear();
      this.verified.add(tx.wtxid);
    }
    return { feeSats, evict, scripts: touchedScripts(tx, prevouts.map((prevout) => prevout.output)) };
  }

  /** The output an input spends, with the height that counts for maturity and relative locks (the next block for a mempool parent). */
  private prevout(input: DevnetTxInput, vin: number): { readonly output: DevnetTxOutput; readonly height: number } {
    const key = outpointKey(input.txid, input.vout);
    const nextHeight = this.chain.tip.height + 1;
    const coin = this.chain.coin(key);
    if (coin !== undefined) {
      if (coin.coinbase && nextHeight - coin.height < COINBASE_MATURITY_BLOCKS) refuse('immature-coinbase', `input ${vin} spends coinbase ${key} of height ${coin.height}, spendable from height ${coin.height + COINBASE_MATURITY_BLOCKS}`);
      return { output: coin, height: coin.height };
    }
    const unconfirmed = this.mempool.output(input.txid, input.vout);
    if (unconfirmed !== undefined) return { output: unconfirmed, height: nextHeight };
    const spender = this.chain.spender(key);
    if (spender !== undefined) refuse('double-spend', `input ${vin} spends ${key}, already spent by ${spender.txid} in the best chain`);
    return refuse('missing-inputs', `input ${vin} spends ${key}, which is not an output the devnet knows`);
  }

  /** After a switch of branch: returning transactions first (oldest block first), then the old mempool, each re-checked. */
  private refillMempool(disconnected: readonly StoredBlock[]): void {
    const returning = [...disconnected].reverse().flatMap((block) => block.txs.filter((tx) => !tx.coinbase));
    const waiting = this.mempool.clear().map((entry) => entry.tx);
    for (const tx of [...returning, ...waiting]) {
      if (this.chain.location(tx.txid) !== undefined) continue; // confirmed again on the new branch
      try {
        this.admit(tx);
      } catch (error) {
        if (!(error instanceof DevnetRefusal)) throw error;
        // No longer valid on this branch (spent there, or an immature coinbase): gone, as in Core.
      }
    }
  }

  private outputOf(txid: string, vout: number): DevnetTxOutput | undefined {
    const location = this.chain.location(txid);
    if (location !== undefined) return location.block.txs[location.index]!.outputs[vout];
    return this.mempool.output(txid, vout);
  }

  private confirmedIn(block: StoredBlock): DevnetTxStatus {
    return { confirmed: true, blockHeight: block.height, blockHash: block.hash, blockTime: block.header.time };
  }

  private faucetHost(): FaucetHost {
    return {
      spendableCoins: (script) => this.spendableCoins(script),
      immatureSats: (script) => {
        const nextHeight = this.chain.tip.height + 1;
        let sats = 0;
        for (const key of this.chain.coinKeysOf(hex.encode(script))) {
          const coin = this.chain.coin(key)!;
          if (coin.coinbase && nextHeight - coin.height < COINBASE_MATURITY_BLOCKS) sats += coin.valueSats;
        }
        return sats;
      },
      mempoolTransaction: (txid) => {
        const entry = this.mempool.get(txid);
        if (entry === undefined) return undefined;
        return { tx: entry.tx, prevouts: entry.tx.inputs.map((input) => this.outputOf(input.txid, input.vout)!) };
      },
      replacementFloor: (outpoints) => {
        const direct = new Set(outpoints.map((coin) => this.mempool.spender(outpointKey(coin.txid, coin.vout))?.txid).filter((txid) => txid !== undefined));
        const evicted = this.mempool.withDescendants(direct);
        let feeSats = 0;
        let highest = { feeSats: 0, vsize: 1 };
        for (const txid of evicted) {
          const entry = this.mempool.get(txid)!;
          feeSats += entry.feeSats;
          if (BigInt(entry.feeSats) * BigInt(highest.vsize) > BigInt(highest.feeSats) * BigInt(entry.tx.vsize)) highest = { feeSats: entry.feeSats, vsize: entry.tx.vsize };
        }
        return { evicted, feeSats, rate: highest };
      },
      submit: (raw) => this.submit(raw),
    };
  }

  /** Coins paying `script` that may be spent now: mature confirmed ones oldest first, then unconfirmed change with room in its chain. */
  private spendableCoins(script: Uint8Array): FaucetCoin[] {
    const scriptHex = hex.encode(script);
    const nextHeight = this.chain.tip.height + 1;
    const confirmed: Array<FaucetCoin & { readonly height: number }> = [];
    for (const key of this.chain.coinKeysOf(scriptHex)) {
      const coin = this.chain.coin(key)!;
      if (this.mempool.spender(key) !== undefined || (coin.coinbase && nextHeight - coin.height < COINBASE_MATURITY_BLOCKS)) continue;
      const [txid, vout] = splitOutpoint(key);
      confirmed.push({ txid, vout, valueSats: coin.valueSats, height: coin.height });
    }
    confirmed.sort((a, b) => a.height - b.height || (a.txid < b.txid ? -1 : a.txid > b.txid ? 1 : a.vout - b.vout));
    const unconfirmed: Array<FaucetCoin & { readonly depth: number }> = [];
    for (const entry of this.mempool.touching(scriptHex)) {
      const depth = this.mempool.ancestors([entry.tx.txid], ANCESTORS_MAX).size;
      if (depth >= ANCESTORS_MAX - 1) continue;
      entry.tx.outputs.forEach((output, vout) => {
        if (hex.encode(output.script) === scriptHex && this.mempool.spender(outpointKey(entry.tx.txid, vout)) === undefined) unconfirmed.push({ txid: entry.tx.txid, vout, valueSats: output.valueSats, depth });
      });
    }
    unconfirmed.sort((a, b) => a.depth - b.depth);
    return [...confirmed.map(({ txid, vout, valueSats }) => ({ txid, vout, valueSats })), ...unconfirmed.map(({ txid, vout, valueSats }) => ({ txid, vout, valueSats }))];
  }
}

/** The ChainBackend port served straight from a devnet in this process (no HTTP): for the simulator and benchmarks. */
export function devnetBackend(devnet: Devnet): ChainBackend {
  const blockOf = (status: DevnetTxStatus): ChainBlockRef | null => (status.confirmed ? { height: status.blockHeight, hash: status.blockHash } : null);
  return {
    name: 'devnet',
    tip: () => Promise.resolve(devnet.tip()),
    paymentsTo: (addresses) => attempt(() => devnet.paymentsTo(addresses)),
    blockInBestChain: (hash) => Promise.resolve(devnet.blockStatus(hash)?.inBestChain ?? false),
    feeEstimates: () => Promise.resolve<FeeEstimate>(devnet.feeEstimates()),
    broadcast: (rawHex) => attempt(() => devnet.broadcast(rawHex)),
    unspentOf: (addresses) => attempt(() => [...new Set(addresses)].flatMap((address) => devnet.addressUtxos(address).map((utxo): ChainPayment => ({ txid: utxo.txid, vout: utxo.vout, address, valueSats: utxo.valueSats, block: blockOf(utxo.status) })))),
    transactionStatus: (txid) => attempt((): TransactionStatus => {
      const view = devnet.transaction(txid); // undefined: never seen, replaced, or reorged out and not back
      if (view === undefined) return { state: 'unknown' };
      const block = blockOf(view.status);
      return block === null ? { state: 'mempool' } : { state: 'confirmed', block };
    }),
    spenderOf: (txid, vout) => attempt((): OutputSpender => {
      // An unknown transaction (or an output it does not have): nothing spends it.
      const outspend = devnet.outspends(txid)?.[vout];
      return outspend?.spent === true ? { spent: true, txid: outspend.txid } : { spent: false };
    }),
  };
}

function attempt<T>(run: () => T): Promise<T> {
  try {
    return Promise.resolve(run());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function clampLimit(limit: number): number {
  return Number.isSafeInteger(limit) && limit > 0 ? Math.min(limit, ADDRESS_TXS_MAX) : 0;
}

function splitOutpoint(key: string): readonly [string, number] {
  const colon = key.indexOf(':');
  return [key.slice(0, colon), Number(key.slice(colon + 1))];
}



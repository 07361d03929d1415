// The devnet's block tree and the state of its best chain: every block ever mined (stale ones kept,
// so their status can still be asked), the UTXO set with undo data per block, and the indexes
// Esplora needs (where a transaction is confirmed, who spent an output, which transactions touched
// a script). The best chain is the valid tip of most work (all blocks have the same work, so the
// highest), the first seen winning a tie, as in Bitcoin Core. Blocks reach this module already
// validated; here they are only connected and disconnected.
import { hex } from '@scure/base';
import { OP } from '@scure/btc-signer';
import { assert } from '../assert.js';
import { blockSize, type BlockHeader } from './devnet-block.js';
import { outpointKey, type DevnetTx } from './devnet-tx.js';

export interface Coin {
  readonly script: Uint8Array;
  readonly valueSats: number;
  /** Height of the block that created it. */
  readonly height: number;
  readonly coinbase: boolean;
}

export interface StoredBlock {
  readonly hash: string;
  readonly height: number;
  readonly header: BlockHeader;
  readonly txs: readonly DevnetTx[];
  readonly size: number;
  readonly weight: number;
  /** Order of arrival: of two tips with equal work, the first seen stays best. */
  readonly arrival: number;
}

export interface Spender {
  readonly txid: string;
  readonly vin: number;
}

export interface TxLocation {
  readonly block: StoredBlock;
  readonly index: number;
}

export interface ChainSwitch {
  /** Blocks taken off the best chain, tip first. */
  readonly disconnected: readonly StoredBlock[];
  /** Blocks put on it, lowest first. */
  readonly connected: readonly StoredBlock[];
}

/** Blocks whose times give the median time past (BIP113). */
const MEDIAN_TIME_SPAN = 11;

export class ChainState {
  private readonly blocks = new Map<string, StoredBlock>();
  private readonly children = new Map<string, string[]>();
  private readonly invalid = new Set<string>();
  private readonly best: StoredBlock[] = [];
  /** Per connected block, the coins its transactions spent, in spending order. */
  private readonly undo = new Map<string, Array<readonly [string, Coin]>>();
  private readonly coins = new Map<string, Coin>();
  private readonly coinsByScript = new Map<string, Set<string>>();
  private readonly locations = new Map<string, TxLocation>();
  private readonly spenders = new Map<string, Spender>();
  /** Per script (hex), the best-chain transactions that paid or spent it, oldest first, once each. */
  private readonly scriptHistory = new Map<string, Array<{ readonly txid: string; readonly height: number }>>();
  private arrivals = 0;

  /** Starts with the genesis block, whose coinbase creates no spendable coin (as in Core). */
  constructor(genesis: { readonly header: BlockHeader; readonly hash: string; readonly coinbase: DevnetTx }) {
    const block = this.store(genesis.header, genesis.hash, 0, [genesis.coinbase]);
    this.best.push(block);
    this.undo.set(block.hash, []);
  }

  get tip(): StoredBlock {
    return this.best[this.best.length - 1]!;
  }

  atHeight(height: number): StoredBlock | undefined {
    return this.best[height];
  }

  block(hash: string): StoredBlock | undefined {
    return this.blocks.get(hash);
  }

  isInBest(block: StoredBlock): boolean {
    return this.best[block.height] === block;
  }

  isInvalid(hash: string): boolean {
    return this.invalid.has(hash);
  }

  /** BIP113's median time past: the median of the times of `block` and its 10 ancestors. */
  medianTimePast(block: StoredBlock = this.tip): number {
    const times: number[] = [];
    let current: StoredBlock | undefined = block;
    while (current !== undefined && times.length < MEDIAN_TIME_SPAN) {
      times.push(current.header.time);
      current = current.height === 0 ? undefined : this.blocks.get(current.header.prevHash);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  }

  coin(key: string): Coin | undefined {
    return this.coins.get(key);
  }

  location(txid: string): TxLocation | undefined {
    return this.locations.get(txid);
  }

  spender(key: string): Spender | undefined {
    return this.spenders.get(key);
  }

  history(scriptHex: string): ReadonlyArray<{ readonly txid: string; readonly height: number }> {
    return this.scriptHistory.get(scriptHex) ?? [];
  }

  coinKeysOf(scriptHex: string): ReadonlySet<string> {
    return this.coinsByScript.get(scriptHex) ?? new Set();
  }

  /** Stores a new block on the tip and connects it; the caller has validated its transactions. */
  extend(header: BlockHeader, hash: string, txs: readonly DevnetTx[]): StoredBlock {
    assert(header.prevHash === this.tip.hash, 'a new block extends the tip');
    assert(!this.blocks.has(hash), `block ${hash} is new`);
    const block = this.store(header, hash, this.tip.height + 1, txs);
    this.connect(block);
    return block;
  }

  /**
   * Marks the block and its descendants invalid and moves to the best valid tip (Bitcoin Core's
   * invalidateblock). Answers what left and what joined the best chain; nothing for a block already
   * invalid.
   */
  invalidate(hash: string): ChainSwitch {
    const root = this.blocks.get(hash);
    assert(root !== undefined, `block ${hash} is known`);
    assert(root.height > 0, 'the genesis block cannot be invalidated');
    const pending = [hash];
    while (pending.length > 0) {
      const current = pending.pop()!;
      this.invalid.add(current);
      pending.push(...(this.children.get(current) ?? []));
    }
    return this.switchTo(this.bestValidTip());
  }

  private store(header: BlockHeader, hash: string, height: number, txs: readonly DevnetTx[]): StoredBlock {
    const { size, weight } = blockSize(txs);
    const block: StoredBlock = { hash, height, header, txs, size, weight, arrival: this.arrivals++ };
    this.blocks.set(hash, block);
    if (height > 0) {
      const siblings = this.children.get(header.prevHash) ?? [];
      siblings.push(hash);
      this.children.set(header.prevHash, siblings);
    }
    return block;
  }

  private bestValidTip(): StoredBlock {
    let best = this.best[0]!;
    for (const block of this.blocks.values()) {
      if (this.invalid.has(block.hash)) continue;
      if (block.height > best.height || (block.height === best.height && block.arrival < best.arrival)) best = block;
    }
    return best;
  }

  private switchTo(target: StoredBlock): ChainSwitch {
    const path: StoredBlock[] = [];
    let fork = target;
    while (!this.isInBest(fork)) {
      path.push(fork);
      fork = this.blocks.get(fork.header.prevHash)!;
    }
    const disconnected: StoredBlock[] = [];
    while (this.tip.height > fork.height) disconnected.push(this.disconnectTip());
    path.reverse();
    for (const block of path) this.connect(block);
    return { disconnected, connected: path };
  }

  private connect(block: StoredBlock): void {
    assert(block.header.prevHash === this.tip.hash && block.height === this.tip.height + 1, 'a block connects on its parent');
    const spent: Array<readonly [string, Coin]> = [];
    block.txs.forEach((tx, index) => {
      assert(!this.locations.has(tx.txid), `transaction ${tx.txid} is not in the chain twice`);
      const spentByTx: Coin[] = [];
      if (!tx.coinbase) {
        tx.inputs.forEach((input, vin) => {
          const key = outpointKey(input.txid, input.vout);
          const coin = this.coins.get(key);
          assert(coin !== undefined, `block ${block.hash} spends an unknown or spent output ${key}`);
          this.removeCoin(key, coin);
          spent.push([key, coin]);
          spentByTx.push(coin);
          this.spenders.set(key, { txid: tx.txid, vin });
        });
      }
      tx.outputs.forEach((output, vout) => {
        // OP_RETURN outputs are provably unspendable and never enter the UTXO set.
        if (output.script[0] !== OP.RETURN) this.addCoin(outpointKey(tx.txid, vout), { script: output.script, valueSats: output.valueSats, height: block.height, coinbase: tx.coinbase });
      });
      this.locations.set(tx.txid, { block, index });
      for (const script of touchedScripts(tx, spentByTx)) {
        const entries = this.scriptHistory.get(script) ?? [];
        entries.push({ txid: tx.txid, height: block.height });
        this.scriptHistory.set(script, entries);
      }
    });
    this.undo.set(block.hash, spent);
    this.best.push(block);
  }

  private disconnectTip(): StoredBlock {
    const block = this.tip;
    assert(block.height > 0, 'the genesis block stays connected');
    const spent = this.undo.get(block.hash);
    assert(spent !== undefined, 'a connected block has undo data');
    for (let index = block.txs.length - 1; index >= 0; index--) {
      const tx = block.txs[index]!;
      tx.outputs.forEach((output, vout) => {
        const key = outpointKey(tx.txid, vout);
        const coin = this.coins.get(key);
        if (coin !== undefined) this.removeCoin(key, coin);
        else assert(output.script[0] === OP.RETURN, `output ${key} is unspent when its block is disconnected`);
      });
      const spentByTx: Coin[] = [];
      if (!tx.coinbase) {
        for (let vin = tx.inputs.length - 1; vin >= 0; vin--) {
          const [key, coin] = spent.pop()!;
          assert(key === outpointKey(tx.inputs[vin]!.txid, tx.inputs[vin]!.vout), 'undo data matches the inputs');
          this.addCoin(key, coin);
          this.spenders.delete(key);
          spentByTx.push(coin);
        }
      }
      this.locations.delete(tx.txid);
      for (const script of touchedScripts(tx, spentByTx)) {
        const entries = this.scriptHistory.get(script);
        assert(entries !== undefined && entries[entries.length - 1]?.txid === tx.txid, 'history is disconnected newest first');
        entries.pop();
        if (entries.length === 0) this.scriptHistory.delete(script);
      }
    }
    assert(spent.length === 0, 'every spent coin was restored');
    this.undo.delete(block.hash);
    this.best.pop();
    return block;
  }

  private addCoin(key: string, coin: Coin): void {
    this.coins.set(key, coin);
    const script = hex.encode(coin.script);
    const keys = this.coinsByScript.get(script) ?? new Set<string>();
    keys.add(key);
    this.coinsByScript.set(script, keys);
  }

  private removeCoin(key: string, coin: Coin): void {
    this.coins.delete(key);
    const script = hex.encode(coin.script);
    const keys = this.coinsByScript.get(script);
    keys?.delete(key);
    if (keys?.size === 0) this.coinsByScript.delete(script);
  }
}

/** The scripts (hex) a transaction pays or spends from, each once. */
export function touchedScripts(tx: DevnetTx, spentCoins: ReadonlyArray<{ readonly script: Uint8Array }>): Set<string> {
  const scripts = new Set<string>();
  for (const coin of spentCoins) scripts.add(hex.encode(coin.script));
  for (const output of tx.outputs) scripts.add(hex.encode(output.script));
  return scripts;
}

// The devnet's mempool: unconfirmed transactions with their fees, the outputs they spend, their
// in-mempool parents and children, and the scripts they touch. Policy (what may enter, what a
// replacement must pay) is decided by the devnet; this module keeps the bookkeeping consistent.
// Invariant: a transaction's in-mempool parents entered before it, so arrival order is a valid
// order to mine in.
import { assert } from '../assert.js';
import { outpointKey, type DevnetTx, type DevnetTxOutput } from './devnet-tx.js';
import type { Spender } from './devnet-chain.js';

export interface MempoolEntry {
  readonly tx: DevnetTx;
  readonly feeSats: number;
  /** Arrival order, increasing. */
  readonly sequence: number;
  readonly parents: Set<string>;
  readonly children: Set<string>;
  /** Scripts (hex) it pays or spends from. */
  readonly scripts: ReadonlySet<string>;
}

export class Mempool {
  private readonly entries = new Map<string, MempoolEntry>();
  private readonly spends = new Map<string, Spender>();
  private readonly byScript = new Map<string, Set<string>>();
  private nextSequence = 1;
  private vsize = 0;

  get size(): number {
    return this.entries.size;
  }

  /** Sum of the virtual sizes of all transactions. */
  get vsizeTotal(): number {
    return this.vsize;
  }

  get(txid: string): MempoolEntry | undefined {
    return this.entries.get(txid);
  }

  spender(key: string): Spender | undefined {
    return this.spends.get(key);
  }

  /** An output of a mempool transaction (spent or not), or undefined. */
  output(txid: string, vout: number): DevnetTxOutput | undefined {
    return this.entries.get(txid)?.tx.outputs[vout];
  }

  add(tx: DevnetTx, feeSats: number, scripts: ReadonlySet<string>): MempoolEntry {
    assert(!this.entries.has(tx.txid), `${tx.txid} is not in the mempool yet`);
    assert(Number.isSafeInteger(feeSats) && feeSats >= 0, 'a fee is a whole number of sats');
    const parents = new Set<string>();
    for (const input of tx.inputs) {
      const key = outpointKey(input.txid, input.vout);
      assert(!this.spends.has(key), `${key} is spent once in the mempool`);
      if (this.entries.has(input.txid)) parents.add(input.txid);
    }
    const entry: MempoolEntry = { tx, feeSats, sequence: this.nextSequence++, parents, children: new Set(), scripts };
    tx.inputs.forEach((input, vin) => this.spends.set(outpointKey(input.txid, input.vout), { txid: tx.txid, vin }));
    for (const parent of parents) this.entries.get(parent)!.children.add(tx.txid);
    for (const script of scripts) {
      const txids = this.byScript.get(script) ?? new Set<string>();
      txids.add(tx.txid);
      this.byScript.set(script, txids);
    }
    this.entries.set(tx.txid, entry);
    this.vsize += tx.vsize;
    return entry;
  }

  /** The transactions spending any of `tx`'s inputs: the ones it would replace directly. */
  conflicts(tx: DevnetTx): Set<string> {
    const found = new Set<string>();
    for (const input of tx.inputs) {
      const spender = this.spends.get(outpointKey(input.txid, input.vout));
      if (spender !== undefined) found.add(spender.txid);
    }
    return found;
  }

  /** `txids` and every in-mempool descendant of them. */
  withDescendants(txids: Iterable<string>): Set<string> {
    const found = new Set<string>();
    const pending = [...txids];
    while (pending.length > 0) {
      const txid = pending.pop()!;
      if (found.has(txid) || !this.entries.has(txid)) continue;
      found.add(txid);
      pending.push(...this.entries.get(txid)!.children);
    }
    return found;
  }

  /** The in-mempool ancestors of a transaction with these parents, stopping once `limit` are found. */
  ancestors(parents: Iterable<string>, limit: number): Set<string> {
    const found = new Set<string>();
    const pending = [...parents];
    while (pending.length > 0 && found.size < limit) {
      const txid = pending.pop()!;
      if (found.has(txid)) continue;
      found.add(txid);
      pending.push(...(this.entries.get(txid)?.parents ?? []));
    }
    return found;
  }

  /** Removes `txids` and their descendants (a replacement or a conflict); returns what left. */
  evict(txids: Iterable<string>): MempoolEntry[] {
    const doomed = this.withDescendants(txids);
    const removed = [...doomed].map((txid) => this.entries.get(txid)!).sort((a, b) => b.sequence - a.sequence);
    for (const entry of removed) this.removeOne(entry); // children first, so no parent is left half-linked
    return removed;
  }

  /** Removes a transaction that was mined: its children stay, with one parent fewer. */
  removeMined(txid: string): void {
    const entry = this.entries.get(txid);
    if (entry === undefined) return;
    assert(entry.parents.size === 0, `${txid} is mined after its parents`);
    for (const child of entry.children) this.entries.get(child)!.parents.delete(txid);
    entry.children.clear();
    this.removeOne(entry);
  }

  /** Every entry in arrival order (parents before children). */
  ordered(): MempoolEntry[] {
    return [...this.entries.values()].sort((a, b) => a.sequence - b.sequence);
  }

  /** Entries touching a script (hex), newest first. */
  touching(scriptHex: string): MempoolEntry[] {
    return [...(this.byScript.get(scriptHex) ?? [])].map((txid) => this.entries.get(txid)!).sort((a, b) => b.sequence - a.sequence);
  }

  /** Empties the mempool and answers what it held, in arrival order. */
  clear(): MempoolEntry[] {
    const all = this.ordered();
    this.entries.clear();
    this.spends.clear();
    this.byScript.clear();
    this.vsize = 0;
    return all;
  }

  private removeOne(entry: MempoolEntry): void {
    assert(entry.children.size === 0 || [...entry.children].every((child) => !this.entries.has(child)), 'a transaction leaves the mempool after its children');
    const txid = entry.tx.txid;
    for (const input of entry.tx.inputs) this.spends.delete(outpointKey(input.txid, input.vout));
    for (const parent of entry.parents) this.entries.get(parent)?.children.delete(txid);
    for (const script of entry.scripts) {
      const txids = this.byScript.get(script);
      txids?.delete(txid);
      if (txids?.size === 0) this.byScript.delete(script);
    }
    this.entries.delete(txid);
    this.vsize -= entry.tx.vsize;
  }
}

// One article's order book: resting BUY and SELL bids in two indexed heaps.
// Priority: price first (highest BUY, lowest SELL); among equal prices the earlier expiry (the
// original's tie rule); among equal expiries the earlier arrival (sequence number). Since every
// bid of an article lives equally long, this is price-time priority. An incoming bid crosses
// the best opposite bid when SELL price ≤ BUY price; the trade price is the resting bid's.
import { assert } from '../assert.js';
import { IndexedHeap } from '../heap.js';
import type { HeapItem } from '../heap.js';
import type { BidSide } from '../machines/bid.js';

export interface BookEntry extends HeapItem {
  readonly bidId: string;
  readonly seq: number;
  readonly participant: string;
  readonly side: BidSide;
  readonly priceSats: number;
  readonly expiresMs: number;
}

export interface DepthLevel {
  readonly priceSats: number;
  readonly count: number;
}

export interface Depth {
  /** BUY levels, best (highest) first. */
  readonly bids: readonly DepthLevel[];
  /** SELL levels, best (lowest) first. */
  readonly asks: readonly DepthLevel[];
}

export interface LastTrade {
  readonly priceSats: number;
  readonly txId: string;
  readonly atMs: number;
}

/** Same price: earlier expiry first, then earlier arrival. */
function timeBefore(a: BookEntry, b: BookEntry): boolean {
  return a.expiresMs < b.expiresMs || (a.expiresMs === b.expiresMs && a.seq < b.seq);
}

export function buyBefore(a: BookEntry, b: BookEntry): boolean {
  return a.priceSats > b.priceSats || (a.priceSats === b.priceSats && timeBefore(a, b));
}

export function sellBefore(a: BookEntry, b: BookEntry): boolean {
  return a.priceSats < b.priceSats || (a.priceSats === b.priceSats && timeBefore(a, b));
}

/** Whether a new bid at `priceSats` on `side` trades with the resting `best` of the other side. */
export function crosses(side: BidSide, priceSats: number, best: BookEntry): boolean {
  return side === 'BUY' ? best.priceSats <= priceSats : best.priceSats >= priceSats;
}

export class OrderBook<T extends BookEntry> {
  readonly buys = new IndexedHeap<T>(buyBefore);
  readonly sells = new IndexedHeap<T>(sellBefore);
  private readonly buyLevels = new Map<number, number>();
  private readonly sellLevels = new Map<number, number>();
  lastTrade: LastTrade | null = null;

  get size(): number {
    return this.buys.size + this.sells.size;
  }

  /**
   * The best resting bid a new bid on `side` would meet, if it crosses; with `acceptable`, the best
   * that crosses and is acceptable to pair with (a BUY's avoid list). The best is nearly always
   * acceptable; only when it is not are all crossing bids scanned (O(book), and rare: it takes a
   * buyer that names sellers to avoid and finds one of them first).
   */
  matchFor(side: BidSide, priceSats: number, acceptable?: (resting: T) => boolean): T | undefined {
    const heap = side === 'BUY' ? this.sells : this.buys;
    const best = heap.peek();
    if (best === undefined || !crosses(side, priceSats, best)) return undefined;
    if (acceptable === undefined || acceptable(best)) return best;
    const before = side === 'BUY' ? sellBefore : buyBefore;
    let chosen: T | undefined;
    for (const entry of heap.values()) {
      if (crosses(side, priceSats, entry) && acceptable(entry) && (chosen === undefined || before(entry, chosen))) chosen = entry;
    }
    return chosen;
  }

  insert(entry: T): void {
    const levels = entry.side === 'BUY' ? this.buyLevels : this.sellLevels;
    levels.set(entry.priceSats, (levels.get(entry.priceSats) ?? 0) + 1);
    (entry.side === 'BUY' ? this.buys : this.sells).push(entry);
  }

  remove(entry: T): void {
    (entry.side === 'BUY' ? this.buys : this.sells).remove(entry);
    const levels = entry.side === 'BUY' ? this.buyLevels : this.sellLevels;
    const count = levels.get(entry.priceSats);
    assert(count !== undefined && count > 0, 'a resting bid is counted in its price level');
    if (count === 1) levels.delete(entry.priceSats);
    else levels.set(entry.priceSats, count - 1);
  }

  depth(levelsMax: number): Depth {
    assert(Number.isSafeInteger(levelsMax) && levelsMax >= 0, 'levelsMax must be a whole number');
    const level = ([priceSats, count]: [number, number]): DepthLevel => ({ priceSats, count });
    const bids = [...this.buyLevels].sort((a, b) => b[0] - a[0]).slice(0, levelsMax).map(level);
    const asks = [...this.sellLevels].sort((a, b) => a[0] - b[0]).slice(0, levelsMax).map(level);
    return { bids, asks };
  }
}

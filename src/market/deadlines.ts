// The core's own timer queue: absolute deadlines, fired when a command's time reaches them.
//   * Bid expiries: every bid of an article lives equally long and time never goes back, so an
//     article's bids expire in the order they arrived. Each article has a FIFO lane, and a small
//     heap orders the lanes by their first entry: resting a bid costs an array push, not a heap
//     insertion.
//   * Transaction deadlines: a heap of entries (a deadline can move later; the old entry stays
//     and is skipped when it comes due, because the transaction then has a later deadline).
// Order is canonical, from the entities alone: due time, then kind (bid expiries before
// transaction deadlines), then the entity's sequence number. A core rebuilt from exported state
// (which holds no queue) therefore fires in the same order as the live one.
// Entries are never removed early: a matched or withdrawn bid stays in its lane and the core
// skips it when it comes due.
import { assert } from '../assert.js';
import { DeadlineHeap, IndexedHeap } from '../heap.js';
import type { Deadline, HeapItem } from '../heap.js';

export interface ExpiringEntry {
  readonly seq: number;
  readonly expiresMs: number;
}

/** A transaction's deadline: `order` is the transaction's sequence number. */
export type TxDeadline = Deadline;

/** One article's bids, in arrival order (which is also expiry order). */
export class ExpiryLane<T extends ExpiringEntry> implements HeapItem {
  heapIndex = -1;
  private items: T[] = [];
  private head = 0;

  get first(): T | undefined {
    return this.items[this.head];
  }

  get size(): number {
    return this.items.length - this.head;
  }

  append(item: T): void {
    const last = this.items[this.items.length - 1];
    if (last !== undefined) assert(last.expiresMs <= item.expiresMs && last.seq < item.seq, 'a lane stays in expiry order');
    this.items.push(item);
  }

  shift(): T | undefined {
    const item = this.items[this.head];
    if (item === undefined) return undefined;
    this.head += 1;
    // Drop the consumed prefix now and then, so the array does not grow without bound.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

function laneBefore(a: ExpiryLane<ExpiringEntry>, b: ExpiryLane<ExpiringEntry>): boolean {
  const x = a.first!;
  const y = b.first!;
  return x.expiresMs < y.expiresMs || (x.expiresMs === y.expiresMs && x.seq < y.seq);
}

export type DueItem<T> = { readonly kind: 'bid'; readonly bid: T } | { readonly kind: 'tx'; readonly deadline: TxDeadline };

export class DeadlineQueue<T extends ExpiringEntry> {
  /** Non-empty lanes, ordered by their first entry. */
  private readonly lanes = new IndexedHeap<ExpiryLane<T>>(laneBefore);
  private readonly txs = new DeadlineHeap();

  expireInLane(lane: ExpiryLane<T>, entry: T): void {
    lane.append(entry);
    if (lane.size === 1) this.lanes.push(lane);
  }

  pushTx(dueMs: number, seq: number, id: string): void {
    this.txs.push(dueMs, seq, id);
  }

  /** The earliest deadline at or before `nowMs`, taken off the queue; undefined if none. */
  popDue(nowMs: number): DueItem<T> | undefined {
    const lane = this.lanes.peek();
    const bid = lane?.first;
    const tx = this.txs.peek();
    const bidDue = bid !== undefined && bid.expiresMs <= nowMs;
    const txDue = tx !== undefined && tx.dueMs <= nowMs;
    // At the same time, bid expiries come first.
    if (bidDue && (!txDue || bid.expiresMs <= tx.dueMs)) {
      this.lanes.remove(lane!);
      lane!.shift();
      if (lane!.size > 0) this.lanes.push(lane!);
      return { kind: 'bid', bid };
    }
    if (txDue) {
      this.txs.pop();
      return { kind: 'tx', deadline: tx };
    }
    return undefined;
  }
}

// The one binary heap: its items remember their position, so that any item can be removed in
// O(log n) (a withdrawn bid leaves the middle of the book; a cleared timer leaves the virtual
// clock's queue). The order books, the market's and the actor host's deadlines, the virtual
// clock's timers and the nonce registry's expiries sit on it. Iterative, no allocation per
// operation beyond the array's own growth.
import { assert } from './assert.js';

export interface HeapItem {
  /** Position in the heap; -1 when not in one. Owned by the heap. */
  heapIndex: number;
}

export class IndexedHeap<T extends HeapItem> {
  private readonly items: T[] = [];

  /** `before(a, b)`: a must come out first. Items that neither precedes come out in no set order. */
  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    assert(item.heapIndex === -1, 'an item can be in one heap once');
    item.heapIndex = this.items.length;
    this.items.push(item);
    this.siftUp(item.heapIndex);
  }

  pop(): T | undefined {
    const top = this.items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  remove(item: T): void {
    const index = item.heapIndex;
    assert(index >= 0 && this.items[index] === item, 'the item is not in this heap');
    const last = this.items.pop()!;
    item.heapIndex = -1;
    if (last === item) return;
    this.items[index] = last;
    last.heapIndex = index;
    this.siftUp(index);
    this.siftDown(last.heapIndex);
  }

  clear(): void {
    for (const item of this.items) item.heapIndex = -1;
    this.items.length = 0;
  }

  /** The items in heap order (not sorted); for export and checks. */
  values(): readonly T[] {
    return this.items;
  }

  private siftUp(start: number): void {
    const items = this.items;
    let index = start;
    const item = items[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex]!;
      if (!this.before(item, parent)) break;
      items[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    items[index] = item;
    item.heapIndex = index;
  }

  private siftDown(start: number): void {
    const items = this.items;
    const length = items.length;
    let index = start;
    const item = items[index]!;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && this.before(items[right]!, items[left]!)) child = right;
      const candidate = items[child]!;
      if (!this.before(candidate, item)) break;
      items[index] = candidate;
      candidate.heapIndex = index;
      index = child;
    }
    items[index] = item;
    item.heapIndex = index;
  }
}

/** One deadline: due at `dueMs`; of deadlines due at once, the lower `order` comes first. */
export interface Deadline extends HeapItem {
  readonly dueMs: number;
  readonly order: number;
  readonly id: string;
}

const deadlineBefore = (a: Deadline, b: Deadline): boolean => a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.order < b.order);

/**
 * Deadlines in (due time, order) order, so that runs are deterministic: the market's transaction
 * deadlines (order: the transaction's sequence number) and the actor host's (order: arming
 * order). Stale entries (a deadline that moved) are left in and skipped by the caller.
 */
export class DeadlineHeap {
  private readonly heap = new IndexedHeap<Deadline>(deadlineBefore);

  get size(): number {
    return this.heap.size;
  }

  push(dueMs: number, order: number, id: string): void {
    assert(Number.isSafeInteger(dueMs), 'a deadline is a whole millisecond');
    this.heap.push({ dueMs, order, id, heapIndex: -1 });
  }

  peek(): Deadline | undefined {
    return this.heap.peek();
  }

  pop(): Deadline | undefined {
    return this.heap.pop();
  }

  clear(): void {
    this.heap.clear();
  }
}

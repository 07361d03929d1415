// Deadlines ordered by (time, arming order): deadlines due at the same instant fire in the order
// they were armed, so runs are deterministic. Stale entries (an actor re-armed or stopped) are
// dropped lazily by the caller comparing the entry's order with the actor's current one.
import { IndexedHeap } from '../heap.js';

export interface DeadlineEntry {
  readonly deadlineMs: number;
  readonly order: number;
  readonly id: string;
  heapIndex: number;
}

export class DeadlineQueue {
  private readonly heap = new IndexedHeap<DeadlineEntry>((a, b) => a.deadlineMs < b.deadlineMs || (a.deadlineMs === b.deadlineMs && a.order < b.order));
  private nextOrder = 0;

  get size(): number {
    return this.heap.size;
  }

  /** Adds an entry; returns its arming order (the caller keeps it to recognise stale entries). */
  push(id: string, deadlineMs: number): number {
    const order = this.nextOrder++;
    this.heap.push({ deadlineMs, order, id, heapIndex: -1 });
    return order;
  }

  peek(): DeadlineEntry | undefined {
    return this.heap.peek();
  }

  pop(): DeadlineEntry | undefined {
    return this.heap.pop();
  }

  clear(): void {
    this.heap.clear();
  }
}

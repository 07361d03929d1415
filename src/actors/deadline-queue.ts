// A min-heap of (deadline, arming order, actor id): deadlines due at the same instant fire in the
// order they were armed, so runs are deterministic. Stale entries (an actor re-armed or stopped)
// are dropped lazily by the caller checking the actor's current deadline.
export interface DeadlineEntry {
  readonly deadlineMs: number;
  readonly order: number;
  readonly id: string;
}

export class DeadlineQueue {
  private readonly heap: DeadlineEntry[] = [];
  private nextOrder = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Adds an entry; returns its arming order (the caller keeps it to recognise stale entries). */
  push(id: string, deadlineMs: number): number {
    const heap = this.heap;
    const order = this.nextOrder++;
    heap.push({ deadlineMs, order, id });
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(heap[index]!, heap[parent]!)) break;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
    return order;
  }

  peek(): DeadlineEntry | undefined {
    return this.heap[0];
  }

  pop(): DeadlineEntry | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    heap[0] = last;
    let index = 0;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === index) return top;
      [heap[index], heap[smallest]] = [heap[smallest]!, heap[index]!];
      index = smallest;
    }
  }

  clear(): void {
    this.heap.length = 0;
  }
}

function before(a: DeadlineEntry, b: DeadlineEntry): boolean {
  return a.deadlineMs < b.deadlineMs || (a.deadlineMs === b.deadlineMs && a.order < b.order);
}

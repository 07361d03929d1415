// Time is an input (ARCHITECTURE.md, principle 2). Core code never calls Date.now() or
// setTimeout directly: it is handed a Clock. Production uses `realClock`; tests and the
// simulator use a VirtualClock that only moves when told to.
import { assert } from './assert.js';
import { IndexedHeap } from './heap.js';

export type TimerId = number;

export interface Clock {
  /** Milliseconds since the Unix epoch (virtual or real). */
  now(): number;
  /** Calls `callback` once, `delayMs` from now. Timers due at the same instant fire in the order set. */
  setTimer(callback: () => void, delayMs: number): TimerId;
  clearTimer(id: TimerId): void;
}

class RealClock implements Clock {
  private readonly handles = new Map<TimerId, NodeJS.Timeout>();
  private nextId = 1;

  now(): number {
    return Date.now();
  }

  setTimer(callback: () => void, delayMs: number): TimerId {
    const id = this.nextId++;
    const handle = setTimeout(() => {
      this.handles.delete(id);
      callback();
    }, Math.max(0, delayMs));
    this.handles.set(id, handle);
    return id;
  }

  clearTimer(id: TimerId): void {
    const handle = this.handles.get(id);
    if (handle === undefined) return;
    clearTimeout(handle);
    this.handles.delete(id);
  }
}

/** The wall clock. Only hosts (server, daemon, CLI) create it; core code receives it. */
export const realClock: Clock = new RealClock();

interface VirtualTimer {
  readonly id: TimerId;
  readonly dueMs: number;
  readonly callback: () => void;
  heapIndex: number;
}

/**
 * A clock that moves only when advanced. Timers fire in (due time, creation order), so a run is
 * a pure function of its inputs. A timer set by a firing timer fires in the same advance if due.
 */
export class VirtualClock implements Clock {
  private nowMs: number;
  private nextId = 1;
  private readonly heap = new IndexedHeap<VirtualTimer>((a, b) => a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.id < b.id));
  /** The timers that have neither fired nor been cleared, by id. */
  private readonly pending = new Map<TimerId, VirtualTimer>();

  constructor(startMs = 0) {
    assert(Number.isSafeInteger(startMs), 'VirtualClock start must be an integer');
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimer(callback: () => void, delayMs: number): TimerId {
    assert(Number.isFinite(delayMs), 'timer delay must be finite');
    const timer: VirtualTimer = { id: this.nextId++, dueMs: this.nowMs + Math.max(0, Math.ceil(delayMs)), callback, heapIndex: -1 };
    this.heap.push(timer);
    this.pending.set(timer.id, timer);
    return timer.id;
  }

  /** Cancels a pending timer; clearing one that fired or was cleared already does nothing. */
  clearTimer(id: TimerId): void {
    const timer = this.pending.get(id);
    if (timer === undefined) return;
    this.pending.delete(id);
    this.heap.remove(timer);
  }

  /** Number of timers still pending. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Due time of the earliest pending timer, or undefined. */
  nextDueMs(): number | undefined {
    return this.heap.peek()?.dueMs;
  }

  /** Moves time forward to `targetMs`, firing every timer due on the way, in order. */
  advanceTo(targetMs: number): void {
    assert(targetMs >= this.nowMs, `cannot move a clock backwards (${targetMs} < ${this.nowMs})`);
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined || top.dueMs > targetMs) break;
      this.heap.pop();
      this.pending.delete(top.id);
      this.nowMs = top.dueMs;
      top.callback();
    }
    this.nowMs = targetMs;
  }

  advanceBy(deltaMs: number): void {
    assert(deltaMs >= 0, 'advanceBy needs a non-negative delta');
    this.advanceTo(this.nowMs + deltaMs);
  }

  /** Fires timers due now (e.g. those set with delay 0) without moving time. */
  runDue(): void {
    this.advanceTo(this.nowMs);
  }
}

/**
 * Advances in steps of at most `stepMs`, so that periodic timers (heartbeats, sweeps) fire once
 * per period instead of once per big jump.
 */
export function advance(clock: VirtualClock, totalMs: number, stepMs: number): void {
  assert(stepMs > 0, 'advance step must be positive');
  const targetMs = clock.now() + totalMs;
  while (clock.now() < targetMs) clock.advanceTo(Math.min(targetMs, clock.now() + stepMs));
}

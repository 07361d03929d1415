// The simulation's time: one VirtualClock for everything (exchange, network, agents), moved from
// one due timer to the next (at most once per STEP_RESOLUTION_MS). Between two moves the kernel lets the promise chains that the timers
// started run to rest (the exchange's journal, for one, commits on a setImmediate turn). Nothing in
// a simulation does real I/O, so what runs between two moves, and in which order, is the same on
// every run: a seed reproduces the run exactly.
import { assert } from '../src/assert.js';
import { VirtualClock } from '../src/clock.js';

/** Event-loop turns given to promise chains after each move of the clock. */
const TURNS_PER_STEP = 1;
/**
 * The kernel moves the clock at most once per this many virtual milliseconds: every timer due in
 * the window fires at its own time, and the promise chains they start run at the window's end.
 * So an answer is acted on up to this much later than it arrived; in exchange, far fewer moves.
 */
export const STEP_RESOLUTION_MS = 10;

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class Kernel {
  readonly clock: VirtualClock;
  /** Clock moves made (each runs every timer due at that instant). */
  steps = 0;

  constructor(startMs: number) {
    this.clock = new VirtualClock(startMs);
  }

  now(): number {
    return this.clock.now();
  }

  /** Lets pending promise chains run at the current instant. */
  async settle(): Promise<void> {
    for (let index = 0; index < TURNS_PER_STEP; index++) await turn();
  }

  /** Runs every timer due up to `untilMs`, in time order, then stops the clock there. */
  async runUntil(untilMs: number, onStep?: (nowMs: number) => void): Promise<void> {
    assert(untilMs >= this.clock.now(), 'time runs forward');
    await this.settle();
    for (;;) {
      const dueMs = this.clock.nextDueMs();
      if (dueMs === undefined || dueMs > untilMs) break;
      const stepMs = Math.min(untilMs, Math.ceil(dueMs / STEP_RESOLUTION_MS) * STEP_RESOLUTION_MS);
      this.clock.advanceTo(stepMs);
      this.steps++;
      await this.settle();
      onStep?.(stepMs);
    }
    this.clock.advanceTo(untilMs);
    await this.settle();
  }
}

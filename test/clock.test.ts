// Goal: the virtual clock fires every timer exactly once, at its due time, in (due time, creation
// order), never a cancelled one, and the seeded PRNG is reproducible. Method: fast-check against a
// naive model (a plain list sorted on every step).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VirtualClock, advance } from '../src/clock.js';
import { createPrng } from '../src/random.js';

type Op = { kind: 'set'; delayMs: number } | { kind: 'clear'; pick: number } | { kind: 'advance'; ms: number };
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), delayMs: fc.nat(50) }),
  fc.record({ kind: fc.constant('clear' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.nat(40) }),
);

test('timers fire once, in (due time, creation order), cancelled ones never', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const clock = new VirtualClock(0);
      const fired: Array<[number, number]> = [];
      const model: Array<{ id: number; dueMs: number; cancelled: boolean }> = [];
      const expected: Array<[number, number]> = [];
      let created = 0;
      const ids: number[] = [];
      for (const current of ops) {
        if (current.kind === 'set') {
          const label = created++;
          ids.push(clock.setTimer(() => fired.push([label, clock.now()]), current.delayMs));
          model.push({ id: label, dueMs: clock.now() + current.delayMs, cancelled: false });
        } else if (current.kind === 'clear' && ids.length > 0) {
          const index = current.pick % ids.length;
          clock.clearTimer(ids[index]!);
          model[index]!.cancelled = true;
        } else if (current.kind === 'advance') {
          const target = clock.now() + current.ms;
          const due = model.filter((timer) => !timer.cancelled && timer.dueMs <= target && !expected.some(([id]) => id === timer.id));
          due.sort((a, b) => a.dueMs - b.dueMs || a.id - b.id);
          for (const timer of due) expected.push([timer.id, timer.dueMs]);
          clock.advanceTo(target);
        }
      }
      assert.deepEqual(fired, expected);
    }),
    { numRuns: 500 },
  );
});

test('a timer set by a firing timer fires in the same advance when due; advance() steps', () => {
  const clock = new VirtualClock(100);
  const log: number[] = [];
  clock.setTimer(() => {
    log.push(clock.now());
    clock.setTimer(() => log.push(clock.now()), 5);
  }, 10);
  clock.advanceTo(120);
  assert.deepEqual(log, [110, 115]);
  let ticks = 0;
  const tick = (): void => {
    ticks += 1;
    clock.setTimer(tick, 1000);
  };
  clock.setTimer(tick, 1000);
  advance(clock, 10_000, 1000);
  assert.equal(ticks, 10);
  assert.throws(() => clock.advanceTo(0), /backwards/);
});

test('the PRNG is reproducible from its seed and spreads its values', () => {
  const a = createPrng(42);
  const b = createPrng(42);
  const values = Array.from({ length: 1000 }, () => a.nextInt(10));
  assert.deepEqual(Array.from({ length: 1000 }, () => b.nextInt(10)), values);
  for (let digit = 0; digit < 10; digit++) {
    const count = values.filter((value) => value === digit).length;
    assert.ok(count > 60 && count < 140, `digit ${digit} drawn ${count} times`);
  }
  assert.notDeepEqual(createPrng(43).nextBytes(16), createPrng(42).nextBytes(16));
});

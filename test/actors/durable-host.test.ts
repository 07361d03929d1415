// Goal: a host whose inputs are journalled recovers exactly: latest snapshot + replay of the
// journal after it equals the live host, pending deadlines included, for snapshots taken at any
// point. Method: fast-check over random inputs and clock moves on a virtual clock; recovery into
// a fresh host on the same memory store, compared by full snapshot and by what happens next.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VirtualClock } from '../../src/clock.js';
import { ActorHost } from '../../src/actors/host.js';
import { DurableActorHost } from '../../src/actors/durable-host.js';
import { Journal } from '../../src/store/journal.js';
import { MemoryStore } from '../../src/store/memory.js';
import { leaseKind, type LeaseEvent } from './lease-machine.js';

async function durableHost(store: MemoryStore, clock: VirtualClock): Promise<DurableActorHost> {
  const host = new ActorHost({ clock });
  host.register(leaseKind);
  return new DurableActorHost(host, await Journal.open(store), store, (atMs) => { if (atMs > clock.now()) clock.advanceTo(atMs); }, () => clock.now());
}

type Input = { kind: 'event'; actor: number; event: 'ping' | 'start' | 'renew'; ttlMs: number } | { kind: 'advance'; ms: number } | { kind: 'snapshot' };
const input: fc.Arbitrary<Input> = fc.oneof(
  fc.record({ kind: fc.constant('event' as const), actor: fc.nat(2), event: fc.constantFrom('ping' as const, 'start' as const, 'renew' as const), ttlMs: fc.integer({ min: 1, max: 400 }) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.nat(300) }),
  fc.constant({ kind: 'snapshot' as const }),
);

test('recovery from snapshot + journal equals the live host, and both continue alike', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(input, { maxLength: 30 }), async (inputs) => {
      const store = new MemoryStore();
      const clock = new VirtualClock(0);
      const live = await durableHost(store, clock);
      for (const id of ['p', 'q', 'r']) await live.spawn('lease', id, {});
      for (const step of inputs) {
        if (step.kind === 'advance') clock.advanceBy(step.ms);
        else if (step.kind === 'snapshot') await live.snapshot();
        else {
          const event: LeaseEvent = step.event === 'ping' ? { type: 'ping' } : { type: step.event, nowMs: clock.now(), ttlMs: step.ttlMs };
          await live.send(['p', 'q', 'r'][step.actor]!, event);
        }
      }
      // Recover into a fresh host on a fresh clock that replays the recorded times.
      const replayClock = new VirtualClock(0);
      const recovered = await durableHost(store, replayClock);
      await recovered.recover();
      replayClock.advanceTo(clock.now());
      assert.deepEqual(recovered.host.snapshot(), live.host.snapshot());
      // Pending deadlines were re-armed: the future is the same too.
      clock.advanceBy(1000);
      replayClock.advanceBy(1000);
      assert.deepEqual(recovered.host.snapshot(), live.host.snapshot());
    }),
    { numRuns: 100 },
  );
});

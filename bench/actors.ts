// Actor-host benchmark: events per second through the host (pure XState transition per event,
// effects, deadline re-arming) with 10 k and 100 k live actors, and heap bytes per live actor.
// Run through `npm run bench -- actors` (which passes --expose-gc for the memory figure).
import { VirtualClock } from '../src/clock.js';
import { ActorHost } from '../src/actors/host.js';
import { leaseKind } from '../test/actors/lease-machine.js';
import { benchOptions, measureRate, printFigures, round } from './support.js';

const gc = (globalThis as { gc?: () => void }).gc;

function heapUsed(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

function measure(actorCount: number, durationMs: number): { eventsPerSecond: number; bytesPerActor: number } {
  const clock = new VirtualClock(0);
  const before = heapUsed();
  const host = new ActorHost({ clock });
  host.register(leaseKind);
  for (let index = 0; index < actorCount; index++) {
    host.spawn('lease', `lease-${index}`, {});
    host.send(`lease-${index}`, { type: 'start', nowMs: 0, ttlMs: 3_600_000 + index });
  }
  const bytesPerActor = (heapUsed() - before) / actorCount;
  let next = 0;
  const eventsPerSecond = measureRate(() => {
    for (let i = 0; i < 1000; i++) {
      const index = next++ % actorCount;
      host.send(`lease-${index}`, i % 4 === 0 ? { type: 'renew', nowMs: 0, ttlMs: 3_600_000 + next } : { type: 'ping' });
    }
    return 1000;
  }, durationMs);
  if (host.size !== actorCount) throw new Error('actors lost');
  return { eventsPerSecond, bytesPerActor };
}

const options = benchOptions();
const durationMs = options.quick ? 2000 : 5000;
const small = measure(10_000, durationMs);
const large = measure(100_000, durationMs);
printFigures('actors', {
  gcExposed: gc !== undefined,
  eventsPerSecond10k: round(small.eventsPerSecond),
  eventsPerSecond100k: round(large.eventsPerSecond),
  bytesPerActor10k: round(small.bytesPerActor),
  bytesPerActor100k: round(large.bytesPerActor),
  goalBytesPerActorMax: 5000,
});

// Goal: the actor host runs XState machines deterministically on a virtual clock: deadlines in
// context fire at their time and in arming order, effects run after commit and to completion,
// a throwing actor keeps its last good state, and a snapshot restored into a fresh host continues
// exactly as the original would, pending deadlines included. Method: a lease machine with a
// deadline, unit tests, and a fast-check property over random event and clock sequences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VirtualClock } from '../../src/clock.js';
import { ActorHost, type InspectionRecord } from '../../src/actors/host.js';
import { decodeUntrusted, encode } from '../../src/transport/codec.js';
import { leaseKind, type LeaseEvent } from './lease-machine.js';

function newHost(clock: VirtualClock, log?: InspectionRecord[]): ActorHost {
  const host = new ActorHost({ clock, ...(log ? { inspect: (record) => log.push(record) } : {}) });
  host.register(leaseKind);
  return host;
}

test('a deadline in context fires at its time, not before, and ends the lease', () => {
  const clock = new VirtualClock(1000);
  const host = newHost(clock);
  host.spawn('lease', 'a', {});
  host.send('a', { type: 'start', nowMs: clock.now(), ttlMs: 500 });
  clock.advanceTo(1499);
  assert.equal(host.get('a')?.value, 'active');
  clock.advanceTo(1500);
  assert.deepEqual(host.get('a'), { value: 'expired', context: { pings: 0, deadlineMs: null, expiredAtMs: 1500 } });
  assert.deepEqual(host.send('a', { type: 'ping' }), { ok: false, error: 'actor_final', detail: 'actor "a" has finished' });
});

test('renewing moves the deadline; deadlines due at one instant fire in arming order', () => {
  const clock = new VirtualClock(0);
  const log: InspectionRecord[] = [];
  const host = newHost(clock, log);
  for (const id of ['c', 'a', 'b']) {
    host.spawn('lease', id, {});
    host.send(id, { type: 'start', nowMs: 0, ttlMs: id === 'c' ? 200 : 100 });
  }
  host.send('c', { type: 'renew', nowMs: 50, ttlMs: 50 }); // moved to the same instant, armed last
  clock.advanceTo(100);
  const expiredOrder = log.filter((record) => record.type === 'transition' && record.event.type === 'deadline').map((record) => (record as { id: string }).id);
  assert.deepEqual(expiredOrder, ['a', 'b', 'c']);
});

test('effects run after the commit and to completion: sends are queued, emits reach subscribers', () => {
  const clock = new VirtualClock(0);
  const host = newHost(clock);
  host.spawn('lease', 'x', {});
  host.spawn('lease', 'y', { pings: 10 });
  const seen: Array<[number, string[]]> = [];
  host.subscribe('y', (state, emitted) => seen.push([(state.context as { pings: number }).pings, emitted.map((event) => event.type)]));
  assert.deepEqual(host.send('x', { type: 'forward', to: 'y' }), { ok: true, queued: false });
  assert.deepEqual(seen, [[11, ['pinged']]]);
  assert.deepEqual(host.send('nobody', { type: 'ping' }), { ok: false, error: 'unknown_actor', detail: 'no actor "nobody"' });
});

test('an actor that throws keeps its last good state, the failure is reported, the host goes on', () => {
  const clock = new VirtualClock(0);
  const log: InspectionRecord[] = [];
  const host = newHost(clock, log);
  host.spawn('lease', 'a', { pings: 3 });
  const before = host.get('a');
  const result = host.send('a', { type: 'boom' });
  assert.equal(result.ok, false);
  if (!result.ok) assert.equal(result.error, 'actor_failed');
  assert.deepEqual(host.get('a'), before);
  assert.ok(log.some((record) => record.type === 'failure' && record.phase === 'step'));
  assert.deepEqual(host.send('a', { type: 'ping' }), { ok: true, queued: false });
  assert.equal((host.get('a')!.context as { pings: number }).pings, 4);
});

// Random scripts over three actors: events and clock advances.
type Action = { kind: 'event'; actor: number; event: LeaseEvent } | { kind: 'advance'; ms: number } | { kind: 'snapshot' };
const actorIds = ['p', 'q', 'r'];
const action = (nowHint: number): fc.Arbitrary<Action> =>
  fc.oneof(
    fc.record({ kind: fc.constant('event' as const), actor: fc.nat(2), event: fc.oneof(
      fc.constant<LeaseEvent>({ type: 'ping' }),
      fc.integer({ min: 1, max: 300 }).map<LeaseEvent>((ttlMs) => ({ type: 'start', nowMs: nowHint, ttlMs })),
      fc.integer({ min: 1, max: 300 }).map<LeaseEvent>((ttlMs) => ({ type: 'renew', nowMs: nowHint, ttlMs })),
      fc.nat(2).map<LeaseEvent>((to) => ({ type: 'forward', to: actorIds[to]! })),
    ) }),
    fc.record({ kind: fc.constant('advance' as const), ms: fc.nat(200) }),
  );

function run(script: readonly Action[], snapshotAt: number | undefined): { final: unknown; trace: unknown[] } {
  const clock = new VirtualClock(0);
  const trace: unknown[] = [];
  let host = newHost(clock, undefined);
  const observe = (h: ActorHost): void => {
    for (const id of actorIds) h.subscribe(id, (state, emitted) => trace.push([clock.now(), id, state.value, emitted.length]));
  };
  for (const id of actorIds) host.spawn('lease', id, {});
  observe(host);
  script.forEach((step, index) => {
    if (index === snapshotAt) {
      // Through MessagePack, as a real snapshot would travel to disk and back.
      const decoded = decodeUntrusted(encode(host.snapshot()));
      assert.ok(decoded.ok);
      host.dispose();
      host = newHost(clock, undefined);
      host.restore(decoded.value as never);
      observe(host);
    }
    if (step.kind === 'advance') clock.advanceBy(step.ms);
    else if (step.kind === 'event') {
      const event = 'nowMs' in step.event ? { ...step.event, nowMs: clock.now() } : step.event;
      host.send(actorIds[step.actor]!, event as LeaseEvent);
    }
  });
  clock.advanceBy(1000); // let every pending deadline fire
  return { final: host.snapshot(), trace };
}

test('restore equivalence: snapshot at any point, restore in a fresh host, continue: same run', () => {
  fc.assert(
    fc.property(fc.array(action(0), { maxLength: 40 }), fc.nat(), (script, cut) => {
      const straight = run(script, undefined);
      const restored = run(script, script.length === 0 ? undefined : cut % script.length);
      assert.deepEqual(restored.final, straight.final);
      assert.deepEqual(restored.trace, straight.trace);
    }),
    { numRuns: 200 },
  );
});

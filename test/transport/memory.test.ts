// Goal: the in-process transport is deterministic from its seed, keeps frames of a connection
// in order under random latency, drops frames only as configured and cuts partitioned hosts.
// Method: fast-check over seeds and latencies on a virtual clock; RpcPeer on top for loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VirtualClock } from '../../src/clock.js';
import { createPrng } from '../../src/random.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { CLOSE_CODES, type Connection } from '../../src/transport/connection.js';
import { memoryPair } from '../support/memory-pair.js';
import { testHandlers, testProtocol } from '../support/test-protocol.js';

function collect(connection: Connection): { frames: number[]; closes: number[] } {
  const seen = { frames: [] as number[], closes: [] as number[] };
  connection.setHandlers({ frame: (frame) => seen.frames.push(frame[0]!), close: (code) => seen.closes.push(code) });
  return seen;
}

test('frames of one connection arrive in order, each after its latency', () => {
  fc.assert(
    fc.property(fc.integer(), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 50 }), (seed, a, b) => {
      const clock = new VirtualClock(0);
      const latencyMs = { min: Math.min(a, b), max: Math.max(a, b) };
      const network = new MemoryNetwork({ clock, prng: createPrng(seed), faults: { latencyMs } });
      let server: { frames: number[]; closes: number[] } | undefined;
      network.listen('s:1', (connection) => (server = collect(connection)));
      const client = network.connect('c', 's:1')!;
      for (let i = 0; i < 100; i++) client.send(Uint8Array.of(i));
      clock.advanceBy(latencyMs.min > 0 ? latencyMs.min - 1 : 0);
      if (latencyMs.min > 0) assert.equal(server!.frames.length, 0, 'nothing arrives before the minimum latency');
      clock.advanceBy(latencyMs.max + 1);
      assert.deepEqual(server!.frames, Array.from({ length: 100 }, (_, i) => i));
    }),
  );
});

test('loss is drawn from the seed: the same seed loses the same frames', () => {
  const run = (seed: number): number[] => {
    const clock = new VirtualClock(0);
    const network = new MemoryNetwork({ clock, prng: createPrng(seed), faults: { lossProbability: 0.3 } });
    let server: { frames: number[] } | undefined;
    network.listen('s:1', (connection) => (server = collect(connection)));
    const client = network.connect('c', 's:1')!;
    for (let i = 0; i < 200; i++) client.send(Uint8Array.of(i % 256));
    clock.runDue();
    return server!.frames;
  };
  const first = run(42);
  assert.deepEqual(run(42), first);
  assert.ok(first.length > 100 && first.length < 180, `kept ${first.length} of 200`);
  assert.notDeepEqual(run(43), first);
});

test('with frame loss, requests time out with 1008 instead of hanging', async () => {
  const { client, flush } = memoryPair(testProtocol, testHandlers(), { faults: { lossProbability: 1 } });
  const outcome = client.request('echo', { text: 'x' }, { timeoutMs: 1000 }).catch((error) => error.code);
  await flush(1000);
  assert.equal(await outcome, 1008);
});

test('a partition cuts existing connections, refuses new ones, and heals', () => {
  const clock = new VirtualClock(0);
  const network = new MemoryNetwork({ clock, prng: createPrng(1) });
  network.listen('server:1', (connection) => collect(connection));
  const client = network.connect('client', 'server:1')!;
  const seen = collect(client);
  network.partition('client', 'server');
  assert.deepEqual(seen.closes, [CLOSE_CODES.networkFault]);
  assert.equal(client.send(Uint8Array.of(1)), false);
  assert.equal(network.connect('client', 'server:1'), undefined);
  assert.ok(network.connect('other', 'server:1'), 'other hosts are unaffected');
  network.heal('client', 'server');
  assert.ok(network.connect('client', 'server:1'));
});

test('a sender past its queue limit is closed as a slow consumer', () => {
  const clock = new VirtualClock(0);
  const network = new MemoryNetwork({ clock, prng: createPrng(1), faults: { latencyMs: { min: 10, max: 10 } }, sendQueueBytesMax: 1000 });
  network.listen('s:1', (connection) => collect(connection));
  const client = network.connect('c', 's:1')!;
  const seen = collect(client);
  assert.equal(client.send(new Uint8Array(600)), true);
  assert.equal(client.send(new Uint8Array(600)), false);
  assert.deepEqual(seen.closes, [CLOSE_CODES.slowConsumer]);
});

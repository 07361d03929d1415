// Goal: events addressed to an actor id arrive over the transport and change only what they
// should; the new state comes back; subscribers get a push per transition; bad events are
// refused with stable codes and change nothing. Method: an actor host served over the in-process
// transport (virtual clock), and one run over a real loopback WebSocket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock, realClock } from '../../src/clock.js';
import { ActorHost } from '../../src/actors/host.js';
import { actorProtocol, serveActorHost } from '../../src/actors/remote.js';
import { RpcPeer } from '../../src/transport/rpc.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { createPrng } from '../../src/random.js';
import type { ProtocolError } from '../../src/transport/errors.js';
import { connectWebSocket } from '../../src/transport/ws-client.js';
import { attachWebSocketServer } from '../../src/transport/ws-server.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { leaseKind } from './lease-machine.js';

function setup() {
  const clock = new VirtualClock(0);
  const host = new ActorHost({ clock });
  host.register(leaseKind);
  host.spawn('lease', 'lease-1', {});
  const network = new MemoryNetwork({ clock, prng: createPrng(3), faults: { latencyMs: { min: 1, max: 5 } } });
  network.listen('host:1', (connection) => serveActorHost(host, connection, { clock }));
  const client = new RpcPeer(network.connect('ui', 'host:1')!, actorProtocol, {}, { clock });
  const flush = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      clock.advanceBy(5);
    }
  };
  const call = async <T>(promise: Promise<T>): Promise<T | ProtocolError> => {
    const settled = promise.catch((error: ProtocolError) => error);
    await flush();
    return settled;
  };
  return { clock, host, client, call };
}

test('a remote event changes the actor and the response carries the new state', async () => {
  const { client, call } = setup();
  assert.deepEqual(await call(client.request('actor.send', { id: 'lease-1', event: { type: 'ping' } })), {
    id: 'lease-1', value: 'idle', context: { pings: 1, deadlineMs: null, expiredAtMs: null },
  });
});

test('subscribers get a push after every transition, with emitted events', async () => {
  const { client, host, call } = setup();
  const pushes: Array<[unknown, string[]]> = [];
  client.onPush('actor.state', (state) => pushes.push([(state.context as { pings: number }).pings, state.emitted.map((event) => event.type)]));
  await call(client.request('actor.subscribe', { id: 'lease-1' }));
  host.send('lease-1', { type: 'ping' });
  await call(client.request('actor.send', { id: 'lease-1', event: { type: 'ping' } }));
  assert.deepEqual(pushes, [[1, ['pinged']], [2, ['pinged']]]);
  await call(client.request('actor.unsubscribe', { id: 'lease-1' }));
  host.send('lease-1', { type: 'ping' });
  await call(client.request('actor.get', { id: 'lease-1' }));
  assert.equal(pushes.length, 2);
});

// Test errors by descending precedence.
test('unknown actors, events the kind does not take from the network, and malformed events are refused', async () => {
  const { client, host, call } = setup();
  const before = host.get('lease-1');
  const codes = [];
  for (const [id, event] of [
    ['nobody', { type: 'ping' }],
    ['lease-1', { type: 'boom' }],
    ['lease-1', { type: 'start', nowMs: 0, ttlMs: 5 }],
    ['lease-1', { type: 'renew', nowMs: 'soon', ttlMs: 5 }],
  ] as const) {
    codes.push(((await call(client.request('actor.send', { id, event: event as never }))) as ProtocolError).code);
  }
  assert.deepEqual(codes, [1101, 1102, 1102, 1102]);
  assert.deepEqual(host.get('lease-1'), before);
});

test('remote use over a real WebSocket', async () => {
  const host = new ActorHost({ clock: realClock });
  host.register(leaseKind);
  host.spawn('lease', 'w', {});
  const httpServer = createServer();
  const endpoint = attachWebSocketServer(httpServer, { clock: realClock, onConnection: (connection) => serveActorHost(host, connection, { clock: realClock }) });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', () => resolve()));
  try {
    const url = `ws://127.0.0.1:${(httpServer.address() as AddressInfo).port}/ws`;
    const client = new RpcPeer(await connectWebSocket(url, { clock: realClock }), actorProtocol, {}, { clock: realClock });
    const state = await client.request('actor.send', { id: 'w', event: { type: 'ping' } });
    assert.equal((state.context as { pings: number }).pings, 1);
    client.close();
  } finally {
    await endpoint.close();
    await new Promise<void>((resolve) => httpServer.close(() => resolve()));
  }
});

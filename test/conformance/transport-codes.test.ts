// Goal: the transport's codes that no exchange situation produces on purpose are still real:
// the ones a client library reports about its own connection (1008, 1009, 1010, 1013), a
// handler's bug (9001), a slow consumer (4001) and a silent peer (4004) over a real WebSocket, and
// the codes only in-process transports produce (1002 a frame past the codec's limit, 4007 a
// simulated network fault). Method: the transport test protocol on a loopback server, real ws
// clients, and the in-process network for the two in-process codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { realClock, VirtualClock } from '../../src/clock.js';
import { FRAME_BYTES_MAX } from '../../src/limits.js';
import { createPrng } from '../../src/random.js';
import { encode } from '../../src/transport/codec.js';
import type { ProtocolError } from '../../src/transport/errors.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { defineProtocol } from '../../src/transport/protocol.js';
import { RpcPeer } from '../../src/transport/rpc.js';
import { connectWebSocket } from '../../src/transport/ws-client.js';
import { z } from 'zod';
import { testHandlers, testProtocol } from '../support/test-protocol.js';
import { startTestServer } from '../support/ws-server.js';
import { COVERS } from './covers.js';

const errors = new Set<number>();
const closes = new Set<number>();

async function expectRejection(promise: Promise<unknown>, code: number, what: string): Promise<void> {
  const error = (await promise.then(() => undefined, (failure: ProtocolError) => failure)) as ProtocolError | undefined;
  assert.equal(error?.code, code, `${what}: ${error?.message ?? 'it succeeded'}`);
  errors.add(code);
}

test('client-side codes 1008, 1009, 1010, 1013 and a handler bug (9001) over a real WebSocket', async () => {
  // A server whose `echo` answers with the wrong shape, so the client's check fails (1013).
  const lying = { ...testHandlers(), echo: () => ({ text: 5 }) as never };
  const server = await startTestServer(testProtocol, lying, { clock: realClock });
  try {
    const client = new RpcPeer(await connectWebSocket(server.url, { clock: realClock }), testProtocol, {}, { clock: realClock, pendingRequestsMax: 2 });
    await expectRejection(client.request('crash', {}), 9001, 'a handler that throws');
    await expectRejection(client.request('echo', { text: 'hi' }), 1013, 'a response that does not match its schema');
    await expectRejection(client.request('never', {}, { timeoutMs: 50 }), 1008, 'no answer in time');
    const pending = [client.request('never', {}), client.request('never', {})];
    const outcomes = pending.map((request) => expectRejection(request, 1009, 'the connection closed first'));
    await expectRejection(client.request('never', {}), 1010, 'a third request with two pending');
    await server.stop();
    await Promise.all(outcomes);
  } finally {
    await server.stop().catch(() => undefined);
  }
});

test('a client that stops reading is closed with 4001; one that stops answering pings with 4004', async () => {
  const server = await startTestServer(testProtocol, testHandlers(), { clock: realClock, endpoint: { sendQueueBytesMax: 2 * 1024 * 1024, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 250 } });
  try {
    const reader = new WebSocket(server.url, { perMessageDeflate: false });
    await new Promise((resolve) => reader.once('open', resolve));
    reader.on('error', () => undefined);
    (reader as unknown as { _socket: { pause(): void } })._socket.pause(); // stop reading, keep writing
    for (let id = 1; id <= 40; id++) reader.send(encode({ v: 1, kind: 'request', id, type: 'big', body: { bytes: 900_000 } }));
    const slow = await new Promise<number>((resolve) => {
      const poll = setInterval(() => { // tidy-allow: waiting on a real server
        const closed = server.peers.find((peer) => !peer.isOpen);
        if (closed !== undefined) void closed.closed.then(({ code }) => (clearInterval(poll), resolve(code)));
      }, 20);
    });
    assert.equal(slow, 4001);
    closes.add(4001);
    reader.terminate();

    // ws answers pings by itself; this client does not, and must hear 4004 in the close frame.
    const silent = new WebSocket(server.url, { perMessageDeflate: false, autoPong: false });
    silent.on('error', () => undefined);
    const code = await new Promise<number>((resolve) => silent.once('close', (closeCode) => resolve(closeCode)));
    assert.equal(code, 4004, 'the close frame carries 4004');
    closes.add(4004);
  } finally {
    await server.stop();
  }
});

test('in-process only: a frame past the limit is 1002; a simulated network fault closes with 4007', async () => {
  const clock = new VirtualClock(0);
  const network = new MemoryNetwork({ clock, prng: createPrng(1) });
  const echo = defineProtocol({ name: 'echo', requests: { echo: { request: z.object({ data: z.instanceof(Uint8Array) }), response: z.object({}) } }, pushes: {} });
  const sent: number[] = [];
  network.listen('server:1', (connection) => new RpcPeer(connection, echo, { echo: () => ({}) }, { clock, onProtocolError: (error) => sent.push(error.code) }));
  const client = new RpcPeer(network.connect('client', 'server:1')!, echo, {}, { clock });
  const refused = client.request('echo', { data: new Uint8Array(FRAME_BYTES_MAX) }).catch((error: ProtocolError) => error);
  clock.advanceBy(10);
  assert.equal((await refused).code, 1009, 'the request ends with the connection');
  assert.deepEqual(sent, [1002], 'the server answered 1002 (id null) before it closed');
  assert.equal((await client.closed).code, 1009);
  errors.add(1002);
  const second = new RpcPeer(network.connect('client', 'server:1')!, echo, {}, { clock });
  network.partition('client', 'server');
  assert.equal((await second.closed).code, 4007);
  closes.add(4007);
});

test('this file produced exactly the codes covers.ts lists for the transport', () => {
  assert.deepEqual([...errors].sort((a, b) => a - b), [...COVERS.transport.errors]);
  assert.deepEqual([...closes].sort((a, b) => a - b), [...COVERS.transport.closes]);
});

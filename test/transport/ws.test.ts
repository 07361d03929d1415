// Goal: the WebSocket transport keeps its promises over real loopback sockets: request/response,
// push, reconnect with re-subscription, the frame size limit, the slow-consumer limit, the rate
// limit, heartbeats and the per-address connection limit. Method: a real http server on
// 127.0.0.1 and real `ws` clients; timers that matter (heartbeats, reconnect backoff) run on a
// VirtualClock that the test advances, so nothing waits on wall-clock delays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { VirtualClock, realClock } from '../../src/clock.js';
import { createPrng } from '../../src/random.js';
import { ReconnectingClient } from '../../src/transport/client.js';
import { CLOSE_CODES } from '../../src/transport/connection.js';
import { RpcPeer } from '../../src/transport/rpc.js';
import { connectWebSocket } from '../../src/transport/ws-client.js';
import { attachWebSocketServer } from '../../src/transport/ws-server.js';
import type { ProtocolError } from '../../src/transport/errors.js';
import { testHandlers, testProtocol } from '../support/test-protocol.js';
import { startTestServer, waitFor } from '../support/ws-server.js';

test('request/response and push over a real WebSocket', async () => {
  const server = await startTestServer(testProtocol, testHandlers(), { clock: realClock });
  try {
    const client = new RpcPeer(await connectWebSocket(server.url, { clock: realClock }), testProtocol, {}, { clock: realClock });
    assert.deepEqual(await client.request('add', { a: 2, b: 40 }), { sum: 42 });
    const ticks: number[] = [];
    client.onPush('tick', ({ n }) => ticks.push(n));
    await client.request('subscribe', { topic: 't' });
    assert.deepEqual(await client.request('publish', { topic: 't', n: 7 }), { delivered: 1 });
    await waitFor(() => ticks.length === 1);
    assert.deepEqual(ticks, [7]);
    client.close();
    assert.equal((await client.closed).code, CLOSE_CODES.normal);
  } finally {
    await server.stop();
  }
});

test('the client reconnects after a server restart and re-sends its subscriptions', async () => {
  const clock = new VirtualClock(0);
  let server = await startTestServer(testProtocol, testHandlers(), { clock });
  const port = server.port;
  const states: string[] = [];
  const client = new ReconnectingClient({
    protocol: testProtocol,
    clock,
    prng: createPrng(7),
    connect: () => connectWebSocket(`ws://127.0.0.1:${port}/ws`, { clock }),
    reconnectDelayMinMs: 100,
    reconnectDelayMaxMs: 1000,
    onStateChange: (state) => states.push(state),
  });
  const ticks: number[] = [];
  client.onPush('tick', ({ n }) => ticks.push(n));
  client.subscribe('subscribe', { topic: 'news' });
  client.start();
  const advance = (ms: number): void => clock.advanceBy(ms);
  try {
    await waitFor(() => client.state === 'open' && server.peers.length === 1, { advance });
    assert.deepEqual(await client.request('publish', { topic: 'news', n: 1 }), { delivered: 1 });
    await server.stop();
    await waitFor(() => client.state !== 'open', { advance });
    server = await startTestServer(testProtocol, testHandlers(), { clock, port });
    await waitFor(() => client.state === 'open', { advance });
    // The subscription was re-sent by the client, so the new server knows it.
    await waitFor(() => server.peers.length === 1, { advance });
    let delivered = 0;
    await waitFor(() => delivered === 1, {
      advance: () => void client.request('publish', { topic: 'news', n: 2 }).then((answer) => (delivered = answer.delivered)),
      attemptsMax: 50,
    });
    await waitFor(() => ticks.includes(2));
    assert.ok(states.includes('waiting'), `states: ${states.join(',')}`);
  } finally {
    client.close();
    await server.stop();
  }
});

test('a frame over maxPayload closes the connection with 1009', async () => {
  const server = await startTestServer(testProtocol, testHandlers(), { clock: realClock, endpoint: { frameBytesMax: 1024 } });
  try {
    const connection = await connectWebSocket(server.url, { clock: realClock });
    const client = new RpcPeer(connection, testProtocol, {}, { clock: realClock });
    const outcome = await client.request('echo', { text: 'x'.repeat(900) }).catch((error: ProtocolError) => error);
    assert.deepEqual(outcome, { text: 'x'.repeat(900) });
    const failed = await client.request('echo', { text: 'y'.repeat(1000) + 'z'.repeat(100) } as never).catch((error: ProtocolError) => error);
    assert.equal((failed as ProtocolError).code, 1009); // connection_closed
    assert.equal((await client.closed).code, CLOSE_CODES.messageTooBig);
  } finally {
    await server.stop();
  }
});

test('a client that stops reading is closed as a slow consumer (4001), memory stays bounded', async () => {
  const server = await startTestServer(testProtocol, testHandlers(), {
    clock: realClock,
    endpoint: { sendQueueBytesMax: 2 * 1024 * 1024 },
  });
  try {
    const socket = new WebSocket(server.url, { perMessageDeflate: false });
    await new Promise((resolve) => socket.once('open', resolve));
    socket.on('error', () => {});
    (socket as unknown as { _socket: { pause(): void } })._socket.pause(); // stop reading, keep writing
    const { encode } = await import('../../src/transport/codec.js');
    for (let id = 1; id <= 40; id++) socket.send(encode({ v: 1, kind: 'request', id, type: 'big', body: { bytes: 900_000 } }));
    await waitFor(() => server.peers.length === 1);
    const closed = await server.peers[0]!.closed;
    assert.equal(closed.code, CLOSE_CODES.slowConsumer);
    socket.terminate();
  } finally {
    await server.stop();
  }
});

test('a client flooding past the rate limit gets 1007 and is then disconnected (4002)', async () => {
  const server = await startTestServer(testProtocol, testHandlers(), {
    clock: realClock,
    peer: { rateLimit: { perSecond: 1, burst: 10 } },
  });
  try {
    const client = new RpcPeer(await connectWebSocket(server.url, { clock: realClock }), testProtocol, {}, { clock: realClock });
    const codes = await Promise.all(
      Array.from({ length: 20 }, () => client.request('echo', { text: 'x' }).then(() => 0, (error: ProtocolError) => error.code)),
    );
    assert.equal(codes.filter((code) => code === 0).length, 10);
    assert.equal(codes.filter((code) => code === 1007).length, 10);
    for (let i = 0; i < 150; i++) client.request('echo', { text: 'x' }).catch(() => {});
    assert.equal((await client.closed).code, CLOSE_CODES.rateLimited);
  } finally {
    await server.stop();
  }
});

test('a peer that stops answering heartbeats is dropped with 4004 (virtual clock)', async () => {
  const clock = new VirtualClock(0);
  const server = await startTestServer(testProtocol, testHandlers(), {
    clock,
    endpoint: { heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 3000 },
  });
  try {
    const healthy = new RpcPeer(await connectWebSocket(server.url, { clock }), testProtocol, {}, { clock });
    const silent = new WebSocket(server.url, { perMessageDeflate: false, autoPong: false });
    silent.on('error', () => {});
    await new Promise((resolve) => silent.once('open', resolve));
    await waitFor(() => server.peers.length === 2);
    // Pings go out each virtual second; the healthy client pongs (on real I/O), the silent one not.
    await waitFor(() => !server.peers[1]!.isOpen, { advance: (ms) => clock.advanceBy(ms), stepMs: 100 });
    assert.equal((await server.peers[1]!.closed).code, CLOSE_CODES.heartbeatTimeout);
    assert.equal(server.peers[0]!.isOpen, true);
    assert.equal(healthy.isOpen, true);
    healthy.close();
    silent.terminate();
  } finally {
    await server.stop();
  }
});

test('connections per address are limited, and only the WebSocket path upgrades', async () => {
  const server = await startTestServer(testProtocol, testHandlers(), { clock: realClock, endpoint: { connectionsPerAddressMax: 2 } });
  try {
    const first = await connectWebSocket(server.url, { clock: realClock });
    const second = await connectWebSocket(server.url, { clock: realClock });
    await assert.rejects(connectWebSocket(server.url, { clock: realClock }), /HTTP 429/);
    await assert.rejects(connectWebSocket(server.url.replace('/ws', '/other'), { clock: realClock }), /HTTP 404/);
    first.close(CLOSE_CODES.normal, 'done');
    await waitFor(() => server.endpoint.connectionCount === 1);
    const third = await connectWebSocket(server.url, { clock: realClock });
    second.close(CLOSE_CODES.normal, 'done');
    third.close(CLOSE_CODES.normal, 'done');
  } finally {
    await server.stop();
  }
});

test('polka routes and the WebSocket endpoint share one port', async () => {
  const { default: polka } = await import('polka');
  const app = polka().get('/health', (_request, response) => void response.end('ok'));
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', () => resolve()));
  const httpServer = app.server as import('node:http').Server;
  const endpoint = attachWebSocketServer(httpServer, {
    clock: realClock,
    onConnection: (connection) => new RpcPeer(connection, testProtocol, testHandlers(), { clock: realClock }),
  });
  try {
    const port = (httpServer.address() as import('node:net').AddressInfo).port;
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(await health.text(), 'ok');
    const client = new RpcPeer(await connectWebSocket(`ws://127.0.0.1:${port}/ws`, { clock: realClock }), testProtocol, {}, { clock: realClock });
    assert.deepEqual(await client.request('echo', { text: 'same port' }), { text: 'same port' });
    client.close();
  } finally {
    await endpoint.close();
    await new Promise<void>((resolve) => httpServer.close(() => resolve()));
  }
});

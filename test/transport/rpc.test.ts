// Goal: request/response, push, errors, timeouts and limits of RpcPeer behave as the protocol
// says, with stable error codes. Method: two peers over the in-process transport on a virtual
// clock, flushed by hand, so no test waits on wall-clock time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { memoryPair } from '../support/memory-pair.js';
import { testHandlers, testProtocol } from '../support/test-protocol.js';
import { ProtocolError } from '../../src/transport/errors.js';
import { decodeUntrusted, encode } from '../../src/transport/codec.js';
import { CLOSE_CODES } from '../../src/transport/connection.js';
import { RpcPeer } from '../../src/transport/rpc.js';

async function settle<T>(promise: Promise<T>, flush: () => Promise<void>): Promise<{ value?: T; error?: ProtocolError }> {
  const outcome = promise.then((value) => ({ value }), (error: ProtocolError) => ({ error }));
  await flush();
  return outcome;
}

test('requests get validated responses, in any number and order', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: -1e6, max: 1e6 })), { maxLength: 50 }), async (pairs) => {
      const { client, flush } = memoryPair(testProtocol, testHandlers(), { faults: { latencyMs: { min: 1, max: 30 } } });
      const answers = Promise.all(pairs.map(([a, b]) => client.request('add', { a, b })));
      await flush(100);
      assert.deepEqual((await answers).map((answer) => answer.sum), pairs.map(([a, b]) => a + b));
    }),
    { numRuns: 50 },
  );
});

// Test errors by descending precedence of where they are detected.
test('a handler rejection reaches the caller with its stable code and message', async () => {
  const { client, flush } = memoryPair(testProtocol, testHandlers());
  const { error } = await settle(client.request('reject', {}), flush);
  assert.equal(error?.code, 2006);
  assert.equal(error?.errorName, 'nonce_reused');
  assert.match(error?.message ?? '', /test rejection/);
});

test('a handler bug becomes error 9001 (internal) and is reported to the host', async () => {
  const bugs: string[] = [];
  const { client, flush } = memoryPair(testProtocol, testHandlers(), {
    serverPeer: { onHandlerError: (_error, type) => bugs.push(type) },
  });
  const { error } = await settle(client.request('crash', {}), flush);
  assert.equal(error?.code, 9001);
  assert.deepEqual(bugs, ['crash']);
});

test('an invalid body is rejected with 1006 naming the field, and the connection stays usable', async () => {
  const { client, flush } = memoryPair(testProtocol, testHandlers());
  const { error } = await settle(client.request('add', { a: 1, b: 'two' } as never), flush);
  assert.equal(error?.code, 1006);
  assert.match(error?.message ?? '', /\bb\b/);
  const { value } = await settle(client.request('echo', { text: 'still here' }), flush);
  assert.deepEqual(value, { text: 'still here' });
});

test('a request type the server does not serve is rejected with 1005', async () => {
  const { client, flush } = memoryPair(testProtocol, {});
  const { error } = await settle(client.request('echo', { text: 'x' }), flush);
  assert.equal(error?.code, 1005);
});

test('a request without an answer times out with 1008 on the virtual clock', async () => {
  const { client, flush } = memoryPair(testProtocol, testHandlers());
  const pending = client.request('never', {}, { timeoutMs: 5000 }).catch((error: ProtocolError) => error);
  await flush(4999);
  let settled = false;
  void pending.then(() => (settled = true));
  await flush();
  assert.equal(settled, false, 'must not time out early');
  await flush(1);
  assert.equal((await pending as ProtocolError).code, 1008);
});

test('pending requests fail with 1009 when the connection closes', async () => {
  const { client, server, flush } = memoryPair(testProtocol, testHandlers());
  const pending = client.request('never', {}).catch((error: ProtocolError) => error);
  await flush();
  server.close(CLOSE_CODES.goingAway, 'bye');
  await flush();
  assert.equal((await pending as ProtocolError).code, 1009);
  const { error: after } = await settle(client.request('echo', { text: 'x' }), flush);
  assert.equal(after?.code, 1009);
});

test('a malformed frame closes the connection with 4003 after an error frame', async () => {
  const { client, server, flush } = memoryPair(testProtocol, testHandlers());
  client.connection.send(Uint8Array.of(0xc1));
  await flush();
  assert.equal(server.isOpen, false);
  assert.equal((await server.closed).code, CLOSE_CODES.malformed);
  assert.equal(server.stats.protocolErrors, 1);
});

test('a frame of another protocol version closes the connection with 4005', async () => {
  const { client, server, flush } = memoryPair(testProtocol, testHandlers());
  client.connection.send(encode({ v: 2, kind: 'request', id: 1, type: 'echo', body: { text: 'x' } }));
  await flush();
  assert.equal((await server.closed).code, CLOSE_CODES.unsupportedVersion);
});

test('an invalid envelope closes the connection with 4003', async () => {
  const { client, server, flush } = memoryPair(testProtocol, testHandlers());
  client.connection.send(encode({ v: 1, kind: 'request', id: -5, type: 'echo' }));
  await flush();
  assert.equal((await server.closed).code, CLOSE_CODES.malformed);
});

test('past the rate limit requests get 1007 without running, and the limit refills with time', async () => {
  let handled = 0;
  const { client, flush } = memoryPair(testProtocol, { ...testHandlers(), echo: ({ text }) => (handled++, { text }) }, {
    serverPeer: { rateLimit: { perSecond: 10, burst: 5 } },
  });
  const burst = Array.from({ length: 8 }, () => client.request('echo', { text: 'x' }).then(() => 'ok', (error: ProtocolError) => error.code));
  await flush();
  assert.deepEqual(await Promise.all(burst), ['ok', 'ok', 'ok', 'ok', 'ok', 1007, 1007, 1007]);
  assert.equal(handled, 5);
  await flush(1000); // refills 10 tokens, capped at the burst of 5
  const later = await settle(client.request('echo', { text: 'again' }), flush);
  assert.deepEqual(later.value, { text: 'again' });
});

test('a peer that keeps flooding past the limit is disconnected with 4002', async () => {
  const { client, server, flush } = memoryPair(testProtocol, testHandlers(), {
    serverPeer: { rateLimit: { perSecond: 1, burst: 1 } },
  });
  for (let i = 0; i < 200; i++) client.request('echo', { text: 'x' }).catch(() => {});
  await flush();
  assert.equal((await server.closed).code, CLOSE_CODES.rateLimited);
});

test('pushes reach subscribers only, validated against the push schema', async () => {
  const { client, flush } = memoryPair(testProtocol, testHandlers());
  const seen: number[] = [];
  client.onPush('tick', ({ n }) => seen.push(n));
  await settle(client.request('publish', { topic: 'a', n: 1 }), flush);
  await settle(client.request('subscribe', { topic: 'a' }), flush);
  const { value } = await settle(client.request('publish', { topic: 'a', n: 2 }), flush);
  await settle(client.request('publish', { topic: 'b', n: 3 }), flush);
  await flush();
  assert.deepEqual(value, { delivered: 1 });
  assert.deepEqual(seen, [2]);
});

test('a response that does not match its schema is rejected with 1013', async () => {
  const { client, flush } = memoryPair(testProtocol, { add: () => ({ sum: 'not a number' }) as never });
  const { error } = await settle(client.request('add', { a: 1, b: 2 }), flush);
  assert.equal(error?.code, 1013);
});

test('the number of requests awaiting an answer is bounded', async () => {
  const { client, clock, flush } = memoryPair(testProtocol, testHandlers());
  const limited = new RpcPeer(client.connection, testProtocol, {}, { clock, pendingRequestsMax: 2 });
  const outcomes = [1, 2, 3].map(() => limited.request('never', {}).then(() => 0, (error: ProtocolError) => error.code));
  await flush();
  assert.equal(await outcomes[2], 1010);
});

test('a request id reused while the first is still being handled is rejected with 1012', async () => {
  const { client, server, flush } = memoryPair(testProtocol, testHandlers());
  const answers: unknown[] = [];
  client.connection.setHandlers({ frame: (frame) => answers.push(decodeUntrusted(frame)), close: () => {} });
  client.connection.send(encode({ v: 1, kind: 'request', id: 7, type: 'never', body: {} }));
  client.connection.send(encode({ v: 1, kind: 'request', id: 7, type: 'echo', body: { text: 'x' } }));
  await flush();
  assert.equal(answers.length, 1);
  assert.equal((answers[0] as { value: { code: number } }).value.code, 1012);
  assert.equal(server.isOpen, true);
});

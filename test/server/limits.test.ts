// Goal: nothing an attacker can send makes the exchange hold more than its limits: TCP connections
// (in all and per address, counted before any upgrade), sockets that say nothing or send their
// headers slowly, signed commands in flight (shed at once with 9002 and a retry hint instead of
// queued), and the relay's listeners per address. Method: the real server composition on
// loopback, small limits set through its options, raw sockets and hand-signed frames.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realClock } from '../../src/clock.js';
import { signMessage } from '../../src/crypto/signmessage.js';
import type { Identity } from '../../src/crypto/keys.js';
import { RELAY_LISTENERS_PER_ADDRESS_MAX } from '../../src/server/relay.js';
import { relayListenText } from '../../src/protocol/relay.js';
import { startExchangeServer, type ExchangeServerOptions, type RunningExchangeServer } from '../../src/server/serve.js';
import { placeBidText } from '../../src/protocol/signed-commands.js';
import { newIdentity } from '../support/exchange.js';
import { RawClient } from '../support/raw-client.js';

const EXCHANGE_ID = 'bitwrk-limits';
const ARTICLE = 'net.bitwrk/test/hash/0';

async function withServer(extra: Partial<ExchangeServerOptions>, run: (server: RunningExchangeServer) => Promise<void>): Promise<void> {
  const server = await startExchangeServer({
    clock: realClock, host: '127.0.0.1', port: 0, dataDir: mkdtempSync(join(tmpdir(), 'bitwrk-limits-')),
    exchangeId: EXCHANGE_ID, network: 'testnet', adminAddress: newIdentity().address, workers: 0, ...extra,
  });
  try {
    await run(server);
  } finally {
    await server.stop();
  }
}

/** A raw TCP connection; resolves with what the server wrote and when it closed. */
function rawSocket(port: number, localAddress = '127.0.0.1'): { socket: Socket; closed: Promise<string> } {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  let received = '';
  socket.on('data', (data: Buffer) => (received += data.toString()));
  socket.on('error', () => undefined);
  return { socket, closed: new Promise((resolve) => socket.once('close', () => resolve(received))) };
}

function opened(socket: Socket): Promise<void> {
  return new Promise((resolve) => (socket.readyState === 'open' ? resolve() : socket.once('connect', () => resolve())));
}

test('TCP connections are capped per address and in all, before any HTTP or WebSocket is spoken', async () => {
  await withServer({ connections: { connectionsMax: 20, connectionsPerAddressMax: 5 } }, async (server) => {
    const held = Array.from({ length: 5 }, () => rawSocket(server.port));
    await Promise.all(held.map(({ socket }) => opened(socket)));
    const sixth = rawSocket(server.port);
    assert.match(await sixth.closed, /^HTTP\/1\.1 429/, 'the sixth from one address');
    // Other addresses (all of 127/8 is loopback) still get in, up to the total.
    const others = Array.from({ length: 15 }, (_, index) => rawSocket(server.port, `127.0.0.${index + 2}`));
    await Promise.all(others.map(({ socket }) => opened(socket)));
    await new Promise((resolve) => setTimeout(resolve, 100)); // tidy-allow: let the server count them
    const overTotal = rawSocket(server.port, '127.0.1.1');
    assert.match(await overTotal.closed, /^HTTP\/1\.1 503/, 'past the total');
    assert.equal(server.guard.connections, 20);
    for (const { socket } of [...held, ...others]) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100)); // tidy-allow: real sockets closing
    const health = await fetch(`${server.httpUrl}/health`);
    assert.equal(health.status, 200, 'a normal client is served again');
  });
});

test('a socket that sends nothing, or its headers too slowly, is closed', async () => {
  await withServer({ connections: { idleTimeoutMs: 300, headersTimeoutMs: 1_000 } }, async (server) => {
    const silent = rawSocket(server.port);
    const startedMs = performance.now();
    await silent.closed;
    assert.ok(performance.now() - startedMs < 5_000, 'the silent socket was closed');
    // Slowloris: a header byte every 200 ms is never idle for 300 ms, but the headers never end.
    const slow = rawSocket(server.port);
    await opened(slow.socket);
    const dribble = setInterval(() => slow.socket.write('X'), 200); // tidy-allow: a real slow client
    slow.socket.write('GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const answer = await slow.closed;
    clearInterval(dribble);
    assert.match(answer, /^HTTP\/1\.1 408|^$/, `closed, with a timeout answer or none: ${answer.slice(0, 40)}`);
  });
});

test('signed commands past the in-flight limit are answered 9002 at once, with a retry hint', async () => {
  await withServer({ exchange: { commandsInFlightMax: 8, identityRate: { perSecond: 100_000, burst: 100_000 } } }, async (server) => {
    const client = await RawClient.connect(server.wsUrl);
    const seller = newIdentity();
    const count = 200;
    for (let id = 1; id <= count; id++) {
      const body = { article: ARTICLE, side: 'sell', priceSats: 1000 + id, address: seller.address, nonce: `${Date.now()}-${id.toString(16).padStart(32, '0')}` }; // tidy-allow: nonces for a real-time server
      client.request(id, 'placeBid', { ...body, signature: sign(placeBidText(EXCHANGE_ID, body), seller) });
    }
    const answers = await Promise.all(Array.from({ length: count }, (_, index) => client.answer(index + 1)));
    const busy = answers.filter((answer) => answer.code === 9002);
    const accepted = answers.filter((answer) => answer.kind === 'response');
    assert.equal(busy.length + accepted.length, count, 'every command is either taken or refused as busy');
    assert.ok(busy.length > 0 && accepted.length >= 8, `${busy.length} busy, ${accepted.length} accepted`);
    assert.ok(busy.every((answer) => Number.isInteger(answer.retryAfterMs) && answer.retryAfterMs! > 0), 'busy answers carry retryAfterMs');
    assert.equal(server.exchange.openBidCount, accepted.length, 'a busy command changed nothing');
    client.close();
  });
});

function sign(text: string, identity: Identity): Uint8Array {
  return new Uint8Array(Buffer.from(signMessage(text, identity.privateKey), 'base64'));
}

test(`one remote address holds at most ${RELAY_LISTENERS_PER_ADDRESS_MAX} relay listeners`, async () => {
  await withServer({}, async (server) => {
    const listenUrl = `${server.wsUrl.replace(/\/ws$/, '')}/relay/listen`;
    const clients: RawClient[] = [];
    const listenOnce = async (): Promise<number | undefined> => {
      const client = await RawClient.connect(listenUrl);
      clients.push(client);
      client.request(1, 'relay.challenge', {});
      const challenge = ((await client.answer(1)).body as { challenge: string }).challenge;
      const seller = newIdentity();
      client.request(2, 'relay.listen', { address: seller.address, signature: sign(relayListenText(EXCHANGE_ID, seller.address, challenge), seller) });
      return (await client.answer(2)).code;
    };
    for (let index = 0; index < RELAY_LISTENERS_PER_ADDRESS_MAX; index++) assert.equal(await listenOnce(), undefined);
    assert.equal(await listenOnce(), 9002, 'the next listener from this address is refused');
    assert.equal(server.relay.stats.listeners, RELAY_LISTENERS_PER_ADDRESS_MAX);
    for (const client of clients) client.close();
  });
});

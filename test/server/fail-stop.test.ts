// Goal: the exchange never serves state its journal does not hold. A journal write that fails
// stops it (fail-stop): the command in flight is not answered "no effect", no query shows its
// effect, HTTP stops too, and a restart recovers exactly the durable state, where the client's
// resend of the same signed bytes applies once. And a query that arrives while a record is still
// on its way to the disk is answered only once that record is durable (the read gate).
// Method: the real server composition (startExchangeServer) over a store that fails or holds its
// writes on command; hand-built signed frames over a bare WebSocket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realClock } from '../../src/clock.js';
import { signMessage } from '../../src/crypto/signmessage.js';
import type { Identity } from '../../src/crypto/keys.js';
import { startExchangeServer, type RunningExchangeServer } from '../../src/server/serve.js';
import { creditText } from '../../src/protocol/signed-commands.js';
import { LmdbStore } from '../../src/store/lmdb.js';
import type { Store } from '../../src/store/store.js';
import { FaultyStore } from '../support/faulty-store.js';
import { newIdentity } from '../support/exchange.js';
import { RawClient } from '../support/raw-client.js';

const EXCHANGE_ID = 'bitwrk-fail-stop';

function start(directory: string, store: Store, admin: Identity): Promise<RunningExchangeServer> {
  return startExchangeServer({ clock: realClock, host: '127.0.0.1', port: 0, dataDir: directory, store, exchangeId: EXCHANGE_ID, network: 'testnet', adminAddress: admin.address, workers: 0 });
}

function signedCredit(admin: Identity, participant: string, amountSats: number, nonceValue: string): Record<string, unknown> {
  const unsigned = { participant, amountSats, address: admin.address, nonce: nonceValue };
  return { ...unsigned, signature: new Uint8Array(Buffer.from(signMessage(creditText(EXCHANGE_ID, unsigned), admin.privateKey), 'base64')) };
}

function freshNonce(tag: number): string {
  return `${Date.now()}-${tag.toString(16).padStart(32, '0')}`; // tidy-allow: nonces for a real-time server
}

test('a failed journal write stops the exchange; a restart recovers the durable state and the resend applies once', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'bitwrk-fail-stop-'));
  const admin = newIdentity();
  const alice = newIdentity();
  const bob = newIdentity();
  const faulty = new FaultyStore(new LmdbStore(join(directory, 'store')));
  const server = await start(directory, faulty, admin);
  const client = await RawClient.connect(server.wsUrl);
  client.request(1, 'credit', signedCredit(admin, alice.address, 1000, freshNonce(1)));
  assert.equal((await client.answer(1)).kind, 'response');

  faulty.failWrites = true;
  const lost = signedCredit(admin, bob.address, 500, freshNonce(2));
  client.request(2, 'credit', lost);
  const closed = await client.closedWith();
  assert.equal(closed.code, 1011, `closed with ${closed.code} ${closed.reason}`);
  assert.equal(client.answers.some((answer) => answer.id === 2), false, 'no answer claims the command had no effect');
  assert.match((await server.failed).message, /journal write failed/);
  await assert.rejects(fetch(`${server.httpUrl}/health`), 'HTTP stops answering too');
  await assert.rejects(RawClient.connect(server.wsUrl), 'no new connections');
  await server.stop();

  const restarted = await start(directory, new LmdbStore(join(directory, 'store')), admin);
  try {
    const again = await RawClient.connect(restarted.wsUrl);
    again.request(1, 'account', { address: bob.address });
    assert.equal(((await again.answer(1)).body as { availableSats: number }).availableSats, 0, 'the failed command left no trace');
    again.request(2, 'account', { address: alice.address });
    assert.equal(((await again.answer(2)).body as { availableSats: number }).availableSats, 1000);
    again.request(3, 'credit', lost);
    assert.deepEqual((await again.answer(3)).body, { participant: bob.address, availableSats: 500 });
    again.request(4, 'credit', lost);
    assert.equal((await again.answer(4)).code, 2006, 'the resend is applied once');
    again.close();
  } finally {
    await restarted.stop();
  }
});

test('a query is answered only once the state it reads is durable (read gate)', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'bitwrk-read-gate-'));
  const admin = newIdentity();
  const carol = newIdentity();
  const faulty = new FaultyStore(new LmdbStore(join(directory, 'store')));
  const server = await start(directory, faulty, admin);
  try {
    const client = await RawClient.connect(server.wsUrl);
    faulty.holdWrites();
    client.request(1, 'credit', signedCredit(admin, carol.address, 777, freshNonce(3)));
    await new Promise((resolve) => setTimeout(resolve, 100)); // tidy-allow: let the credit reach the core
    client.request(2, 'account', { address: carol.address });
    client.request(3, 'depth', { article: 'net.bitwrk/test/hash/0' });
    await new Promise((resolve) => setTimeout(resolve, 300)); // tidy-allow: a real socket in real time
    assert.deepEqual(client.answers.map((answer) => answer.id), [], 'nothing is answered while the credit is not durable');
    faulty.releaseWrites();
    assert.equal(((await client.answer(2)).body as { availableSats: number }).availableSats, 777);
    assert.equal((await client.answer(1)).kind, 'response');
    assert.equal((await client.answer(3)).kind, 'response');
    client.close();
  } finally {
    await server.stop();
  }
});

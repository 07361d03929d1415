// Goal: the exchange as an attacker finds it, as a real `bitwrk exchange` process on loopback:
// forged and malformed commands, alone or pipelined in bursts, are answered with their documented
// codes and never crash it; integers travel as MessagePack integers both ways; a second process
// cannot open the same data directory. Method: hand-built frames over a bare WebSocket
// (test/support/raw-client.ts), so the project's own client code cannot hide a server bug.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signMessage } from '../../src/crypto/signmessage.js';
import type { Identity } from '../../src/crypto/keys.js';
import { creditText, placeBidText } from '../../src/protocol/signed-commands.js';
import { holdsFloat64 } from '../../src/transport/msgpack-scan.js';
import { startExchangeProcess, type ExchangeProcess } from '../../scripts/reliability/exchange-process.js';
import { newIdentity } from '../support/exchange.js';
import { RawClient } from '../support/raw-client.js';

const ARTICLE = 'net.bitwrk/test/hash/0';
const EXCHANGE_ID = 'bitwrk-local';
let nonceCounter = 0;

function nonce(): string {
  return `${Date.now()}-${(++nonceCounter).toString(16).padStart(32, '0')}`; // tidy-allow: nonces for a real-time process
}

function sign(text: string, identity: Identity): Uint8Array {
  return new Uint8Array(Buffer.from(signMessage(text, identity.privateKey), 'base64'));
}

function signedBid(identity: Identity, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const body = { article: ARTICLE, side: 'sell', priceSats: 1000, address: identity.address, nonce: nonce(), ...overrides };
  return { ...body, signature: sign(placeBidText(EXCHANGE_ID, body as never), identity), ...overrides };
}

async function withExchange(run: (exchange: ExchangeProcess) => Promise<void>): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'bitwrk-front-door-'));
  const exchange = await startExchangeProcess({ home });
  try {
    await run(exchange);
  } finally {
    const code = await exchange.stop();
    assert.equal(code, 0, `the exchange exited with ${code}:\n${exchange.output.join('\n')}`);
  }
}

test('forged signatures and bad addresses pipelined in bursts get 2001/2003/2004, and the exchange lives on', async () => {
  await withExchange(async (exchange) => {
    const client = await RawClient.connect(exchange.wsUrl);
    const forger = newIdentity();
    const victim = newIdentity();
    // A burst: forged signatures (by another key), a signature of zeros, then a mainnet address
    // and a garbage address, all pipelined before any answer can arrive.
    const burst: Array<[number, Record<string, unknown>, number]> = [];
    for (let id = 1; id <= 20; id++) burst.push([id, { ...signedBid(forger), address: victim.address }, 2001]);
    burst.push([21, signedBid(forger, { signature: new Uint8Array(65) }), 2001]);
    burst.push([22, signedBid(forger, { address: '1BoatSLRHtKNngkdXEeobR76b53LETtpyT' }), 2004]);
    burst.push([23, signedBid(forger, { address: 'not-an-address' }), 2003]);
    burst.push([24, signedBid(forger, { address: 'mx' }), 2003]);
    for (let round = 0; round < 3; round++) {
      for (const [id, body] of burst) client.request(round * 100 + id, 'placeBid', body);
    }
    for (let round = 0; round < 3; round++) {
      for (const [id, , code] of burst) assert.equal((await client.answer(round * 100 + id)).code, code, `request ${round * 100 + id}`);
    }
    client.request(999, 'account', { address: victim.address });
    assert.deepEqual((await client.answer(999)).body, { address: victim.address, frozen: false, availableSats: 0, heldSats: 0, depositPendingSats: 0, payoutPendingSats: 0, withdrawals: [], deposits: { addresses: [], tip: null, list: [] } });
    client.close();
    assert.equal(exchange.child.exitCode, null, exchange.output.join('\n'));
  });
});

test('integers: 21 million BTC in satoshis sent as a uint64 is taken, answers carry integers as integers, beyond 2^53 is 1014', async () => {
  await withExchange(async (exchange) => {
    const client = await RawClient.connect(exchange.wsUrl);
    const participant = newIdentity();
    const allBitcoin = 21_000_000 * 100_000_000;
    const unsigned = { participant: participant.address, amountSats: allBitcoin, address: exchange.admin.address, nonce: nonce() };
    const signature = sign(creditText(EXCHANGE_ID, unsigned), exchange.admin);
    // The amount as MessagePack uint 64 (0xcf), as a client in Python or Go would naturally send it.
    client.request(1, 'credit', { ...unsigned, amountSats: BigInt(allBitcoin), signature });
    const answer = await client.answer(1);
    assert.deepEqual(answer.body, { participant: participant.address, availableSats: allBitcoin });
    const frame = client.frames[client.frames.length - 1]!;
    const asUint64 = Buffer.alloc(9);
    asUint64[0] = 0xcf;
    asUint64.writeBigUInt64BE(BigInt(allBitcoin), 1);
    assert.ok(frame.includes(asUint64), `the answer carries availableSats as uint 64: ${frame.toString('hex')}`);
    // Times in milliseconds are above 2^32 too: never a float on the wire.
    client.request(2, 'info', {});
    await client.answer(2);
    // A 0xcb byte may well sit inside a time's or a string's bytes: look at the heads only.
    assert.equal(holdsFloat64(client.frames[client.frames.length - 1]!), false, 'no float64 in the info answer');
    client.request(3, 'credit', { ...unsigned, nonce: nonce(), amountSats: 2n ** 53n + 1n, signature });
    const refused = await client.answer(3);
    assert.equal(refused.code, 1014, String(refused.message));
    assert.match(String(refused.message), /body\.amountSats/);
    client.close();
  });
});

test('a second exchange on the same data directory exits at once, naming the directory and the owner', async () => {
  const home = mkdtempSync(join(tmpdir(), 'bitwrk-front-door-'));
  const first = await startExchangeProcess({ home });
  try {
    const second = startExchangeProcess({ home, startTimeoutMs: 20_000 });
    await assert.rejects(second, (error: Error) => {
      assert.match(error.message, new RegExp(`data directory \\S*exchange is in use by process ${first.pid}`));
      return true;
    });
  } finally {
    await first.kill();
  }
  // kill -9 leaves nothing to clean up: the next start takes the directory at once.
  const third = await startExchangeProcess({ home });
  assert.equal(await third.stop(), 0);
});

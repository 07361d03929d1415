// Goal: a disputed transaction ends in minutes by the arbiter, from the command line, over a real
// socket: `bitwrk arbiter list` shows it with its evidence, `resolve` splits the price, another key
// is refused in words, and a usage mistake is exit 2. Method: the production exchange on
// loopback, buyer and seller as signing clients that carry a transaction to RESULT_DISPUTED, the
// CLI as its own process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { realClock } from '../../src/clock.js';
import { loadOrCreateKeyFile } from '../../src/crypto/keyfile.js';
import { signMessage } from '../../src/crypto/signmessage.js';
import { connectClient, newIdentity, startExchange, TEST_ARTICLE } from '../support/exchange.js';

function bitwrk(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/bitwrk.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('bitwrk arbiter lists a dispute with its evidence and resolves it; another key is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bitwrk-arbiter-'));
  const keyFile = join(dir, 'arbiter.wif');
  const arbiter = loadOrCreateKeyFile(keyFile, 'testnet').identity;
  const exchange = await startExchange(join(dir, 'exchange'), realClock, arbiter);
  const buyer = newIdentity();
  const seller = newIdentity();
  const admin = await connectClient(exchange.url, arbiter, realClock);
  const buying = await connectClient(exchange.url, buyer, realClock);
  const selling = await connectClient(exchange.url, seller, realClock);
  try {
    await admin.client.credit(buyer.address, 100_000);
    await selling.client.placeBid(TEST_ARTICLE, 'sell', 1000);
    await buying.client.placeBid(TEST_ARTICLE, 'buy', 1000);
    const txId = exchange.exchange.core.participantView(buyer.address).transactions[0]!.txId;
    const workHash = createHash('sha256').update('work').digest();
    const secret = randomBytes(32);
    const result = randomBytes(32).toString('hex');
    await buying.client.txMessage(txId, 'workhash', { workhash: workHash.toString('hex'), worksecrethash: createHash('sha256').update(Buffer.concat([workHash, secret])).digest('hex') });
    await selling.client.txMessage(txId, 'workerurl', { workerurl: 'ws://x.example/peer' });
    await selling.client.txMessage(txId, 'buyersecret', { buyersecret: secret.toString('hex') });
    await selling.client.txMessage(txId, 'encresult', { encresulthash: result, encresulthashsig: signMessage(result, buyer.privateKey), encresultkey: 'ef'.repeat(48), resulthash: '5e'.repeat(32) });
    await buying.client.txMessage(txId, 'rejectresult', { reason: 'the image is noise' });
    const held = exchange.exchange.core.account(buyer.address)!;

    const listed = await bitwrk(['arbiter', 'list', '--exchange', exchange.url]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${txId} .*price 1000 sat`));
    assert.match(listed.stdout, /reason: the image is noise/);
    assert.match(listed.stdout, new RegExp(`result \\(encrypted\\) ${result}`));

    const usage = await bitwrk(['arbiter', 'resolve', txId, '--exchange', exchange.url]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--seller-gets/);
    const strangerKey = join(dir, 'stranger.wif');
    loadOrCreateKeyFile(strangerKey, 'testnet');
    const refused = await bitwrk(['arbiter', 'resolve', txId, '--seller-gets', 'buyer', '--exchange', exchange.url, '--key-file', strangerKey]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /the exchange refused: .*arbiter commands need the arbiter key \(not_authorized 2008\)/);

    const started = performance.now();
    const resolved = await bitwrk(['arbiter', 'resolve', txId, '--seller-gets', 'buyer', '--exchange', exchange.url, '--key-file', keyFile]);
    assert.equal(resolved.code, 0, resolved.stderr);
    assert.match(resolved.stdout, new RegExp(`${txId}: 0 sat to the seller, 1000 sat back to the buyer`));
    assert.ok(performance.now() - started < 60_000);
    assert.equal(exchange.exchange.core.account(buyer.address)!.availableSats - held.availableSats, 1000, 'the price is back with the buyer');
    assert.equal(exchange.exchange.core.account(buyer.address)!.heldSats, 0, 'nothing held');
    const none = await bitwrk(['arbiter', 'list', '--exchange', exchange.url]);
    assert.match(none.stdout, /no disputed transactions/);
  } finally {
    for (const { peer } of [admin, buying, selling]) peer.close(1000, 'done');
    await exchange.stop();
  }
});

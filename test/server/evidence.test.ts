// Goal: a dispute ends by evidence over the wire, in the command that submits it: the buyer's signed `submitEvidence`
// names its purchases of the same work from two other sellers, and the exchange settles by the
// majority of the sellers' signed result hashes; the loser's public counts show it over the
// WebSocket query and the HTTP API. Method: the production exchange on loopback (lmdb, journal,
// real signatures), one buyer and three sellers as signing clients; the journal replayed into a
// fresh exchange gives the same state.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { realClock } from '../../src/clock.js';
import { signMessage } from '../../src/crypto/signmessage.js';
import { articleWithDefaults } from '../../src/market/articles.js';
import { TEST_HASH_ARTICLE } from '../../src/market/catalogue.js';
import { resultHashOf } from '../../src/market/evidence.js';
import { ProtocolError } from '../../src/transport/errors.js';
import { connectClient, newIdentity, startExchange } from '../support/exchange.js';

const sha256 = (data: Buffer | string): Buffer => createHash('sha256').update(data).digest();

test('submitEvidence over a real socket: the cheating seller is outvoted, the buyer refunded, the counts public', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bitwrk-evidence-'));
  const admin = newIdentity();
  const articles = [articleWithDefaults(TEST_HASH_ARTICLE, { priceSatsMax: 1_000_000 })];
  const exchange = await startExchange(join(dir, 'exchange'), realClock, admin, { extra: { initialArticles: articles } });
  const buyer = newIdentity();
  const sellers = [newIdentity(), newIdentity(), newIdentity()];
  const clients = await Promise.all([admin, buyer, ...sellers].map((identity) => connectClient(exchange.url, identity, realClock)));
  const [adminClient, buying, ...selling] = clients.map((c) => c.client) as [typeof clients[0]['client'], ...typeof clients[0]['client'][]];
  try {
    await adminClient.credit(buyer.address, 100_000);
    const work = sha256('the same work');
    const right = resultHashOf(Buffer.from('the right result'));
    const txIds: string[] = [];
    for (const [index, seller] of selling.entries()) {
      await seller!.placeBid(TEST_HASH_ARTICLE, 'sell', 1000);
      await buying!.placeBid(TEST_HASH_ARTICLE, 'buy', 1000);
      const txId = exchange.exchange.core.participantView(sellers[index]!.address).transactions[0]!.txId;
      const secret = randomBytes(32);
      const encrypted = randomBytes(32).toString('hex');
      await buying!.txMessage(txId, 'workhash', { workhash: work.toString('hex'), worksecrethash: sha256(Buffer.concat([work, secret])).toString('hex') });
      await seller!.txMessage(txId, 'workerurl', { workerurl: 'ws://seller.example/peer' });
      await seller!.txMessage(txId, 'buyersecret', { buyersecret: secret.toString('hex') });
      const resulthash = index === 0 ? resultHashOf(Buffer.from('garbage')) : right;
      await seller!.txMessage(txId, 'encresult', { encresulthash: encrypted, encresulthashsig: signMessage(encrypted, buyer.privateKey), encresultkey: 'ef'.repeat(48), resulthash });
      txIds.push(txId);
    }
    const [cheated, ...witnesses] = txIds as [string, string, string];
    await buying!.txMessage(cheated, 'rejectresult', { reason: 'the result differs from two other sellers' });
    const before = exchange.exchange.core.account(buyer.address)!;

    // Only the buyer may submit evidence, and only with qualifying witnesses: refused in words, nothing changed.
    const notBuyer = await selling[1]!.submitEvidence(cheated, witnesses).then(() => null, (error: ProtocolError) => error);
    assert.equal(notBuyer?.code, 4005, 'a third party is not a party of the transaction');
    const tooFew = await buying!.submitEvidence(cheated, [witnesses[0]!]).then(() => null, (error: ProtocolError) => error);
    assert.equal(tooFew?.code, 4013);
    assert.equal(exchange.exchange.core.transaction(cheated)?.phase, 'RESULT_DISPUTED');

    const settled = await buying!.submitEvidence(cheated, witnesses);
    assert.deepEqual(settled, { txId: cheated, sellerSats: 0, refundSats: 1000 });
    assert.equal(exchange.exchange.core.transaction(cheated), undefined, 'settled by the command itself, not at the end of the 7-day window');
    const after = exchange.exchange.core.account(buyer.address)!;
    assert.equal(after.availableSats - before.availableSats, 1000, 'the price is back; the fee stays with the exchange');
    for (const txId of witnesses) await buying!.txMessage(txId, 'acceptresult', {});

    const cheater = await clients[1]!.peer.request('reputation', { address: sellers[0]!.address });
    assert.equal(cheater.sales.disputesLost, 1);
    assert.equal(cheater.sales.finished, 0);
    const server = await fetch(`http://127.0.0.1:${exchange.port}/api/participants/${sellers[1]!.address}/reputation`);
    assert.equal(server.status, 200);
    assert.deepEqual(((await server.json()) as { sales: unknown }).sales, { finished: 1, disputed: 0, disputesLost: 0, workRejected: 0, timedOut: 0 });
    const bad = await fetch(`http://127.0.0.1:${exchange.port}/api/participants/not-an-address/reputation`);
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /not a Bitcoin address/);
  } finally {
    for (const { peer } of clients) peer.close(1000, 'done');
    await exchange.stop();
  }
});

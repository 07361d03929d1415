// Goal: two participants with their own keys trade through the exchange over real WebSockets,
// through a full transaction and through the failure paths, with exact balances; every rejection
// has its stable code and changes nothing; a restart in the middle of a transaction loses nothing.
// Method: a real exchange (lmdb journal in a temporary directory) on 127.0.0.1, real signatures,
// and a VirtualClock shared by exchange and clients, so deadlines pass without waiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../src/clock.js';
import { pushedEvent } from '../../src/protocol/exchange.js';
import type { ProtocolError } from '../../src/transport/errors.js';
import { connectClient, newIdentity, startExchange, TEST_ARTICLE } from '../support/exchange.js';
import { waitFor } from '../support/ws-server.js';

const START_MS = 1_764_000_000_000;

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Work commitment: workhash, a secret, and sha256(workhash || secret). */
function workCommitment() {
  const workHash = createHash('sha256').update('the work').digest();
  const secret = randomBytes(32);
  return { workhash: hex(workHash), buyersecret: hex(secret), worksecrethash: hex(createHash('sha256').update(Buffer.concat([workHash, secret])).digest()) };
}

async function market(directory = join(mkdtempSync(join(tmpdir(), 'bitwrk-exchange-')), 'db')) {
  const clock = new VirtualClock(START_MS);
  const admin = newIdentity();
  const buyerKey = newIdentity();
  const sellerKey = newIdentity();
  const running = await startExchange(directory, clock, admin);
  const adminClient = await connectClient(running.url, admin, clock);
  const buyer = await connectClient(running.url, buyerKey, clock);
  const seller = await connectClient(running.url, sellerKey, clock);
  await adminClient.client.credit(buyerKey.address, 1_000_000);
  return { clock, admin, buyerKey, sellerKey, running, adminClient, buyer, seller, directory };
}

async function balances(peer: Awaited<ReturnType<typeof connectClient>>['peer'], ...addresses: string[]) {
  return Promise.all(addresses.map(async (address) => {
    const account = await peer.request('account', { address });
    return [account.availableSats, account.heldSats];
  }));
}

test('a full transaction: match at the earlier price, fair exchange, exact settlement', async () => {
  const { buyerKey, sellerKey, running, buyer, seller } = await market();
  try {
    const events: string[] = [];
    const malformed: string[] = [];
    buyer.peer.onPush('event', ({ event }) => {
      events.push(event.type);
      // Every push is one of the documented events, with its documented fields (the schema
      // clients check pushes with).
      const parsed = pushedEvent.safeParse(event);
      if (!parsed.success) malformed.push(`${event.type}: ${parsed.error.message}`);
    });
    await buyer.peer.request('subscribe', { topic: `participant:${buyerKey.address}` });
    const sell = await seller.client.placeBid(TEST_ARTICLE, 'sell', 1000);
    assert.equal(sell.matched, false);
    const buy = await buyer.client.placeBid(TEST_ARTICLE, 'buy', 1200);
    assert.equal(buy.matched, true);
    assert.equal(buy.holdSats, 1200 + 36); // price + ceil(3 %) held at placement
    await waitFor(() => events.includes('trade'));
    const txId = [...running.exchange.core.exportState().transactions][0]!.txId;
    // Trade at the earlier (sell) price: the hold is adjusted to 1000 + 30.
    assert.deepEqual(await balances(buyer.peer, buyerKey.address), [[1_000_000 - 1030, 1030]]);

    const work = workCommitment();
    assert.equal((await buyer.client.txMessage(txId, 'workhash', { workhash: work.workhash, worksecrethash: work.worksecrethash })).phase, 'BUYER_ESTABLISHED');
    assert.equal((await seller.client.txMessage(txId, 'workerurl', { workerurl: 'http://127.0.0.1:9/work' })).phase, 'TRANSMITTING');
    assert.equal((await seller.client.txMessage(txId, 'buyersecret', { buyersecret: work.buyersecret })).phase, 'WORKING');
    const encResultHash = hex(createHash('sha256').update('encrypted result').digest());
    const receipt = buyer.client.signReceipt(encResultHash);
    const unverified = await seller.client.txMessage(txId, 'encresult', { encresulthash: encResultHash, encresulthashsig: receipt, encresultkey: hex(randomBytes(32)), resulthash: '5e'.repeat(32) });
    assert.equal(unverified.phase, 'UNVERIFIED');
    assert.equal((await buyer.client.txMessage(txId, 'acceptresult')).phase, 'FINISHED');
    assert.deepEqual(await balances(buyer.peer, buyerKey.address, sellerKey.address), [[1_000_000 - 1030, 0], [1000, 0]]);
    await waitFor(() => events.includes('txRetired'));
    assert.deepEqual(malformed, []);
    assert.deepEqual([...new Set(events)].sort(), ['bidAccepted', 'trade', 'transfer', 'txMessageAccepted', 'txRetired']);
  } finally {
    await running.stop();
  }
});

test('a buy bid with an avoid list (signed with it) skips the sellers it names, at any price, and matches the next', async () => {
  const { running, buyer, seller, sellerKey, clock } = await market();
  const other = await connectClient(running.url, newIdentity(), clock);
  try {
    const avoided = await seller.client.placeBid(TEST_ARTICLE, 'sell', 100);
    const next = await other.client.placeBid(TEST_ARTICLE, 'sell', 300);
    const buy = await buyer.client.placeBid(TEST_ARTICLE, 'buy', 500, [sellerKey.address]);
    assert.equal(buy.matched, true);
    const view = await buyer.peer.request('participant', { address: buyer.client.address });
    const tx = view.transactions[0]!;
    assert.equal(tx['sellBidId'], next.bidId, 'matched the dearer seller it did not avoid');
    assert.equal(tx['priceSats'], 300);
    // The avoided seller's bid still rests; a later SELL from it does not meet an avoiding BUY either.
    const waiting = await buyer.client.placeBid(TEST_ARTICLE, 'buy', 500, [sellerKey.address]);
    assert.equal(waiting.matched, false);
    assert.equal((await seller.client.placeBid(TEST_ARTICLE, 'sell', 50)).matched, false);
    assert.deepEqual((await seller.peer.request('participant', { address: sellerKey.address })).bids.map((bid) => bid.bidId).includes(avoided.bidId), true);
  } finally {
    other.peer.close();
    await running.stop();
  }
});

test('a transaction nobody moves is retired at its deadline and the buyer refunded in full', async () => {
  const { clock, buyerKey, sellerKey, running, buyer, seller } = await market();
  try {
    await seller.client.placeBid(TEST_ARTICLE, 'sell', 500);
    await buyer.client.placeBid(TEST_ARTICLE, 'buy', 500);
    assert.deepEqual(await balances(buyer.peer, buyerKey.address), [[1_000_000 - 515, 515]]);
    // Virtual time passes in 1-second steps with real I/O in between (heartbeats keep flowing),
    // past the 1-minute establishing deadline; the exchange's tick retires the transaction.
    await waitFor(() => running.exchange.core.exportState().transactions.length === 0, { advance: (ms) => clock.advanceBy(ms), stepMs: 1000 });
    assert.ok(clock.now() >= START_MS + 60_000);
    assert.deepEqual(await balances(buyer.peer, buyerKey.address, sellerKey.address), [[1_000_000, 0], [0, 0]]);
  } finally {
    await running.stop();
  }
});

// Test errors by descending precedence.
test('rejections carry stable codes and change nothing', async () => {
  const { buyerKey, running, buyer, seller, adminClient } = await market();
  try {
    const code = (promise: Promise<unknown>) => promise.then(() => 0, (error: ProtocolError) => error.code);
    const before = running.exchange.core.stateHash();
    // A signature over other text: 2001.
    const body = { article: TEST_ARTICLE, side: 'buy' as const, priceSats: 10, address: buyerKey.address, nonce: `${START_MS}-${'0'.repeat(32)}` };
    assert.equal(await code(buyer.peer.request('placeBid', { ...body, signature: new Uint8Array(65).fill(1) })), 2001);
    // A mainnet address on a testnet exchange: 2004.
    assert.equal(await code(buyer.peer.request('placeBid', { ...body, address: '1C7zdTfnkzmr13HfA2vNm5SJYRK6nEKyq8', signature: new Uint8Array(65) })), 2004);
    // Not the admin: 2008.
    assert.equal(await code(seller.client.credit(buyerKey.address, 5)), 2008);
    // Insufficient funds: 5007; an unknown article: 3001; a price out of range: 3012.
    assert.equal(await code(seller.client.placeBid(TEST_ARTICLE, 'buy', 100)), 5007);
    assert.equal(await code(buyer.client.placeBid('no/such/article', 'buy', 100)), 3001);
    assert.equal(await code(buyer.client.placeBid(TEST_ARTICLE, 'buy', 200_000_000)), 3012);
    // An avoid list naming a non-address: 2003; on a SELL bid, or with the same seller twice: 3015.
    assert.equal(await code(buyer.client.placeBid(TEST_ARTICLE, 'buy', 100, ['not-an-address'])), 2003);
    assert.equal(await code(seller.client.placeBid(TEST_ARTICLE, 'sell', 100, [buyerKey.address])), 3015);
    assert.equal(await code(buyer.client.placeBid(TEST_ARTICLE, 'buy', 100, [buyerKey.address, buyerKey.address])), 3015);
    // A transaction that does not exist: 4003.
    assert.equal(await code(buyer.client.txMessage('t999', 'acceptresult')), 4003);
    assert.equal(running.exchange.core.stateHash(), before, 'rejected commands changed nothing');
    // A replayed signed command is executed at most once: 2006.
    const first = await adminClient.client.credit(buyerKey.address, 1);
    assert.equal(first.availableSats, 1_000_001);
  } finally {
    await running.stop();
  }
});

test('the same signed command sent twice is executed once (nonce replay is 2006)', async () => {
  const { buyerKey, running, buyer } = await market();
  try {
    const requests: unknown[] = [];
    const capture = { request: (type: string, body: unknown) => { requests.push(body); return buyer.peer.request(type as never, body as never); } };
    const { ExchangeClient } = await import('../../src/daemon/exchange-client.js');
    const recording = new ExchangeClient(capture as never, buyerKey, 'bitwrk-test', running.exchange.options.clock);
    await recording.placeBid(TEST_ARTICLE, 'buy', 10);
    const replay = await buyer.peer.request('placeBid', requests[0] as never).then(() => 0, (error: ProtocolError) => error.code);
    assert.equal(replay, 2006);
    assert.equal(running.exchange.core.exportState().bids.length, 1);
  } finally {
    await running.stop();
  }
});

test('a restart in the middle of a transaction loses nothing', async () => {
  const first = await market();
  const { clock, buyerKey, sellerKey, directory } = first;
  await first.seller.client.placeBid(TEST_ARTICLE, 'sell', 2000);
  await first.buyer.client.placeBid(TEST_ARTICLE, 'buy', 2000);
  const txId = first.running.exchange.core.exportState().transactions[0]!.txId;
  const work = workCommitment();
  await first.buyer.client.txMessage(txId, 'workhash', { workhash: work.workhash, worksecrethash: work.worksecrethash });
  const hashBefore = first.running.exchange.core.stateHash();
  await first.running.stop();

  const running = await startExchange(directory, clock, first.admin);
  try {
    assert.equal(running.exchange.core.stateHash(), hashBefore, 'recovered state equals the acknowledged state');
    const buyer = await connectClient(running.url, buyerKey, clock);
    const seller = await connectClient(running.url, sellerKey, clock);
    await seller.client.txMessage(txId, 'workerurl', { workerurl: 'http://127.0.0.1:9/work' });
    await seller.client.txMessage(txId, 'buyersecret', { buyersecret: work.buyersecret });
    const hash = hex(createHash('sha256').update('result').digest());
    await seller.client.txMessage(txId, 'encresult', { encresulthash: hash, encresulthashsig: buyer.client.signReceipt(hash), encresultkey: hex(randomBytes(32)), resulthash: '5e'.repeat(32) });
    await buyer.client.txMessage(txId, 'acceptresult');
    assert.deepEqual(await balances(buyer.peer, buyerKey.address, sellerKey.address), [[1_000_000 - 2060, 0], [2000, 0]]);
  } finally {
    await running.stop();
  }
});

/** Runs a transaction up to WORKING and returns what the later steps need. */
async function toWorking(m: Awaited<ReturnType<typeof market>>, priceSats: number) {
  await m.seller.client.placeBid(TEST_ARTICLE, 'sell', priceSats);
  await m.buyer.client.placeBid(TEST_ARTICLE, 'buy', priceSats);
  const txId = m.running.exchange.core.exportState().transactions[0]!.txId;
  const work = workCommitment();
  await m.buyer.client.txMessage(txId, 'workhash', { workhash: work.workhash, worksecrethash: work.worksecrethash });
  await m.seller.client.txMessage(txId, 'workerurl', { workerurl: 'http://127.0.0.1:9/work' });
  return { txId, work };
}

/** Runs a transaction up to UNVERIFIED: the seller has the secret and published the result key. */
async function toUnverified(m: Awaited<ReturnType<typeof market>>, priceSats: number): Promise<string> {
  const { txId, work } = await toWorking(m, priceSats);
  await m.seller.client.txMessage(txId, 'buyersecret', { buyersecret: work.buyersecret });
  const hash = hex(createHash('sha256').update('r').digest());
  await m.seller.client.txMessage(txId, 'encresult', { encresulthash: hash, encresulthashsig: m.buyer.client.signReceipt(hash), encresultkey: hex(randomBytes(32)), resulthash: '5e'.repeat(32) });
  return txId;
}

test('dispute and timeout paths settle exactly', async (t) => {
  await t.test('a wrong buyer secret is refused (4008) and the seller may reject the work: full refund', async () => {
    const m = await market();
    try {
      const { txId } = await toWorking(m, 1000);
      const wrong = await m.seller.client.txMessage(txId, 'buyersecret', { buyersecret: hex(randomBytes(32)) }).then(() => 0, (error: ProtocolError) => error.code);
      assert.equal(wrong, 4008);
      assert.equal((await m.seller.client.txMessage(txId, 'rejectwork', { reason: 'worker failed' })).phase, 'WORK_DISPUTED');
      assert.deepEqual(await balances(m.buyer.peer, m.buyerKey.address, m.sellerKey.address), [[1_000_000, 0], [0, 0]]);
    } finally {
      await m.running.stop();
    }
  });

  await t.test('a receipt signed by someone else is refused (4009); only the buyer may accept (4006)', async () => {
    const m = await market();
    try {
      const { txId, work } = await toWorking(m, 1000);
      await m.seller.client.txMessage(txId, 'buyersecret', { buyersecret: work.buyersecret });
      const hash = hex(createHash('sha256').update('r').digest());
      const forged = await m.seller.client.txMessage(txId, 'encresult', { encresulthash: hash, encresulthashsig: m.seller.client.signReceipt(hash), encresultkey: hex(randomBytes(32)), resulthash: '5e'.repeat(32) }).then(() => 0, (error: ProtocolError) => error.code);
      assert.equal(forged, 4009);
      await m.seller.client.txMessage(txId, 'encresult', { encresulthash: hash, encresulthashsig: m.buyer.client.signReceipt(hash), encresultkey: hex(randomBytes(32)), resulthash: '5e'.repeat(32) });
      assert.equal(await m.seller.client.txMessage(txId, 'acceptresult').then(() => 0, (error: ProtocolError) => error.code), 4006);
    } finally {
      await m.running.stop();
    }
  });

  await t.test('a buyer silent in UNVERIFIED pays when the deadline passes', async () => {
    const m = await market();
    try {
      const txId = await toUnverified(m, 1000);
      await waitFor(() => m.running.exchange.core.exportState().transactions.length === 0, { advance: (ms) => m.clock.advanceBy(ms), stepMs: 5000, attemptsMax: 1000 });
      assert.deepEqual(await balances(m.buyer.peer, m.buyerKey.address, m.sellerKey.address), [[1_000_000 - 1030, 0], [1000, 0]]);
    } finally {
      await m.running.stop();
    }
  });

  await t.test('a rejected result goes to RESULT_DISPUTED with the money held, not refunded', async () => {
    const m = await market();
    try {
      const txId = await toUnverified(m, 1000);
      assert.equal((await m.buyer.client.txMessage(txId, 'rejectresult', { reason: 'wrong colours' })).phase, 'RESULT_DISPUTED');
      assert.deepEqual(await balances(m.buyer.peer, m.buyerKey.address, m.sellerKey.address), [[1_000_000 - 1030, 1030], [0, 0]]);
    } finally {
      await m.running.stop();
    }
  });
});

test('the admin defines an article; anyone else is refused; a defined article cannot change', async () => {
  const { running, adminClient, buyer } = await market();
  try {
    const { articleWithDefaults } = await import('../../src/market/articles.js');
    const article = articleWithDefaults('net.bitwrk/blender/0/4.0/512M', { feeNumerator: 2, feeDenominator: 100 });
    assert.equal(await buyer.client.defineArticle(article).then(() => 0, (error: ProtocolError) => error.code), 2008);
    assert.deepEqual(await adminClient.client.defineArticle(article), { articleId: article.articleId });
    assert.equal(await adminClient.client.defineArticle({ ...article, feeNumerator: 1 }).then(() => 0, (error: ProtocolError) => error.code), 3003);
    const info = await buyer.peer.request('info', {});
    assert.ok(info.articles.some((spec) => spec.articleId === article.articleId && spec.feeNumerator === 2));
    assert.ok(running.exchange.core.catalogue().length === 2);
  } finally {
    await running.stop();
  }
});

test('pipelined commands reach the core in the order sent, whatever order verification finishes in', async () => {
  // A stand-in for the worker pool that answers later items first (a real pool may finish batches
  // out of order, but not on demand): it checks with the real verifier, then resolves in reverse.
  const { createVerifier } = await import('../../src/crypto/verifier.js');
  const real = createVerifier();
  const waiting: Array<() => void> = [];
  const reversingPool = {
    verify: (item: { message: string | Uint8Array; address: string; signature: string }) =>
      new Promise<boolean>((resolve) => {
        waiting.push(() => resolve(real.verify(item.message, item.address, item.signature)));
        if (waiting.length === 1) setImmediate(() => { for (const answer of waiting.splice(0).reverse()) answer(); });
      }),
  };
  const clock = new VirtualClock(START_MS);
  const running = await startExchange(join(mkdtempSync(join(tmpdir(), 'bitwrk-exchange-')), 'db'), clock, newIdentity(), { extra: { verifierPool: reversingPool } });
  try {
    const seller = await connectClient(running.url, newIdentity(), clock);
    const answers = await Promise.all(Array.from({ length: 60 }, (_, index) => seller.client.placeBid(TEST_ARTICLE, 'sell', 1000 - index)));
    const sequence = answers.map((answer) => Number(answer.bidId.slice(1)));
    assert.deepEqual(sequence, [...sequence].sort((a, b) => a - b), 'bid ids follow the order the bids were sent');
    const forged = await seller.peer.request('placeBid', { article: TEST_ARTICLE, side: 'sell', priceSats: 5, address: seller.client.address, nonce: `${START_MS}-${'1'.repeat(32)}`, signature: new Uint8Array(65).fill(3) }).then(() => 0, (error: ProtocolError) => error.code);
    assert.equal(forged, 2001);
  } finally {
    await running.stop();
  }
});

test('an expired or malformed nonce (2007, 2005) and a signer over its command rate (1007) are refused', async () => {
  const clock = new VirtualClock(START_MS);
  const running = await startExchange(join(mkdtempSync(join(tmpdir(), 'bitwrk-exchange-')), 'db'), clock, newIdentity(), { extra: { identityRate: { perSecond: 1, burst: 3 } } });
  try {
    const sellerKey = newIdentity();
    const seller = await connectClient(running.url, sellerKey, clock);
    const { placeBidText } = await import('../../src/protocol/signed-commands.js');
    const { signMessage } = await import('../../src/crypto/signmessage.js');
    const signed = (nonce: string) => {
      const unsigned = { article: TEST_ARTICLE, side: 'sell' as const, priceSats: 5, address: sellerKey.address, nonce };
      return { ...unsigned, signature: new Uint8Array(Buffer.from(signMessage(placeBidText('bitwrk-test', unsigned), sellerKey.privateKey), 'base64')) };
    };
    const code = (promise: Promise<unknown>) => promise.then(() => 0, (error: ProtocolError) => error.code);
    assert.equal(await code(seller.peer.request('placeBid', signed(`${START_MS - 200_000}-${'a'.repeat(32)}`))), 2007);
    assert.equal(await code(seller.peer.request('placeBid', signed('not-a-nonce'))), 2005);
    const burst = await Promise.all(Array.from({ length: 5 }, () => code(seller.client.placeBid(TEST_ARTICLE, 'sell', 5))));
    assert.deepEqual(burst, [0, 0, 0, 1007, 1007]);
  } finally {
    await running.stop();
  }
});

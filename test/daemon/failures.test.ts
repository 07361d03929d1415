// Goal: every way a trade can go wrong ends cleanly, with exact money: the seller vanishes (the
// buyer bids again and another seller delivers), the buyer vanishes (the buyer is refunded, the
// seller offers its worker again), a worker returns a wrong result (the buyer rejects it; the
// money stays held for the arbiter), a buyer sends a wrong secret (the seller rejects the work,
// the buyer is refunded), and a daemon restarts in the middle of a trade (it resumes; paid once).
// Method: real exchange, daemons and sockets on a VirtualClock (support/daemons.ts); a "gate"
// worker holds its answer until the test lets it go, so the test can strike mid-trade. These
// workers are HTTP servers in the test's own process (each test must hold or falsify the answer);
// the worker program as a separate process (`bitwrk worker hash`) is in trade.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { importFile } from '../../src/cafs/files.js';
import { MemoryChunkStore } from '../../src/cafs/memory-store.js';
import { sendFile, type CafsProtocol } from '../../src/cafs/sync.js';
import { createNonce } from '../../src/crypto/nonce.js';
import { signMessage } from '../../src/crypto/signmessage.js';
import { workSecretHashOf } from '../../src/machines/transaction.js';
import { hashWork } from '../../src/daemon/hash-work.js';
import { helloText, peerProtocol, workTransferId } from '../../src/protocol/peer.js';
import { ProtocolError } from '../../src/transport/errors.js';
import { RpcPeer } from '../../src/transport/rpc.js';
import { generateStaticKeyPair } from '../../src/transport/secure-connection.js';
import { dialPeer, handshakeText } from '../../src/daemon/peer-link.js';
import type { Daemon } from '../../src/daemon/daemon.js';
import { connectClient, newIdentity } from '../support/exchange.js';
import { balance, settle, startMarket, TEST_HASH_ARTICLE, type Market, auth } from '../support/daemons.js';

const WORK = new TextEncoder().encode('a scene to render');

/** A worker that answers only when released. */
function gate() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let started = 0;
  return {
    release,
    get started() {
      return started;
    },
    compute: async (work: Uint8Array) => {
      started++;
      await released;
      return hashWork(work);
    },
  };
}

async function sellerWith(market: Market, name: string, compute?: Parameters<Market['worker']>[2], extra = {}): Promise<Daemon> {
  const daemon = await market.daemon(name, extra);
  await market.worker(daemon, `${name}-worker`, compute);
  await daemon.mandates.add({ side: 'sell', article: TEST_HASH_ARTICLE, priceSats: 1000 });
  await settle(market.clock, () => daemon.trades().some((trade) => trade.state.value === 'bidPlaced'), { what: `${name}'s sell bid` });
  return daemon;
}

function startBuy(daemon: Daemon, query = ''): { response: () => Response | undefined } {
  let response: Response | undefined;
  void fetch(`${daemon.apiUrl}/buy/${TEST_HASH_ARTICLE}${query}`, { method: 'POST', body: WORK, headers: auth(daemon) }).then((value) => (response = value), () => undefined);
  return { response: () => response };
}

const noTransactions = (market: Market) => () => market.exchange.exchange.core.exportState().transactions.length === 0;

test('the seller vanishes mid-work: the buyer bids again, another seller delivers, the buyer pays once', async () => {
  const market = await startMarket();
  try {
    const held = gate();
    const seller = await sellerWith(market, 'seller', held.compute);
    const buyer = await market.daemon('buyer');
    await market.credit(buyer.identity.address, 10_000);
    await buyer.mandates.add({ side: 'buy', article: TEST_HASH_ARTICLE, priceSats: 1200 });
    const buy = startBuy(buyer);
    await settle(market.clock, () => held.started === 1, { what: 'the first seller working' });
    await seller.stop();
    const other = await sellerWith(market, 'other');
    await settle(market.clock, () => buy.response() !== undefined, { stepMs: 1000, what: 'the result' });
    const response = buy.response()!;
    assert.equal(response.status, 200, await response.clone().text());
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), hashWork(WORK));
    const trade = buyer.buyer.actors.get(response.headers.get('x-bitwrk-trade')!)!;
    assert.equal(trade.state.context.attempts, 2);
    await settle(market.clock, noTransactions(market), { stepMs: 1000 });
    assert.deepEqual(await balance(market, buyer.identity.address), { availableSats: 10_000 - 1030, heldSats: 0 });
    assert.deepEqual(await balance(market, seller.identity.address), { availableSats: 0, heldSats: 0 });
    assert.deepEqual(await balance(market, other.identity.address), { availableSats: 1000, heldSats: 0 });
    held.release();
  } finally {
    await market.stop();
  }
});

test('the buyer vanishes after sending the work: refunded in full, the seller offers its worker again', async () => {
  const market = await startMarket();
  try {
    const held = gate();
    const seller = await sellerWith(market, 'seller', held.compute);
    const buyer = await market.daemon('buyer');
    await market.credit(buyer.identity.address, 10_000);
    startBuy(buyer, '?price=1200');
    await settle(market.clock, () => held.started === 1, { what: 'the seller working' });
    await buyer.stop();
    held.release();
    await settle(market.clock, noTransactions(market), { stepMs: 1000, what: 'the transaction to time out' });
    const sale = [...seller.seller.actors.values()].find((trade) => trade.state.context.txId !== null)!;
    await settle(market.clock, () => sale.isFinal);
    assert.equal(sale.state.value, 'failed');
    assert.match(sale.state.context.error ?? '', /no receipt/);
    assert.equal(seller.workers.list()[0]!.lastError, null, 'the buyer\'s fault does not blame the worker');
    assert.deepEqual(await balance(market, buyer.identity.address), { availableSats: 10_000, heldSats: 0 });
    assert.deepEqual(await balance(market, seller.identity.address), { availableSats: 0, heldSats: 0 });
    await settle(market.clock, () => market.exchange.exchange.core.depth(TEST_HASH_ARTICLE, 5)!.asks.length === 1, { stepMs: 1000, what: 'a new sell bid' });
  } finally {
    await market.stop();
  }
});

test('the buyer cancels while the seller works: the worker is stopped, the work rejected, the buyer refunded at once', async () => {
  const market = await startMarket();
  try {
    let started = 0;
    let stopped = 0;
    // A worker that works until the daemon calls the job off.
    const seller = await sellerWith(market, 'seller', (_work, job) => {
      started++;
      return new Promise((_resolve, reject) => job.signal.addEventListener('abort', () => {
        stopped++;
        reject(new Error('stopped'));
      }));
    });
    const buyer = await market.daemon('buyer');
    await market.credit(buyer.identity.address, 10_000);
    const { tradeId } = (await (await fetch(`${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}?price=1200&async=1`, { method: 'POST', body: WORK, headers: auth(buyer) })).json()) as { tradeId: string };
    await settle(market.clock, () => started === 1, { what: 'the seller working' });
    assert.ok((await balance(market, buyer.identity.address)).heldSats > 0);
    const cancel = await fetch(`${buyer.apiUrl}/trades/${tradeId}`, { method: 'DELETE', headers: auth(buyer) });
    assert.equal(cancel.status, 200, await cancel.clone().text());
    assert.equal(((await cancel.json()) as { error: string }).error, 'cancelled by the user');
    // No deadline has to pass: the clock moves in small steps only while the pieces talk.
    await settle(market.clock, () => stopped === 1, { stepMs: 10, limitMs: 2_000, what: 'the worker stopped' });
    await settle(market.clock, noTransactions(market), { stepMs: 10, limitMs: 2_000, what: 'the transaction ended' });
    assert.deepEqual(await balance(market, buyer.identity.address), { availableSats: 10_000, heldSats: 0 });
    const sale = [...seller.seller.actors.values()].find((trade) => trade.state.context.txId !== null)!;
    await settle(market.clock, () => sale.isFinal, { stepMs: 10, limitMs: 2_000 });
    assert.match(sale.state.context.error ?? '', /the buyer cancelled/);
    assert.equal(seller.workers.list()[0]!.blockedUntilMs, 0, 'a job called off does not make the worker back off');
    await settle(market.clock, () => market.exchange.exchange.core.depth(TEST_HASH_ARTICLE, 5)!.asks.length === 1, { stepMs: 100, what: 'the worker on offer again' });
  } finally {
    await market.stop();
  }
});

test('a worker returns a wrong result and no other seller can check it: the buyer rejects it and the money stays held for the arbiter', async () => {
  const market = await startMarket();
  try {
    const cheat = (work: Uint8Array): Uint8Array => new TextEncoder().encode(`${'0'.repeat(64)}\n${work.length}`);
    const seller = await sellerWith(market, 'seller', cheat);
    const buyer = await market.daemon('buyer', { attemptsMax: 1 });
    await market.credit(buyer.identity.address, 10_000);
    const buy = startBuy(buyer, '?price=1200');
    await settle(market.clock, () => buy.response() !== undefined, { what: 'the answer' });
    const response = buy.response()!;
    assert.equal(response.status, 502);
    const body = (await response.json()) as { error: { name: string; message: string } };
    assert.equal(body.error.name, 'trade_failed');
    assert.match(body.error.message, /result is wrong/);
    assert.deepEqual(await balance(market, buyer.identity.address), { availableSats: 10_000 - 1030, heldSats: 1030 });
    assert.deepEqual(await balance(market, seller.identity.address), { availableSats: 0, heldSats: 0 });
  } finally {
    await market.stop();
  }
});

test('a cheating seller is outvoted: the buyer buys the work from two others, the exchange refunds it by evidence, the result is theirs', async () => {
  const market = await startMarket();
  try {
    const cheat = (work: Uint8Array): Uint8Array => new TextEncoder().encode(`${'0'.repeat(64)}\n${work.length}`);
    const cheater = await market.daemon('cheater');
    await market.worker(cheater, 'cheater-worker', cheat);
    await cheater.mandates.add({ side: 'sell', article: TEST_HASH_ARTICLE, priceSats: 900 }); // the cheapest: matched first
    await settle(market.clock, () => cheater.trades().some((trade) => trade.state.value === 'bidPlaced'), { what: "the cheater's bid" });
    const honest = [await sellerWith(market, 'honest-1'), await sellerWith(market, 'honest-2')];
    const buyer = await market.daemon('buyer', { attemptsMax: 1 });
    await market.credit(buyer.identity.address, 10_000);
    const buy = startBuy(buyer, '?price=1200');
    await settle(market.clock, () => buy.response() !== undefined, { stepMs: 1000, what: 'the result' });
    const response = buy.response()!;
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(Buffer.from(await response.arrayBuffer()).toString(), Buffer.from(hashWork(WORK)).toString(), 'the right result, from a witness');
    const from = response.headers.get('x-bitwrk-seller');
    assert.ok(honest.some((daemon) => daemon.identity.address === from), `named the seller it came from, not the cheater (${from})`);
    await settle(market.clock, noTransactions(market));
    // The cheater's price came back by evidence (its fee stays with the exchange); the two witnesses were paid.
    assert.deepEqual(await balance(market, buyer.identity.address), { availableSats: 10_000 - 27 - 2 * 1030, heldSats: 0 });
    assert.deepEqual(await balance(market, cheater.identity.address), { availableSats: 0, heldSats: 0 });
    for (const daemon of honest) assert.equal((await balance(market, daemon.identity.address)).availableSats, 1000);
    assert.equal(market.exchange.exchange.core.reputationOf(cheater.identity.address).sales.disputesLost, 1);
    assert.equal(market.exchange.exchange.core.reputationOf(buyer.identity.address).purchases.disputesLost, 0);

    // The cheater's lost dispute is public: another buyer's daemon, matched with it again, refuses it before sending the work.
    await settle(market.clock, () => cheater.trades().some((trade) => trade.state.value === 'bidPlaced'), { what: "the cheater's next bid" });
    const next = await market.daemon('next-buyer');
    await market.credit(next.identity.address, 10_000);
    const again = startBuy(next, '?price=1200');
    await settle(market.clock, () => again.response() !== undefined, { stepMs: 1000, what: 'the second result' });
    assert.equal(again.response()!.status, 200);
    const { context } = next.trades()[0]!.state;
    assert.ok('avoid' in context, 'a buy');
    assert.deepEqual([context.attempts, context.avoid], [2, [cheater.identity.address]], 'refused the cheater, then bought elsewhere');
    await settle(market.clock, noTransactions(market));
    assert.equal((await balance(market, cheater.identity.address)).availableSats, 0, 'the refused cheater got nothing');
  } finally {
    await market.stop();
  }
});

test('a buyer that sends a wrong secret (or is not the buyer) is refused; the buyer is refunded', async () => {
  const market = await startMarket();
  try {
    const seller = await sellerWith(market, 'seller');
    const buyerKey = newIdentity();
    await market.credit(buyerKey.address, 10_000);
    const { client, peer } = await connectClient(market.exchange.url, buyerKey, market.clock);
    const placed = await client.placeBid(TEST_HASH_ARTICLE, 'buy', 1200);
    assert.equal(placed.matched, true);
    const txId = market.exchange.exchange.core.exportState().transactions[0]!.txId;
    const store = new MemoryChunkStore();
    const work = await importFile(store, [WORK]);
    const secret = 'aa'.repeat(32);
    await client.txMessage(txId, 'workhash', { workhash: work.fileKey, worksecrethash: workSecretHashOf(work.fileKey, secret) });
    await settle(market.clock, () => typeof market.exchange.exchange.core.transaction(txId)?.workerUrl === 'string');
    const workerUrl = market.exchange.exchange.core.transaction(txId)!.workerUrl!;
    const secure = await dialPeer({ workerUrl, txId, seller: seller.identity.address, exchangeId: 'bitwrk-test', identity: buyerKey, staticKeyPair: generateStaticKeyPair(), clock: market.clock, random: (count) => new Uint8Array(randomBytes(count)) });
    const link = new RpcPeer(secure.connection, peerProtocol, {}, { clock: market.clock });
    let nonceByte = 0;
    const hello = async (who: typeof buyerKey) => {
      const nonce = createNonce(market.clock, (count) => new Uint8Array(count).fill(++nonceByte));
      const signature = signMessage(helloText({ exchangeId: 'bitwrk-test', txId, buyer: who.address, nonce, handshake: handshakeText(secure) }), who.privateKey);
      return link.request('peer.hello', { txId, buyer: who.address, nonce, signature: new Uint8Array(Buffer.from(signature, 'base64')) });
    };
    await assert.rejects(hello(newIdentity()), (error: ProtocolError) => error.errorName === 'peer_not_party');
    await assert.rejects(link.request('peer.secret', { txId, buyerSecret: secret }), (error: ProtocolError) => error.errorName === 'peer_not_authenticated');
    const welcome = await hello(buyerKey);
    assert.equal(welcome.seller, seller.identity.address);
    await sendFile(link as unknown as RpcPeer<CafsProtocol>, store, work, { transferId: workTransferId(txId) });
    await assert.rejects(link.request('peer.secret', { txId, buyerSecret: 'bb'.repeat(32) }), (error: ProtocolError) => error.errorName === 'buyer_secret_wrong');
    await settle(market.clock, noTransactions(market));
    assert.deepEqual(await balance(market, buyerKey.address), { availableSats: 10_000, heldSats: 0 });
    assert.deepEqual(await balance(market, seller.identity.address), { availableSats: 0, heldSats: 0 });
    const sale = [...seller.seller.actors.values()].find((trade) => trade.state.context.txId === txId)!;
    assert.equal(sale.state.value, 'failed');
    link.close(1000, 'done');
    peer.close(1000, 'done');
  } finally {
    await market.stop();
  }
});

test('buyer and seller daemons restart mid-trade: the trade resumes, the result arrives, money moves once', async () => {
  const market = await startMarket();
  try {
    const held = gate();
    let seller = await sellerWith(market, 'seller', held.compute);
    const peerPort = Number(new URL(seller.peerUrl).port);
    let buyer = await market.daemon('buyer');
    await market.credit(buyer.identity.address, 10_000);
    const accepted = await fetch(`${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}?price=1200&async=1`, { method: 'POST', body: WORK, headers: auth(buyer) });
    assert.equal(accepted.status, 202);
    const { tradeId } = (await accepted.json()) as { tradeId: string };
    await settle(market.clock, () => held.started === 1, { what: 'the seller working' });
    await buyer.stop();
    await seller.stop();
    seller = await market.daemon('seller'); // no port configured: it keeps the one it had (B3)
    assert.equal(Number(new URL(seller.peerUrl).port), peerPort, 'the peer URL buyers know is still valid');
    buyer = await market.daemon('buyer');
    await settle(market.clock, () => held.started === 2, { what: 'the restarted seller running its worker again' });
    held.release();
    let response: Response | undefined;
    void fetch(`${buyer.apiUrl}/trades/${tradeId}/result`).then((value) => (response = value));
    await settle(market.clock, () => response !== undefined, { what: 'the result after the restarts' });
    assert.equal(response!.status, 200, await response!.clone().text());
    assert.deepEqual(new Uint8Array(await response!.arrayBuffer()), hashWork(WORK));
    await settle(market.clock, noTransactions(market));
    assert.deepEqual(await balance(market, buyer.identity.address), { availableSats: 10_000 - 1030, heldSats: 0 });
    assert.deepEqual(await balance(market, seller.identity.address), { availableSats: 1000, heldSats: 0 });
    // The finished purchase and its result outlive one more restart.
    await buyer.stop();
    buyer = await market.daemon('buyer');
    const again = await fetch(`${buyer.apiUrl}/trades/${tradeId}/result`);
    assert.equal(again.status, 200, await again.clone().text());
    assert.deepEqual(new Uint8Array(await again.arrayBuffer()), hashWork(WORK));
  } finally {
    await market.stop();
  }
});

test('a seller that restarts mid-work while its buyer waits: the buyer reaches it again at the same address (B3)', async () => {
  const market = await startMarket();
  try {
    const held = gate();
    let seller = await sellerWith(market, 'seller', held.compute);
    const peerUrl = seller.peerUrl;
    const buyer = await market.daemon('buyer');
    await market.credit(buyer.identity.address, 10_000);
    const buy = startBuy(buyer, '?price=1200');
    await settle(market.clock, () => held.started === 1, { what: 'the seller working' });
    await seller.stop();
    seller = await market.daemon('seller');
    assert.equal(seller.peerUrl, peerUrl);
    await settle(market.clock, () => held.started === 2, { what: 'the restarted seller running its worker again' });
    held.release();
    await settle(market.clock, () => buy.response() !== undefined, { what: 'the result' });
    const response = buy.response()!;
    assert.equal(response.status, 200, await response.clone().text());
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), hashWork(WORK));
    await settle(market.clock, noTransactions(market));
    assert.deepEqual(await balance(market, buyer.identity.address), { availableSats: 10_000 - 1030, heldSats: 0 });
  } finally {
    await market.stop();
  }
});

test('a transaction that fails after the peer link was set up: the next attempt talks to its own seller only (B1)', async () => {
  const market = await startMarket();
  try {
    // The cheaper seller's worker fails on the work; the dearer one is honest.
    const failing = await market.daemon('failing-seller');
    await market.worker(failing, 'failing-worker', () => {
      throw new Error('the GPU fell off');
    });
    await failing.mandates.add({ side: 'sell', article: TEST_HASH_ARTICLE, priceSats: 900 });
    await settle(market.clock, () => failing.trades().some((trade) => trade.state.value === 'bidPlaced'), { what: 'the failing seller\'s bid' });
    await sellerWith(market, 'honest-seller');
    const buyer = await market.daemon('buyer');
    await market.credit(buyer.identity.address, 10_000);
    const buy = startBuy(buyer, '?price=1200');
    await settle(market.clock, () => buy.response() !== undefined, { stepMs: 1000, what: 'the result' });
    const response = buy.response()!;
    assert.equal(response.status, 200, await response.clone().text());
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), hashWork(WORK));
    const { context } = buyer.trades()[0]!.state;
    assert.ok('attempts' in context, 'a buy');
    assert.equal(context.attempts, 2, `one failed transaction, then the honest seller (${context.error})`);
    await settle(market.clock, noTransactions(market));
    // Paid once, to the honest seller at its price 1000 plus the fee; the failed one refunded.
    assert.deepEqual(await balance(market, buyer.identity.address), { availableSats: 10_000 - 1030, heldSats: 0 });
  } finally {
    await market.stop();
  }
});

test('the next attempt avoids the seller that failed: its other, cheaper worker is skipped, the buyer pays the honest seller', async () => {
  const market = await startMarket();
  try {
    // Two workers on one seller daemon fail alike; one failing transaction must be enough.
    const failing = await market.daemon('failing-seller');
    for (const id of ['failing-1', 'failing-2']) {
      await market.worker(failing, id, () => {
        throw new Error('the GPU fell off');
      });
    }
    await failing.mandates.add({ side: 'sell', article: TEST_HASH_ARTICLE, priceSats: 900 });
    await settle(market.clock, () => failing.trades().filter((trade) => trade.state.value === 'bidPlaced').length === 2, { what: 'both failing bids' });
    const honest = await sellerWith(market, 'honest-seller');
    const buyer = await market.daemon('buyer');
    await market.credit(buyer.identity.address, 10_000);
    const buy = startBuy(buyer, '?price=1200');
    await settle(market.clock, () => buy.response() !== undefined, { stepMs: 1000, what: 'the result' });
    const response = buy.response()!;
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(response.headers.get('x-bitwrk-seller'), honest.identity.address, 'the result names its seller');
    const { context } = buyer.trades()[0]!.state;
    assert.ok('avoid' in context, 'a buy');
    assert.equal(context.attempts, 2, `one failed transaction, then the honest seller, not the failing seller's second worker (${context.error})`);
    assert.deepEqual(context.avoid, [failing.identity.address]);
    await settle(market.clock, noTransactions(market));
    assert.deepEqual(await balance(market, buyer.identity.address), { availableSats: 10_000 - 1030, heldSats: 0 });
  } finally {
    await market.stop();
  }
});

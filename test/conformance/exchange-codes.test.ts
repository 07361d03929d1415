// Goal: every error and close code docs/protocol.md lists for the exchange is one the exchange
// really sends, in the documented situation, over a real socket (and the list in covers.ts is
// exactly what this file produced). Method: the real server composition on loopback, a bare
// WebSocket client with hand-built, hand-signed frames, one situation per code.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realClock } from '../../src/clock.js';
import type { Identity } from '../../src/crypto/keys.js';
import { signMessage } from '../../src/crypto/signmessage.js';
import { ARTICLES_MAX } from '../../src/market/limits.js';
import { startExchangeServer, type ExchangeServerOptions, type RunningExchangeServer } from '../../src/server/serve.js';
import { approveWithdrawalText, failPayoutBatchText, failWithdrawalText, submitPayoutText, creditText, defineArticleText, freezeAccountText, placeBidText, requestDepositAddressText, requestWithdrawalText, withdrawalPolicyText, resolveDisputeText, submitEvidenceText, txMessageText, withdrawBidText } from '../../src/protocol/signed-commands.js';
import { LmdbStore } from '../../src/store/lmdb.js';
import { encode } from '../../src/transport/codec.js';
import { newIdentity } from '../support/exchange.js';
import { FaultyStore } from '../support/faulty-store.js';
import { RawClient, type RawAnswer } from '../support/raw-client.js';
import { COVERS } from './covers.js';
import { HDKey } from '@scure/bip32';
import { parseDepositKey } from '../../src/chain/deposit-keys.js';
import { Devnet, devnetBackend } from '../../src/chain/devnet.js';
import { accountXpub, newPayerKey, payerIdentity } from '../../src/chain/payer-agent.js';
import { signBatch } from '../../src/chain/payer.js';
import { floatAddress } from '../../src/chain/payout-processor.js';

const EXCHANGE_ID = 'bitwrk-conformance';
const ARTICLE = 'net.bitwrk/test/hash/0';
const errors = new Set<number>();
const closes = new Set<number>();
const servers: RunningExchangeServer[] = [];
let counter = 0;

after(async () => {
  for (const server of servers) await server.stop();
});

function nonce(timeMs = Date.now()): string { // tidy-allow: nonces for a real-time server
  return `${timeMs}-${(++counter).toString(16).padStart(32, '0')}`;
}

function sign(text: string, who: Identity): Uint8Array {
  return new Uint8Array(Buffer.from(signMessage(text, who.privateKey), 'base64'));
}

function expectError(answer: RawAnswer, code: number, what: string): void {
  assert.equal(answer.kind, 'error', `${what}: expected error ${code}, got ${JSON.stringify(answer.body)}`);
  assert.equal(answer.code, code, `${what}: ${answer.message}`);
  errors.add(code);
}

async function expectClose(client: RawClient, code: number, what: string): Promise<void> {
  assert.equal((await client.closedWith()).code, code, what);
  closes.add(code);
}

async function start(extra: Partial<ExchangeServerOptions> = {}): Promise<{ server: RunningExchangeServer; admin: Identity }> {
  const admin = newIdentity();
  const server = await startExchangeServer({
    clock: realClock, host: '127.0.0.1', port: 0, dataDir: mkdtempSync(join(tmpdir(), 'bitwrk-conformance-')),
    exchangeId: EXCHANGE_ID, network: 'testnet', adminAddress: admin.address, workers: 0, ...extra,
  });
  servers.push(server);
  return { server, admin };
}

/** Signed bodies, each with fields to override after signing (to break one thing at a time). */
const signed = {
  bid(who: Identity, fields: { article?: string; side?: string; priceSats?: number; nonce?: string; avoid?: string[] } = {}, after: Record<string, unknown> = {}) {
    const body = { article: ARTICLE, side: 'sell', priceSats: 1000, address: who.address, nonce: nonce(), ...fields };
    return { ...body, signature: sign(placeBidText(EXCHANGE_ID, body as never), who), ...after };
  },
  withdraw(who: Identity, bidId: string) {
    const body = { bidId, address: who.address, nonce: nonce() };
    return { ...body, signature: sign(withdrawBidText(EXCHANGE_ID, body), who) };
  },
  tx(who: Identity, txId: string, message: string, fields: Record<string, string> = {}) {
    const body = { txId, message, fields, address: who.address, nonce: nonce() };
    return { ...body, signature: sign(txMessageText(EXCHANGE_ID, body as never), who) };
  },
  credit(who: Identity, participant: string, amountSats: number) {
    const body = { participant, amountSats, address: who.address, nonce: nonce() };
    return { ...body, signature: sign(creditText(EXCHANGE_ID, body), who) };
  },
  resolve(who: Identity, txId: string, sellerSats: number) {
    const body = { txId, sellerSats, address: who.address, nonce: nonce() };
    return { ...body, signature: sign(resolveDisputeText(EXCHANGE_ID, body), who) };
  },
  freeze(who: Identity, participant: string, frozen: boolean) {
    const body = { participant, address: who.address, nonce: nonce() };
    return { ...body, signature: sign(freezeAccountText(EXCHANGE_ID, body, frozen), who) };
  },
  article(who: Identity, articleId: string, overrides: Record<string, number> = {}) {
    const article = { articleId, description: 'conformance', feeNumerator: 3, feeDenominator: 100, priceSatsMin: 1, priceSatsMax: 1000, bidLifetimeMs: 120_000, ...overrides };
    const body = { article, address: who.address, nonce: nonce() };
    return { ...body, signature: sign(defineArticleText(EXCHANGE_ID, body), who) };
  },
};

/** Sends one request on a fresh id and returns its answer. */
let requestId = 0;
async function ask(client: RawClient, type: string, body: unknown): Promise<RawAnswer> {
  const id = ++requestId;
  client.request(id, type, body);
  return client.answer(id);
}

test('framing and envelope: 1001, 1003, 1004, 1005, 1006, 1007, 1011, 1012, 1014; closes 1009, 4002, 4003, 4005', async () => {
  const { server } = await start();
  const frameErrors: Array<[Uint8Array | string, number | undefined, number, string]> = [
    [Uint8Array.of(0xc1), 1001, 4003, 'not MessagePack'],
    [encode({ v: 2, kind: 'request', id: 1, type: 'info', body: {} }), 1003, 4005, 'version 2'],
    [encode({ v: 1, kind: 'weird', id: 1 }), 1004, 4003, 'not an envelope'],
    ['{"v":1}', undefined, 4003, 'a text frame'],
    [new Uint8Array(1024 * 1024 + 1), undefined, 1009, 'a frame over 1 MiB'],
  ];
  for (const [frame, code, close, what] of frameErrors) {
    const client = await RawClient.connect(server.wsUrl);
    client.send(frame);
    await expectClose(client, close, what);
    if (code !== undefined) expectError(client.answers.find((answer) => answer.id === null)!, code, what);
  }
  const client = await RawClient.connect(server.wsUrl);
  expectError(await ask(client, 'fly', {}), 1005, 'unknown type');
  expectError(await ask(client, 'placeBid', {}), 1006, 'empty body');
  expectError(await ask(client, 'account', { address: 2n ** 60n }), 1014, 'a uint64 past 2^53');
  // The same id twice while the first is still being handled: the second is dropped, answered with id null.
  const seller = newIdentity();
  client.request(777, 'placeBid', signed.bid(seller));
  client.request(777, 'placeBid', signed.bid(seller));
  assert.equal((await client.answer(777)).kind, 'response');
  expectError(client.answers.find((answer) => answer.code === 1012)!, 1012, 'a duplicate id');
  assert.equal(client.answers.find((answer) => answer.code === 1012)!.id, null);
  for (let index = 0; index < 256; index++) assert.equal((await ask(client, 'subscribe', { topic: `market:a${index}` })).kind, 'response');
  expectError(await ask(client, 'subscribe', { topic: 'market:one-too-many' }), 1011, 'subscription 257');
  client.close();
  // Over the per-connection rate: 1007 for each, then the connection is closed with 4002. The flood
  // asks for an unknown type, whose answers are small: with `info` (a catalogue each) a loaded test
  // process reads too slowly and the server rightly closes it as a slow consumer (4001) first.
  const flooder = await RawClient.connect(server.wsUrl);
  for (let id = 1; id <= 12_000; id++) flooder.request(id, 'fly', {});
  await expectClose(flooder, 4002, 'a flood');
  expectError(flooder.answers.find((answer) => answer.code === 1007)!, 1007, 'over the rate');
});

test('identity: 2001-2008 in the documented order', async () => {
  const { server, admin } = await start();
  const client = await RawClient.connect(server.wsUrl);
  const alice = newIdentity();
  // Test errors by descending precedence.
  expectError(await ask(client, 'placeBid', signed.bid(alice, {}, { address: 'garbage' })), 2003, 'a malformed address');
  expectError(await ask(client, 'placeBid', signed.bid(alice, {}, { address: '1BoatSLRHtKNngkdXEeobR76b53LETtpyT' })), 2004, 'a mainnet address');
  expectError(await ask(client, 'placeBid', signed.bid(alice, {}, { signature: new Uint8Array(64) })), 2002, 'a 64-byte signature');
  expectError(await ask(client, 'placeBid', signed.bid(newIdentity(), {}, { address: alice.address })), 2001, 'someone else\'s signature');
  expectError(await ask(client, 'placeBid', signed.bid(alice, { nonce: 'abc' })), 2005, 'a malformed nonce');
  expectError(await ask(client, 'placeBid', signed.bid(alice, { nonce: nonce(Date.now() - 600_000) })), 2007, 'a nonce 10 minutes old'); // tidy-allow: a real-time server
  const once = signed.bid(alice);
  assert.equal((await ask(client, 'placeBid', once)).kind, 'response');
  expectError(await ask(client, 'placeBid', once), 2006, 'a replay');
  // Rights come after the nonce: a non-admin's credit with a used nonce is 2006, with a fresh one 2008.
  const reused = { participant: alice.address, amountSats: 5, address: alice.address, nonce: once.nonce as string };
  expectError(await ask(client, 'credit', { ...reused, signature: sign(creditText(EXCHANGE_ID, reused), alice) }), 2006, 'a non-admin\'s credit with a used nonce');
  expectError(await ask(client, 'credit', signed.credit(alice, alice.address, 5)), 2008, 'an admin command from another key');
  assert.equal((await ask(client, 'credit', signed.credit(admin, alice.address, 5))).kind, 'response');
  client.close();
});

test('bids and the catalogue: 3001-3004, 3010-3014, 3020-3022', async () => {
  const { server, admin } = await start({ exchange: { identityRate: { perSecond: 100_000, burst: 100_000 } } });
  const client = await RawClient.connect(server.wsUrl);
  const alice = newIdentity();
  const bob = newIdentity();
  expectError(await ask(client, 'placeBid', signed.bid(alice, { article: 'no/such/article' })), 3001, 'an unknown article');
  expectError(await ask(client, 'placeBid', signed.bid(alice, { side: 'up' })), 3010, 'a side that is neither');
  expectError(await ask(client, 'placeBid', signed.bid(alice, { priceSats: 1.5 })), 3011, 'half a satoshi');
  expectError(await ask(client, 'placeBid', signed.bid(alice, { priceSats: 2_000_000 })), 3012, 'above the article\'s maximum');
  expectError(await ask(client, 'placeBid', signed.bid(alice, { side: 'sell', avoid: [bob.address] })), 3015, 'an avoid list on a SELL bid');
  expectError(await ask(client, 'defineArticle', signed.article(admin, 'x/bad', { priceSatsMin: 10, priceSatsMax: 5 })), 3002, 'an empty price range');
  assert.equal((await ask(client, 'defineArticle', signed.article(admin, 'x/0'))).kind, 'response');
  expectError(await ask(client, 'defineArticle', signed.article(admin, 'x/0')), 3003, 'defined twice');
  // 1,000 resting bids per participant and article, then 3013.
  for (let index = 0; index < 1000; index++) client.request(100_000 + index, 'placeBid', signed.bid(bob, { priceSats: 900_000 + index }));
  for (let index = 0; index < 1000; index++) assert.equal((await client.answer(100_000 + index)).kind, 'response');
  expectError(await ask(client, 'placeBid', signed.bid(bob, { priceSats: 999_999 })), 3013, 'bid 1001');
  // One casing for sides: what a request says (`sell`) is what answers and pushes say.
  assert.equal((await ask(client, 'subscribe', { topic: `participant:${alice.address}` })).kind, 'response');
  const placed = (await ask(client, 'placeBid', signed.bid(alice))).body as { bidId: string };
  assert.equal(((await ask(client, 'bid', { bidId: placed.bidId })).body as { side: string }).side, 'sell');
  await client.until(() => client.answers.some((answer) => answer.kind === 'push'), 5_000, 'the bidAccepted push');
  const pushed = client.answers.find((answer) => answer.kind === 'push')!.body as { event: { type: string; side: string } };
  assert.deepEqual([pushed.event.type, pushed.event.side], ['bidAccepted', 'sell']);
  expectError(await ask(client, 'withdrawBid', signed.withdraw(bob, placed.bidId)), 3022, 'someone else\'s bid');
  assert.equal((await ask(client, 'withdrawBid', signed.withdraw(alice, placed.bidId))).kind, 'response');
  expectError(await ask(client, 'withdrawBid', signed.withdraw(alice, placed.bidId)), 3021, 'withdrawn already');
  expectError(await ask(client, 'withdrawBid', signed.withdraw(alice, 'b99999999')), 3020, 'a bid never placed');
  // The catalogue's limit: define articles up to ARTICLES_MAX, then 3004.
  const existing = server.exchange.core.catalogue().length;
  for (let index = existing; index < ARTICLES_MAX; index++) client.request(200_000 + index, 'defineArticle', signed.article(admin, `fill/${index}`));
  for (let index = existing; index < ARTICLES_MAX; index++) assert.equal((await client.answer(200_000 + index)).kind, 'response');
  expectError(await ask(client, 'defineArticle', signed.article(admin, 'fill/one-too-many')), 3004, 'past the catalogue\'s limit');
  client.close();
  // All books together hold a bounded number of resting bids (here 2): fresh keys cannot fill memory.
  const { server: small } = await start({ exchange: { openBidsMax: 2 } });
  const other = await RawClient.connect(small.wsUrl);
  for (let index = 0; index < 2; index++) assert.equal((await ask(other, 'placeBid', signed.bid(newIdentity()))).kind, 'response');
  expectError(await ask(other, 'placeBid', signed.bid(newIdentity())), 3014, 'a bid past the books\' limit');
  other.close();
});

test('transactions: 4001-4009', async () => {
  const { server, admin } = await start();
  const client = await RawClient.connect(server.wsUrl);
  const buyer = newIdentity();
  const seller = newIdentity();
  assert.equal((await ask(client, 'credit', signed.credit(admin, buyer.address, 100_000))).kind, 'response');
  assert.equal((await ask(client, 'placeBid', signed.bid(seller))).kind, 'response');
  assert.equal(((await ask(client, 'placeBid', signed.bid(buyer, { side: 'buy' }))).body as { matched: boolean }).matched, true);
  const txId = server.exchange.core.participantView(buyer.address).transactions[0]!.txId;
  const workHash = createHash('sha256').update('work').digest();
  const secret = randomBytes(32);
  const workSecretHash = createHash('sha256').update(Buffer.concat([workHash, secret])).digest('hex');
  // Test errors by descending precedence.
  expectError(await ask(client, 'txMessage', signed.tx(buyer, txId, 'dance')), 4001, 'an unknown message');
  expectError(await ask(client, 'txMessage', signed.tx(buyer, txId, 'workhash', { workhash: workHash.toString('hex') })), 4002, 'a missing field');
  expectError(await ask(client, 'txMessage', signed.tx(buyer, 't99999999', 'acceptresult')), 4003, 'a transaction never made');
  expectError(await ask(client, 'txMessage', signed.tx(newIdentity(), txId, 'acceptresult')), 4005, 'a stranger');
  expectError(await ask(client, 'txMessage', signed.tx(buyer, txId, 'workerurl', { workerurl: 'ws://x.example/peer' })), 4006, 'the buyer sends the seller\'s message');
  expectError(await ask(client, 'txMessage', signed.tx(buyer, txId, 'acceptresult')), 4007, 'accepting before any result');
  assert.equal((await ask(client, 'txMessage', signed.tx(buyer, txId, 'workhash', { workhash: workHash.toString('hex'), worksecrethash: workSecretHash }))).kind, 'response');
  assert.equal((await ask(client, 'txMessage', signed.tx(seller, txId, 'workerurl', { workerurl: 'ws://x.example/peer' }))).kind, 'response');
  expectError(await ask(client, 'txMessage', signed.tx(seller, txId, 'buyersecret', { buyersecret: 'ab'.repeat(32) })), 4008, 'a wrong secret');
  assert.equal((await ask(client, 'txMessage', signed.tx(seller, txId, 'buyersecret', { buyersecret: secret.toString('hex') }))).kind, 'response');
  const result = 'cd'.repeat(32);
  const forged = signMessage(result, seller.privateKey);
  expectError(await ask(client, 'txMessage', signed.tx(seller, txId, 'encresult', { encresulthash: result, encresulthashsig: forged, encresultkey: 'ef'.repeat(32), resulthash: '5e'.repeat(32) })), 4009, 'a receipt the buyer did not sign');
  assert.equal((await ask(client, 'txMessage', signed.tx(seller, txId, 'rejectwork', { reason: 'cannot' }))).kind, 'response');
  expectError(await ask(client, 'txMessage', signed.tx(buyer, txId, 'acceptresult')), 4004, 'a retired transaction');
  client.close();
});

/** Buyer and seller carry a transaction to RESULT_DISPUTED over `client`; resolves to its id. */
async function disputedTransaction(client: RawClient, admin: Identity, buyer: Identity, seller: Identity, server: RunningExchangeServer): Promise<string> {
  assert.equal((await ask(client, 'credit', signed.credit(admin, buyer.address, 100_000))).kind, 'response');
  const txId = await deliveredTransaction(client, buyer, seller, server, '5e'.repeat(32));
  const answer = await ask(client, 'txMessage', signed.tx(buyer, txId, 'rejectresult', { reason: 'the image is noise' }));
  assert.equal(answer.kind, 'response', answer.message);
  return txId;
}

/** Buyer and seller carry a transaction of the same work to UNVERIFIED, the seller committing to `resulthash`. */
async function deliveredTransaction(client: RawClient, buyer: Identity, seller: Identity, server: RunningExchangeServer, resulthash: string, article = ARTICLE): Promise<string> {
  assert.equal((await ask(client, 'placeBid', signed.bid(seller, { article }))).kind, 'response');
  assert.equal(((await ask(client, 'placeBid', signed.bid(buyer, { side: 'buy', article }))).body as { matched: boolean }).matched, true);
  const txId = server.exchange.core.participantView(buyer.address).transactions.at(-1)!.txId;
  const workHash = createHash('sha256').update('work').digest();
  const secret = randomBytes(32);
  const workSecretHash = createHash('sha256').update(Buffer.concat([workHash, secret])).digest('hex');
  const result = randomBytes(32).toString('hex');
  for (const [who, message, fields] of [
    [buyer, 'workhash', { workhash: workHash.toString('hex'), worksecrethash: workSecretHash }],
    [seller, 'workerurl', { workerurl: 'ws://x.example/peer' }],
    [seller, 'buyersecret', { buyersecret: secret.toString('hex') }],
    [seller, 'encresult', { encresulthash: result, encresulthashsig: signMessage(result, buyer.privateKey), encresultkey: 'ef'.repeat(48), resulthash }],
  ] as const) {
    const answer = await ask(client, 'txMessage', signed.tx(who, txId, message, fields));
    assert.equal(answer.kind, 'response', `${message}: ${answer.message}`);
  }
  return txId;
}

test('arbitration: a dispute resolved over the wire; 2008, 4003, 4004, 4010, 4011; freezing: 5004, 5005, 5006', async () => {
  const arbiter = newIdentity();
  const { server, admin } = await start({ arbiterAddress: arbiter.address });
  const client = await RawClient.connect(server.wsUrl);
  const buyer = newIdentity();
  const seller = newIdentity();
  const txId = await disputedTransaction(client, admin, buyer, seller, server);
  const listed = (await ask(client, 'disputes', {})).body as { disputes: Array<{ txId: string; rejectReason: string; phase: string }> };
  assert.deepEqual(listed.disputes.map((dispute) => [dispute.txId, dispute.phase, dispute.rejectReason]), [[txId, 'RESULT_DISPUTED', 'the image is noise']]);
  // Test errors by descending precedence.
  expectError(await ask(client, 'resolveDispute', signed.resolve(admin, txId, 0)), 2008, 'the admin is not the arbiter');
  expectError(await ask(client, 'resolveDispute', signed.resolve(arbiter, 't99999999', 0)), 4003, 'a transaction never made');
  expectError(await ask(client, 'resolveDispute', signed.resolve(arbiter, txId, 1001)), 4011, 'more than the price');
  expectError(await ask(client, 'resolveDispute', signed.resolve(arbiter, txId, 1.5)), 4011, 'half a satoshi');
  // An active transaction that is not disputed.
  const other = await (async () => {
    assert.equal((await ask(client, 'placeBid', signed.bid(seller))).kind, 'response');
    assert.equal((await ask(client, 'placeBid', signed.bid(buyer, { side: 'buy' }))).kind, 'response');
    return server.exchange.core.participantView(buyer.address).transactions.find((tx) => tx.txId !== txId)!.txId;
  })();
  expectError(await ask(client, 'resolveDispute', signed.resolve(arbiter, other, 0)), 4010, 'a transaction that is not disputed');
  const held = server.exchange.core.account(buyer.address)!;
  const decided = await ask(client, 'resolveDispute', signed.resolve(arbiter, txId, 250));
  assert.deepEqual(decided.body, { txId, sellerSats: 250, refundSats: 750 });
  expectError(await ask(client, 'resolveDispute', signed.resolve(arbiter, txId, 0)), 4004, 'a retired transaction');
  const buyerAfter = server.exchange.core.account(buyer.address)!;
  assert.equal(buyerAfter.availableSats - held.availableSats, 750, 'the buyer got 750 sat of the price back');
  assert.equal(server.exchange.core.account(seller.address)!.availableSats, 250, 'the seller got 250 sat');
  assert.deepEqual(((await ask(client, 'disputes', {})).body as { disputes: unknown[] }).disputes, []);
  // Freezing.
  expectError(await ask(client, 'freezeAccount', signed.freeze(arbiter, newIdentity().address, true)), 5004, 'an address without an account');
  assert.deepEqual((await ask(client, 'freezeAccount', signed.freeze(arbiter, buyer.address, true))).body, { participant: buyer.address, frozen: true });
  expectError(await ask(client, 'freezeAccount', signed.freeze(arbiter, buyer.address, true)), 5005, 'freezing a frozen account');
  expectError(await ask(client, 'placeBid', signed.bid(buyer, { side: 'buy' })), 5005, 'a frozen account bids');
  assert.deepEqual((await ask(client, 'unfreezeAccount', signed.freeze(arbiter, buyer.address, false))).body, { participant: buyer.address, frozen: false });
  expectError(await ask(client, 'unfreezeAccount', signed.freeze(arbiter, buyer.address, false)), 5006, 'unfreezing an account that is not frozen');
  client.close();
});

test('evidence: a dispute ended by the majority of other sellers\' results; 4012, 4013, 4014', async () => {
  const { server, admin } = await start();
  const client = await RawClient.connect(server.wsUrl);
  const buyer = newIdentity();
  const [cheat, honest, other, third] = [newIdentity(), newIdentity(), newIdentity(), newIdentity()];
  const txId = await disputedTransaction(client, admin, buyer, cheat, server);
  const right = 'a1'.repeat(32);
  const witness = await deliveredTransaction(client, buyer, honest, server, right);
  const stray = await deliveredTransaction(client, buyer, other, server, 'b2'.repeat(32));
  const evidence = (witnesses: string[], who = buyer) => {
    const body = { txId, witnesses, address: who.address, nonce: nonce() };
    return { ...body, signature: sign(submitEvidenceText(EXCHANGE_ID, body), who) };
  };
  expectError(await ask(client, 'submitEvidence', evidence([witness])), 4013, 'one witness is no majority');
  expectError(await ask(client, 'submitEvidence', evidence([witness, stray])), 4014, 'three different results');
  const agreeing = await deliveredTransaction(client, buyer, third, server, right);
  const held = server.exchange.core.account(buyer.address)!;
  assert.deepEqual((await ask(client, 'submitEvidence', evidence([witness, agreeing]))).body, { txId, sellerSats: 0, refundSats: 1000 });
  assert.equal(server.exchange.core.account(buyer.address)!.availableSats - held.availableSats, 1000, 'the price is back with the buyer');
  // An article without replicable results: its disputes wait for the arbiter.
  assert.equal((await ask(client, 'defineArticle', signed.article(admin, 'conformance/unreplicable'))).kind, 'response');
  const unreplicable = await deliveredTransaction(client, buyer, cheat, server, 'c3'.repeat(32), 'conformance/unreplicable');
  assert.equal((await ask(client, 'txMessage', signed.tx(buyer, unreplicable, 'rejectresult', { reason: 'wrong' }))).kind, 'response');
  const body = { txId: unreplicable, witnesses: [witness, agreeing], address: buyer.address, nonce: nonce() };
  expectError(await ask(client, 'submitEvidence', { ...body, signature: sign(submitEvidenceText(EXCHANGE_ID, body), buyer) }), 4012, 'not replicable');
  client.close();
});

test('accounts: 5001, 5002, 5003, 5007', async () => {
  const { server, admin } = await start({ exchange: { accountsMax: 3 } });
  const client = await RawClient.connect(server.wsUrl);
  const poor = newIdentity();
  expectError(await ask(client, 'credit', signed.credit(admin, poor.address, 0)), 5001, 'a credit of nothing');
  expectError(await ask(client, 'credit', signed.credit(admin, poor.address, 1.5)), 5001, 'half a satoshi');
  expectError(await ask(client, 'placeBid', signed.bid(poor, { side: 'buy' })), 5007, 'a buy without money');
  for (let index = 0; index < 3; index++) assert.equal((await ask(client, 'credit', signed.credit(admin, newIdentity().address, 10))).kind, 'response');
  expectError(await ask(client, 'credit', signed.credit(admin, poor.address, 10)), 5003, 'a fourth account past the limit of 3');
  client.close();
  // All the bitcoin there will ever be is in the exchange: one satoshi more is 5002.
  const { server: full, admin: fullAdmin } = await start();
  const other = await RawClient.connect(full.wsUrl);
  assert.equal((await ask(other, 'credit', signed.credit(fullAdmin, newIdentity().address, 21_000_000 * 100_000_000))).kind, 'response');
  expectError(await ask(other, 'credit', signed.credit(fullAdmin, newIdentity().address, 1)), 5002, 'more than all bitcoin');
  other.close();
});

test('deposits: 5016 without a chain; 5001 for a bad amount; 5014 past the address limit; 5009 unfreezing an account that owes a reversed deposit', async () => {
  const depositAddress = (who: Identity, amountSats?: number) => {
    const body = { ...(amountSats === undefined ? {} : { amountSats }), address: who.address, nonce: nonce() };
    return { ...body, signature: sign(requestDepositAddressText(EXCHANGE_ID, body), who) };
  };
  const { server: plain } = await start();
  const bare = await RawClient.connect(plain.wsUrl);
  expectError(await ask(bare, 'requestDepositAddress', depositAddress(newIdentity())), 5016, 'an exchange without a deposit key and chain');
  bare.close();

  const devnet = new Devnet({ seed: 3 });
  const key = parseDepositKey(HDKey.fromMasterSeed(new Uint8Array(32).fill(3), { private: 0x04358394, public: 0x043587cf }).derive("m/84'/1'/0'").publicExtendedKey, 'regtest');
  const { server, admin } = await start({ exchange: { depositAddressesMax: 2 }, deposits: { key, backend: devnetBackend(devnet), pollMs: 3_600_000 } });
  const client = await RawClient.connect(server.wsUrl);
  const owner = newIdentity();
  expectError(await ask(client, 'requestDepositAddress', depositAddress(owner, 0)), 5001, 'an amount of nothing');
  const answer = await ask(client, 'requestDepositAddress', depositAddress(owner, 60_000));
  assert.equal(answer.kind, 'response');
  const { address } = answer.body as { address: string };
  assert.equal((await ask(client, 'requestDepositAddress', depositAddress(newIdentity()))).kind, 'response');
  expectError(await ask(client, 'requestDepositAddress', depositAddress(newIdentity())), 5014, 'a third address past the limit of 2');
  // A credited deposit, spent on a bid, then double-spent by a reorg: the account owes and stays frozen.
  const txid = devnet.faucet.pay(address, 60_000);
  devnet.mine(3);
  await server.depositWatcher!.poll();
  assert.equal((await ask(client, 'placeBid', signed.bid(owner, { side: 'buy', priceSats: 900 }))).kind, 'response');
  devnet.reorg(3, { doubleSpend: [txid] });
  await server.depositWatcher!.poll();
  expectError(await ask(client, 'unfreezeAccount', signed.freeze(admin, owner.address, false)), 5009, 'unfreezing an account that owes');
  client.close();
});

test('withdrawals: 5030-5034 for the destination, 5023 for a reused key, 5007 past the balance; the same key and body is the same withdrawal', async () => {
  const withdraw = (who: Identity, key: string, destination: string, amountSats: number) => {
    const body = { key, destination, amountSats, address: who.address, nonce: nonce() };
    return { ...body, signature: sign(requestWithdrawalText(EXCHANGE_ID, body), who) };
  };
  const devnet = new Devnet({ seed: 4 });
  const key = parseDepositKey(HDKey.fromMasterSeed(new Uint8Array(32).fill(4), { private: 0x04358394, public: 0x043587cf }).derive("m/84'/1'/0'").publicExtendedKey, 'regtest');
  const { server, admin } = await start({ deposits: { key, backend: devnetBackend(devnet), pollMs: 3_600_000 } });
  const client = await RawClient.connect(server.wsUrl);
  const owner = newIdentity();
  assert.equal((await ask(client, 'credit', signed.credit(admin, owner.address, 10_000))).kind, 'response');
  const own = (await ask(client, 'requestDepositAddress', (() => {
    const body = { address: owner.address, nonce: nonce() };
    return { ...body, signature: sign(requestDepositAddressText(EXCHANGE_ID, body), owner) };
  })())).body as { address: string };
  const mine = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080';
  expectError(await ask(client, 'requestWithdrawal', withdraw(owner, 'k1', 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt081', 5_000)), 5030, 'a bad checksum');
  expectError(await ask(client, 'requestWithdrawal', withdraw(owner, 'k1', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', 5_000)), 5031, 'a mainnet address on a regtest chain');
  expectError(await ask(client, 'requestWithdrawal', withdraw(owner, 'k1', 'bcrt1sw50qt2uwha', 5_000)), 5032, 'witness version 16');
  expectError(await ask(client, 'requestWithdrawal', withdraw(owner, 'k1', mine, 293)), 5033, 'below P2WPKH dust');
  expectError(await ask(client, 'requestWithdrawal', withdraw(owner, 'k1', own.address, 5_000)), 5034, "the exchange's own deposit address");
  expectError(await ask(client, 'requestWithdrawal', withdraw(owner, 'k1', mine, 10_001)), 5007, 'more than the balance');
  const first = await ask(client, 'requestWithdrawal', withdraw(owner, 'k1', mine.toUpperCase(), 6_000));
  assert.equal(first.kind, 'response');
  assert.deepEqual(first.body, { withdrawalId: 'w1', state: 'requested', destination: mine, amountSats: 6_000, repeated: false });
  const again = await ask(client, 'requestWithdrawal', withdraw(owner, 'k1', mine, 6_000));
  assert.deepEqual(again.body, { withdrawalId: 'w1', state: 'requested', destination: mine, amountSats: 6_000, repeated: true });
  expectError(await ask(client, 'requestWithdrawal', withdraw(owner, 'k1', mine, 6_001)), 5023, 'the same key with another amount');
  // Of two requests that together exceed the balance, exactly one succeeds.
  client.request(901, 'requestWithdrawal', withdraw(owner, 'k2', mine, 3_000));
  client.request(902, 'requestWithdrawal', withdraw(owner, 'k3', mine, 3_000));
  const [a, b] = [await client.answer(901), await client.answer(902)];
  assert.deepEqual([a.kind, b.kind, b.code], ['response', 'error', 5007]);
  assert.equal(server.exchange.core.account(owner.address)?.payoutPendingSats, 9_000);
  // The admin's rules and approvals.
  const policy = (who: Identity, dailyLimitSats: number, manualAboveSats: number, newDestinationDelayMs: number) => {
    const body = { dailyLimitSats, manualAboveSats, newDestinationDelayMs, address: who.address, nonce: nonce() };
    return { ...body, signature: sign(withdrawalPolicyText(EXCHANGE_ID, body), who) };
  };
  const approve = (who: Identity, withdrawalId: string) => {
    const body = { withdrawalId, address: who.address, nonce: nonce() };
    return { ...body, signature: sign(approveWithdrawalText(EXCHANGE_ID, body), who) };
  };
  expectError(await ask(client, 'setWithdrawalPolicy', policy(owner, 1, 1, 0)), 2008, 'a policy not from the admin');
  expectError(await ask(client, 'setWithdrawalPolicy', policy(admin, -1, 1, 0)), 5028, 'a negative limit');
  assert.equal((await ask(client, 'setWithdrawalPolicy', policy(admin, 9_500, 100, 0))).kind, 'response');
  assert.equal((await ask(client, 'credit', signed.credit(admin, owner.address, 5_000))).kind, 'response');
  expectError(await ask(client, 'requestWithdrawal', withdraw(owner, 'k4', mine, 501)), 5026, 'past the daily limit');
  expectError(await ask(client, 'approveWithdrawal', approve(admin, 'w9')), 5024, 'no such withdrawal');
  assert.deepEqual((await ask(client, 'approveWithdrawal', approve(admin, 'w1'))).body, { withdrawalId: 'w1', state: 'approved' });
  expectError(await ask(client, 'approveWithdrawal', approve(admin, 'w1')), 5025, 'approved already');
  client.close();
});

test('payouts: 5017 without a payout processor; 5038 failing a batched withdrawal; 5036, 5039 and 5037 for the payer\'s submissions; a batch signed over the wire', async () => {
  const { server: bare } = await start();
  const bareClient = await RawClient.connect(bare.wsUrl);
  expectError(await ask(bareClient, 'payouts', {}), 5017, 'an exchange that pays nothing on chain');
  bareClient.close();
  const payerKey = newPayerKey('regtest', new Uint8Array(32).fill(5));
  const payer = payerIdentity(payerKey);
  const key = parseDepositKey(accountXpub(payerKey), 'regtest');
  const devnet = new Devnet({ seed: 5 });
  const { server, admin } = await start({ payerAddress: payer.address, deposits: { key, backend: devnetBackend(devnet), pollMs: 3_600_000 }, payouts: { pollMs: 3_600_000, batchIntervalMs: 0 } });
  const client = await RawClient.connect(server.wsUrl);
  const owner = newIdentity();
  const { address } = (await ask(client, 'requestDepositAddress', (() => {
    const body = { address: owner.address, nonce: nonce() };
    return { ...body, signature: sign(requestDepositAddressText(EXCHANGE_ID, body), owner) };
  })())).body as { address: string };
  devnet.faucet.pay(address, 50_000);
  devnet.faucet.pay(floatAddress(key), 10_000);
  devnet.mine(3);
  await server.depositWatcher!.poll();
  const withdrawal = { key: 'k1', destination: 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080', amountSats: 20_000, address: owner.address, nonce: nonce() };
  assert.equal((await ask(client, 'requestWithdrawal', { ...withdrawal, signature: sign(requestWithdrawalText(EXCHANGE_ID, withdrawal), owner) })).kind, 'response');
  await server.payoutProcessor!.tick();
  const failWithdrawal = { withdrawalId: 'w1', reason: 'conformance', address: admin.address, nonce: nonce() };
  expectError(await ask(client, 'failWithdrawal', { ...failWithdrawal, signature: sign(failWithdrawalText(EXCHANGE_ID, failWithdrawal), admin) }), 5038, 'a withdrawal in a batch');
  const submit = (batchId: string, rawHex: string) => {
    const body = { batchId, rawHex, address: payer.address, nonce: nonce() };
    return { ...body, signature: sign(submitPayoutText(EXCHANGE_ID, body), payer) };
  };
  expectError(await ask(client, 'submitPayout', submit('b9', '00')), 5036, 'no such batch');
  expectError(await ask(client, 'submitPayout', submit('b1', '0200000000')), 5039, 'not a transaction of the PSBT');
  const [batch] = ((await ask(client, 'payouts', {})).body as { batches: { batchId: string; psbtBase64: string; manifest: never }[] }).batches;
  const signedBatch = signBatch({ accountXprv: payerKey.accountXprv, network: 'regtest', psbtBase64: batch!.psbtBase64, manifest: batch!.manifest, policy: { feeCapSats: 10_000, dailyLimitSats: 1_000_000 }, signedTodaySats: 0 });
  assert.deepEqual((await ask(client, 'submitPayout', submit('b1', signedBatch.rawHex))).body, { batchId: 'b1', txid: signedBatch.txid });
  expectError(await ask(client, 'submitPayout', submit('b1', signedBatch.rawHex)), 5037, 'nothing waits for a signature');
  const failBatch = { batchId: 'b1', reason: 'conformance', address: admin.address, nonce: nonce() };
  expectError(await ask(client, 'failPayoutBatch', { ...failBatch, signature: sign(failPayoutBatchText(EXCHANGE_ID, failBatch), admin) }), 5037, 'a signed batch may still confirm');
  client.close();
});

test('overload and shutdown: 9002 with retryAfterMs; 1001 when the exchange stops; 1011 when it fails', async () => {
  const { server } = await start({ exchange: { commandsInFlightMax: 2, identityRate: { perSecond: 100_000, burst: 100_000 } } });
  const client = await RawClient.connect(server.wsUrl);
  const seller = newIdentity();
  for (let id = 1; id <= 100; id++) client.request(id, 'placeBid', signed.bid(seller, { priceSats: id }));
  const answers = await Promise.all(Array.from({ length: 100 }, (_, index) => client.answer(index + 1)));
  const busy = answers.find((answer) => answer.code === 9002)!;
  expectError(busy, 9002, 'past the in-flight limit');
  assert.ok(typeof busy.retryAfterMs === 'number' && busy.retryAfterMs > 0);
  await server.stop();
  servers.splice(servers.indexOf(server), 1);
  await expectClose(client, 1001, 'the exchange stops');

  const directory = mkdtempSync(join(tmpdir(), 'bitwrk-conformance-fail-'));
  const faulty = new FaultyStore(new LmdbStore(join(directory, 'store')));
  const { server: failing, admin } = await start({ dataDir: directory, store: faulty });
  const victim = await RawClient.connect(failing.wsUrl);
  faulty.failWrites = true;
  victim.request(1, 'credit', signed.credit(admin, seller.address, 10));
  await expectClose(victim, 1011, 'a journal write fails');
});

test('this file produced exactly the codes covers.ts lists for the exchange', () => {
  assert.deepEqual([...errors].sort((a, b) => a - b), [...COVERS.exchange.errors]);
  assert.deepEqual([...closes].sort((a, b) => a - b), [...COVERS.exchange.closes]);
});

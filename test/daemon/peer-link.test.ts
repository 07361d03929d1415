// Goal: the link between two daemons can be read by no one on the path, and the result key by no
// one but the buyer: a recording of every byte between them holds neither the work, nor the
// result, nor the key; the exchange's journal holds the key only sealed to the buyer; a hello is
// bound to its link (a replay on another link, or twice on one, is refused) and only the
// transaction's buyer gets one through. Method: a real trade between two daemons whose peer link
// runs through a TCP proxy in the test that records both directions; then a hand-made buyer.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createNonce } from '../../src/crypto/nonce.js';
import { signMessage } from '../../src/crypto/signmessage.js';
import { openSealedKey, sealKeyForBuyer, ResultDecryptionError } from '../../src/daemon/fair-exchange.js';
import { hashWork } from '../../src/daemon/hash-work.js';
import { dialPeer, handshakeText } from '../../src/daemon/peer-link.js';
import { helloText, peerProtocol } from '../../src/protocol/peer.js';
import type { ProtocolError } from '../../src/transport/errors.js';
import { RpcPeer } from '../../src/transport/rpc.js';
import { generateStaticKeyPair } from '../../src/transport/secure-connection.js';
import { connectClient, newIdentity } from '../support/exchange.js';
import { auth, settle, startMarket, TEST_HASH_ARTICLE } from '../support/daemons.js';
import { recordingProxy } from '../../scripts/reliability/recording-proxy.js';

test('a recording of the peer link holds neither work nor result nor key; the exchange holds the key only sealed', async () => {
  const market = await startMarket();
  // The seller tells buyers the proxy's URL; the proxy forwards to the seller's real peer port.
  const probe = await market.daemon('probe-port');
  const peerPort = Number(new URL(probe.peerUrl).port);
  await probe.stop();
  const proxy = await recordingProxy(peerPort);
  try {
    const seller = await market.daemon('recorded-seller', { peerPort, peerPublicUrl: `ws://127.0.0.1:${proxy.port}/peer` });
    await market.worker(seller, 'recorded-worker');
    await seller.mandates.add({ side: 'sell', article: TEST_HASH_ARTICLE, priceSats: 1000 });
    const buyer = await market.daemon('recorded-buyer');
    await market.credit(buyer.identity.address, 10_000);
    await settle(market.clock, () => seller.trades().some((trade) => trade.state.value === 'bidPlaced'), { what: 'the sell bid' });
    const work = randomBytes(64 * 1024);
    let response: Response | undefined;
    void fetch(`${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}?price=1200`, { method: 'POST', body: work, headers: auth(buyer) }).then((value) => (response = value));
    await settle(market.clock, () => response !== undefined, { what: 'the result' });
    assert.equal(response!.status, 200, await response!.clone().text());
    const result = Buffer.from(await response!.arrayBuffer());
    assert.deepEqual(new Uint8Array(result), hashWork(work));

    const wire = proxy.bytes();
    assert.ok(wire.length > work.length, `the work went through the proxy (${wire.length} bytes recorded)`);
    for (let offset = 0; offset + 32 <= work.length; offset += 4096) assert.equal(wire.includes(work.subarray(offset, offset + 32)), false, `work bytes at ${offset} are on the wire`);
    assert.equal(wire.includes(result.subarray(0, 32)), false, 'the result is on the wire');
    const sale = [...seller.seller.actors.values()].find((trade) => trade.state.value === 'done')!;
    const resultKey = sale.state.context.resultKey!;
    assert.equal(wire.includes(Buffer.from(resultKey, 'hex')), false, 'the result key (raw) is on the wire');
    assert.equal(wire.includes(Buffer.from(resultKey)), false, 'the result key (hex) is on the wire');

    // The exchange was told the key only sealed to the buyer: its journal never held the key.
    const records: Buffer[] = [];
    for await (const record of market.exchange.exchange.options.journal.readFrom(1)) records.push(Buffer.from(record.payload));
    const all = Buffer.concat(records);
    assert.equal(all.includes(Buffer.from(resultKey)), false, 'the plain key is in the exchange\'s journal');
    const sealed = /encresultkey.{1,3}?([0-9a-f]{130,400})/s.exec(all.toString('latin1'))?.[1];
    assert.ok(sealed !== undefined, 'the sealed key is in the journal');
    assert.equal(openSealedKey(sealed, buyer.identity.privateKey), resultKey, 'the buyer opens it');
    assert.throws(() => openSealedKey(sealed, newIdentity().privateKey), ResultDecryptionError, 'nobody else does');
  } finally {
    proxy.server.close();
    await market.stop();
  }
});

test('a sealed key opens only with the buyer\'s key', () => {
  const buyer = newIdentity();
  const key = randomBytes(32).toString('hex');
  const sealed = sealKeyForBuyer(key, buyer.publicKey);
  assert.notEqual(sealed.includes(key), true);
  assert.equal(openSealedKey(sealed, buyer.privateKey), key);
  assert.throws(() => openSealedKey(sealed, newIdentity().privateKey), ResultDecryptionError);
  assert.throws(() => openSealedKey(`${sealed.slice(0, -2)}00`, buyer.privateKey), ResultDecryptionError, 'an altered seal');
});

test('a hello is bound to its link: a replay on another link or twice on one is refused; only the buyer gets through', async () => {
  const market = await startMarket();
  try {
    const seller = await market.daemon('hello-seller');
    await market.worker(seller, 'hello-worker');
    await seller.mandates.add({ side: 'sell', article: TEST_HASH_ARTICLE, priceSats: 1000 });
    await settle(market.clock, () => seller.trades().some((trade) => trade.state.value === 'bidPlaced'), { what: 'the sell bid' });
    const buyerKey = newIdentity();
    await market.credit(buyerKey.address, 10_000);
    const { client, peer } = await connectClient(market.exchange.url, buyerKey, market.clock);
    assert.equal((await client.placeBid(TEST_HASH_ARTICLE, 'buy', 1200)).matched, true);
    const txId = market.exchange.exchange.core.participantView(buyerKey.address).transactions[0]!.txId;
    await settle(market.clock, () => typeof market.exchange.exchange.core.transaction(txId)?.workerUrl === 'string', { what: 'the worker URL' });
    const workerUrl = market.exchange.exchange.core.transaction(txId)!.workerUrl!;
    const open = async () => {
      const link = await dialPeer({ workerUrl, txId, seller: seller.identity.address, exchangeId: 'bitwrk-test', identity: buyerKey, staticKeyPair: generateStaticKeyPair(), clock: market.clock, random: (count) => new Uint8Array(randomBytes(count)) });
      return { link, rpc: new RpcPeer(link.connection, peerProtocol, {}, { clock: market.clock }) };
    };
    const hello = (handshake: string, who = buyerKey, nonce = createNonce(market.clock, (count) => new Uint8Array(randomBytes(count)))) => ({
      txId,
      buyer: who.address,
      nonce,
      signature: new Uint8Array(Buffer.from(signMessage(helloText({ exchangeId: 'bitwrk-test', txId, buyer: who.address, nonce, handshake }), who.privateKey), 'base64')),
    });
    const first = await open();
    const stranger = newIdentity();
    await assert.rejects(first.rpc.request('peer.hello', hello(handshakeText(first.link), stranger)), (error: ProtocolError) => error.errorName === 'peer_not_party');
    const recorded = hello(handshakeText(first.link));
    assert.equal((await first.rpc.request('peer.hello', recorded)).seller, seller.identity.address);
    await assert.rejects(first.rpc.request('peer.hello', recorded), (error: ProtocolError) => error.errorName === 'nonce_reused', 'twice on one link');
    const second = await open();
    await assert.rejects(second.rpc.request('peer.hello', recorded), (error: ProtocolError) => error.errorName === 'signature_invalid', 'on another link');
    first.rpc.close(1000, 'done');
    second.rpc.close(1000, 'done');
    peer.close(1000, 'done');
  } finally {
    await market.stop();
  }
});

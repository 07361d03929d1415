// Goal: the Bitcoin Core adapter reads the chain, the watch-only wallet's payments and fee
// estimates exactly as Core's JSON-RPC documents them, and refuses any answer of another shape.
// Method: no bitcoind can be installed here, so an in-test JSON-RPC server on 127.0.0.1 stands in
// for one. It answers with the result shapes of Bitcoin Core's RPC documentation
// (developer.bitcoin.org/reference/rpc and the RPCHelpMan results in bitcoin/src), errors as
// legacy JSON-RPC 1.0 replies (HTTP 500 with {result: null, error: {code, message}}), a bad login
// as HTTP 401 with an empty body, and amounts printed as Core prints them (a JSON number with 8
// decimal places). The adapter is written to the documented API, not to this stand-in.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { HDKey } from '@scure/bip32';
import { ChainBackendError } from '../../src/chain/backend.js';
import { BitcoinCoreBackend, BitcoinCoreRpcError, btcToSats, type BitcoinCoreOptions } from '../../src/chain/bitcoin-core.js';

type Json = Record<string, unknown>;
interface RpcCall {
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: Json;
  readonly method: string;
  readonly params: unknown[];
}
type Answer = { readonly result: unknown } | { readonly error: { readonly code: number; readonly message: string } } | { readonly raw: string; readonly status: number } | 'hang';
type Handler = (call: RpcCall) => Answer;

const USER = 'exchange';
const PASSWORD = 's3cr:t/pw'; // percent-encoded in the URL: a ':' and a '/' must survive
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

/** An amount as Core prints it: the decimal text itself goes into the JSON, not a JS number. */
const btc = (decimal: string): string => `@btc:${decimal}`;
const coreJson = (value: unknown): string => JSON.stringify(value).replace(/"@btc:(-?[0-9.e-]+)"/g, '$1');

const hash = (byte: string): string => byte.repeat(32);
const ADDRESS_1 = 'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu';
const ADDRESS_2 = 'bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g';
const NOT_WATCHED = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq';
/** BIP39 seed of "abandon … about" (as in deposit-keys.test.ts): the receive descriptor of its BIP84 account. */
const ABANDON_SEED = Buffer.from('5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4', 'hex');
const DESCRIPTOR = `wpkh([73c5da0a/84h/0h/0h]${HDKey.fromMasterSeed(ABANDON_SEED).derive("m/84'/0'/0'").publicExtendedKey}/0/*)`;
/** The stand-in's descriptor checksum: a fixed 8-character answer, not computed. */
const CHECKSUM = 'k4q5ggtv';

/** The stand-in node: records every call, answers with `handle`, refuses a wrong login like Core. */
async function startNode(t: TestContext, handle: Handler, authorization = BASIC): Promise<{ readonly url: string; readonly port: number; readonly calls: RpcCall[] }> {
  const calls: RpcCall[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      if (request.headers.authorization !== authorization) {
        response.writeHead(401, { 'www-authenticate': 'Basic realm="jsonrpc"' }).end();
        return;
      }
      const body = JSON.parse(text) as Json;
      const call: RpcCall = { path: request.url ?? '', authorization: request.headers.authorization, body, method: String(body.method), params: body.params as unknown[] };
      calls.push(call);
      const answer = handle(call);
      if (answer === 'hang') return; // never answers: the client's timeout must end the wait
      if ('raw' in answer) {
        response.writeHead(answer.status, { 'content-type': 'text/html' }).end(answer.raw);
        return;
      }
      const failed = 'error' in answer;
      response.writeHead(failed ? 500 : 200, { 'content-type': 'application/json' });
      response.end(`${coreJson({ result: failed ? null : answer.result, error: failed ? answer.error : null, id: body.id })}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`, port, calls };
}

function backend(url: string, options: Partial<BitcoinCoreOptions> = {}): BitcoinCoreBackend {
  return new BitcoinCoreBackend({ url, wallet: 'bitwrk-deposits', ...options });
}

/** A getblockheader result (verbose=true) as documented. */
function header(blockHash: string, height: number, confirmations: number): Json {
  return {
    hash: blockHash, confirmations, height, version: 536870912, versionHex: '20000000',
    merkleroot: hash('4e'), time: 1700000000, mediantime: 1699999000, nonce: 12345, bits: '17034219',
    difficulty: 67957790298897.88, chainwork: '0000000000000000000000000000000000000000645e6c8e7f34a6f6a3c8a2b3', nTx: 3120,
    previousblockhash: hash('0a'),
  };
}

/** A listsinceblock transactions entry of category "receive", as documented; confirmations > 0 adds the block fields. */
function receive(txid: string, vout: number, address: string, amount: string, confirmations: number, block?: { hash: string; height: number }): Json {
  const entry: Json = {
    address, parent_descs: [`${DESCRIPTOR}#${CHECKSUM}`], category: 'receive', amount: btc(amount), label: '', vout, abandoned: false, confirmations,
  };
  if (block !== undefined) Object.assign(entry, { blockhash: block.hash, blockheight: block.height, blockindex: 7, blocktime: 1700000000 });
  else entry.trusted = false;
  return Object.assign(entry, {
    txid, wtxid: hash('ee'), walletconflicts: [], mempoolconflicts: [], time: 1700000000, timereceived: 1700000000, 'bip125-replaceable': confirmations > 0 ? 'no' : 'yes',
  });
}

/** A getmempoolentry result, as documented. */
const MEMPOOL_ENTRY = {
  vsize: 141, weight: 561, time: 1700000100, height: 820000, descendantcount: 1, descendantsize: 141, ancestorcount: 1, ancestorsize: 141,
  wtxid: hash('ef'), fees: { base: btc('0.00000282'), modified: btc('0.00000282'), ancestor: btc('0.00000282'), descendant: btc('0.00000282') },
  depends: [], spentby: [], 'bip125-replaceable': true, unbroadcast: false,
};

const NOT_FOUND = (message: string): Answer => ({ error: { code: -5, message } });
const NOT_IN_WALLET = NOT_FOUND('Invalid or non-wallet transaction id');

/** A listunspent entry of the watch-only descriptor wallet, as documented (ancestor fields only while unconfirmed). */
function unspent(txid: string, vout: number, address: string, amount: string, confirmations: number): Json {
  return {
    txid, vout, address, label: '', scriptPubKey: `0014${'c0'.repeat(20)}`, amount: btc(amount), confirmations,
    ...(confirmations === 0 ? { ancestorcount: 1, ancestorsize: 141, ancestorfees: 282 } : {}),
    spendable: true, solvable: true, desc: `wpkh([73c5da0a/84h/0h/0h/0/0]${'02'.padEnd(66, 'a')})#${CHECKSUM}`, parent_descs: [`${DESCRIPTOR}#${CHECKSUM}`], safe: confirmations > 0,
  };
}

/** The stand-in's listunspent: `entries` filtered by minconf, maxconf and addresses, as Core filters them. */
function listUnspent(call: RpcCall, entries: readonly Json[]): Answer {
  const [minconf = 1, maxconf = 9_999_999, addresses = []] = call.params as [number?, number?, string[]?];
  if (new Set(addresses).size !== addresses.length) return { error: { code: -8, message: `Invalid parameter, duplicated address: ${addresses[0]}` } };
  return { result: entries.filter((entry) => (entry.confirmations as number) >= minconf && (entry.confirmations as number) <= maxconf && (addresses.length === 0 || addresses.includes(entry.address as string))) };
}

/** A gettransaction result (wallet, watch-only receive), as documented; confirmations > 0 adds the block fields. */
function walletTransaction(txid: string, confirmations: number, block?: { hash: string; height: number }): Json {
  return {
    amount: btc('0.10000000'), confirmations,
    ...(block === undefined ? { trusted: false } : { blockhash: block.hash, blockheight: block.height, blockindex: 7, blocktime: 1700000000 }),
    txid, wtxid: hash('ee'), walletconflicts: confirmations < 0 ? [hash('c0')] : [], mempoolconflicts: [], time: 1700000000, timereceived: 1700000000,
    'bip125-replaceable': confirmations === 0 ? 'yes' : 'no', parent_descs: [`${DESCRIPTOR}#${CHECKSUM}`],
    details: [{ involvesWatchonly: true, address: ADDRESS_1, parent_descs: [`${DESCRIPTOR}#${CHECKSUM}`], category: 'receive', amount: btc('0.10000000'), label: '', vout: 0, abandoned: false }],
    hex: '02000000000101',
  };
}

/** A gettxout result for an unspent output, as documented. */
function txOut(confirmations: number): Json {
  return {
    bestblock: hash('3f'), confirmations, value: btc('0.10000000'),
    scriptPubKey: { asm: `0 ${'c0'.repeat(20)}`, desc: `addr(${ADDRESS_1})#${CHECKSUM}`, hex: `0014${'c0'.repeat(20)}`, address: ADDRESS_1, type: 'witness_v0_keyhash' },
    coinbase: false,
  };
}

/** Asserts that `promise` rejects with a ChainBackendError whose message matches `pattern`. */
async function rejectsWith(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ChainBackendError, `a ChainBackendError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

test('btcToSats: amounts as Core prints them become exact integer satoshis; anything else is refused', () => {
  const cases: Array<[string, number]> = [['0.00012345', 12345], ['21000000.00000000', 2.1e15], ['0.00000001', 1], ['0.10000000', 10_000_000], ['0.29000000', 29_000_000], ['20999999.97690000', 2_099_999_997_690_000], ['1.00000000', 100_000_000], ['0.00000000', 0]];
  for (const [text, sats] of cases) assert.equal(btcToSats(JSON.parse(text), text), sats, text);
  // Every 8-place amount survives JSON.parse and the conversion: a deterministic spread over the whole range.
  let seed = 0x2545f491;
  for (let round = 0; round < 20_000; round += 1) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const sats = round % 2 === 0 ? seed % 100_000_000 : Math.floor((seed / 2 ** 32) * 2.1e15);
    const text = `${Math.floor(sats / 1e8)}.${String(sats % 1e8).padStart(8, '0')}`;
    assert.equal(btcToSats(JSON.parse(text), text), sats, text);
  }
  for (const bad of [0.123456789, -0.1, 21000000.00000001, Number.NaN, Number.POSITIVE_INFINITY, '0.1', null, undefined]) {
    assert.throws(() => btcToSats(bad, 'amount'), ChainBackendError, String(bad));
  }
  assert.throws(() => btcToSats(0.123456789, 'amount'), /more than 8 decimal places/);
});

test('tip: getbestblockhash and getblockheader, JSON-RPC 1.0 with basic auth from the URL, to the node path', async (t) => {
  const best = hash('3f');
  const node = await startNode(t, (call) => (call.method === 'getbestblockhash' ? { result: best } : { result: header(best, 820_000, 1) }));
  const chain = backend(node.url);
  assert.deepEqual(await chain.tip(), { height: 820_000, hash: best });
  assert.deepEqual(node.calls.map((call) => [call.path, call.method, call.params]), [['/', 'getbestblockhash', []], ['/', 'getblockheader', [best, true]]]);
  for (const call of node.calls) {
    assert.equal(call.authorization, BASIC);
    assert.equal(call.body.jsonrpc, '1.0');
  }
  assert.equal(chain.name, `bitcoin-core http://127.0.0.1:${node.port}/wallet/bitwrk-deposits`);
  assert.ok(!chain.name.includes(encodeURIComponent(PASSWORD)) && !chain.name.includes(PASSWORD), 'the name, which is logged, has no password');
});

test('paymentsTo: one payment per watched output; conflicted, removed, dropped, sent and unwatched entries left out', async (t) => {
  const [txA, txB, txC, txD, txE, txF, txG, txH, txI] = ['a1', 'b2', 'c3', 'd4', 'e5', 'f6', '07', '18', '29'].map(hash) as [string, string, string, string, string, string, string, string, string];
  const block = { hash: hash('3f'), height: 820_000 };
  const earlier = { hash: hash('2e'), height: 819_998 };
  const transactions = [
    receive(txA, 0, ADDRESS_1, '0.00012345', 3, earlier), // two outputs of one transaction to watched addresses: two payments
    receive(txA, 1, ADDRESS_2, '21000000.00000000', 3, earlier),
    receive(txB, 1, ADDRESS_1, '0.50000000', 0), // in the mempool
    receive(txC, 0, ADDRESS_1, '0.20000000', -2), // conflicted two blocks ago
    receive(txD, 0, ADDRESS_2, '0.30000000', 0), // reorged out (in "removed" too): absent, though the mempool has it again
    receive(txE, 2, ADDRESS_2, '0.40000000', 1, block), // reorged out and re-added in the active chain: present
    receive(txF, 0, ADDRESS_1, '0.60000000', 0), // unconfirmed, but gone from the mempool (replaced): absent
    { ...receive(txG, 0, ADDRESS_1, '0.70000000', 1, block), category: 'send', amount: btc('-0.70000000'), fee: btc('-0.00000141') },
    receive(txH, 0, NOT_WATCHED, '0.80000000', 1, block),
    { ...receive(txI, 0, ADDRESS_1, '3.12500000', 101, earlier), category: 'generate', generated: true },
  ];
  const removed = [receive(txD, 0, ADDRESS_2, '0.30000000', 0), receive(txE, 2, ADDRESS_2, '0.40000000', 1, block)];
  const node = await startNode(t, (call) => {
    if (call.method === 'listsinceblock') return { result: { transactions, removed, lastblock: block.hash } };
    if (call.method === 'getmempoolentry') return call.params[0] === txF ? NOT_FOUND('Transaction not in mempool') : { result: MEMPOOL_ENTRY };
    throw new Error(`unexpected ${call.method}`);
  });
  const chain = backend(node.url);
  const payments = await chain.paymentsTo([ADDRESS_1, ADDRESS_2]);
  const byKey = (a: { txid: string; vout: number }, b: { txid: string; vout: number }) => `${a.txid}:${a.vout}`.localeCompare(`${b.txid}:${b.vout}`);
  assert.deepEqual([...payments].sort(byKey), [
    { txid: txA, vout: 0, address: ADDRESS_1, valueSats: 12345, block: earlier },
    { txid: txA, vout: 1, address: ADDRESS_2, valueSats: 2.1e15, block: earlier },
    { txid: txB, vout: 1, address: ADDRESS_1, valueSats: 50_000_000, block: null },
    { txid: txE, vout: 2, address: ADDRESS_2, valueSats: 40_000_000, block },
  ].sort(byKey));
  const listing = node.calls[0]!;
  assert.equal(listing.path, '/wallet/bitwrk-deposits');
  assert.deepEqual(listing.params, ['', 1, true, true]); // from genesis, include_watchonly, include_removed
  assert.equal(listing.authorization, BASIC);
  // Only the unconfirmed transactions are looked up in the mempool (the removed one is skipped before).
  assert.deepEqual(node.calls.filter((call) => call.method === 'getmempoolentry').map((call) => [call.path, call.params[0]]).sort(), [['/', txB], ['/', txF]].sort());
  // A since-block, when configured, is where every listing starts; no address, no call.
  const since = backend(node.url, { sinceBlock: hash('11') });
  await since.paymentsTo([ADDRESS_1]);
  assert.deepEqual(node.calls.filter((call) => call.method === 'listsinceblock').at(-1)!.params, [hash('11'), 1, true, true]);
  const count = node.calls.length;
  assert.deepEqual(await chain.paymentsTo([]), []);
  assert.equal(node.calls.length, count);
});

test('blockInBestChain: confirmations −1 is a stale block, RPC error −5 an unknown one; other errors surface', async (t) => {
  const [inChain, stale, unknown, warming] = [hash('01'), hash('02'), hash('03'), hash('04')];
  const node = await startNode(t, (call) => {
    const [asked] = call.params as [string];
    if (asked === inChain) return { result: header(inChain, 819_990, 11) };
    if (asked === stale) return { result: { ...header(stale, 819_990, -1), nextblockhash: undefined } };
    if (asked === unknown) return NOT_FOUND('Block not found');
    return { error: { code: -28, message: 'Loading block index…' } };
  });
  const chain = backend(node.url);
  assert.equal(await chain.blockInBestChain(inChain), true);
  assert.equal(await chain.blockInBestChain(stale), false);
  assert.equal(await chain.blockInBestChain(unknown), false);
  await rejectsWith(chain.blockInBestChain(warming), /getblockheader: Loading block index… \(RPC error -28\)/);
  await assert.rejects(chain.blockInBestChain('not-a-hash'), RangeError);
});

test('feeEstimates: estimatesmartfee for 1, 3, 6 and 144 blocks, BTC/kvB to sat/vB; a target without an estimate is left out', async (t) => {
  const rates: Record<number, string> = { 1: '0.00025000', 3: '0.00012000', 6: '0.00001234' };
  const node = await startNode(t, (call) => {
    const target = call.params[0] as number;
    const rate = rates[target];
    return { result: rate === undefined ? { errors: ['Insufficient data or no feerate found'], blocks: 0 } : { feerate: btc(rate), blocks: target === 1 ? 2 : target } };
  });
  assert.deepEqual(await backend(node.url).feeEstimates(), { 1: 25, 3: 12, 6: 1.234 });
  assert.deepEqual(node.calls.map((call) => [call.path, call.method, call.params]), [1, 3, 6, 144].map((target) => ['/', 'estimatesmartfee', [target]]));
});

test('broadcast: sendrawtransaction gives the txid; a rejection surfaces with Core\'s message', async (t) => {
  const txid = hash('5a');
  const node = await startNode(t, (call) => (call.params[0] === '0200cafe' ? { result: txid } : { error: { code: -26, message: 'min relay fee not met, 100 < 141' } }));
  const chain = backend(node.url);
  assert.equal(await chain.broadcast('0200cafe'), txid);
  await assert.rejects(chain.broadcast('0200beef'), (error: unknown) => error instanceof BitcoinCoreRpcError && error.code === -26 && error.rpcMessage === 'min relay fee not met, 100 < 141' && /sendrawtransaction: min relay fee not met, 100 < 141/.test(error.message));
  assert.deepEqual(node.calls.map((call) => [call.path, call.params]), [['/', ['0200cafe']], ['/', ['0200beef']]]);
});

test('unspentOf: listunspent from 0 confirmations for the addresses; a confirmed output\'s block from gettransaction, once per transaction', async (t) => {
  const [txA, txB, txC, txD] = ['a1', 'b2', 'c3', 'd4'].map(hash) as [string, string, string, string];
  const block = { hash: hash('3f'), height: 820_000 };
  const earlier = { hash: hash('2e'), height: 819_998 };
  const entries = [
    unspent(txA, 0, ADDRESS_1, '0.00012345', 3), // two outputs of one confirmed transaction: one gettransaction
    unspent(txA, 1, ADDRESS_2, '21000000.00000000', 3),
    unspent(txB, 1, ADDRESS_1, '0.50000000', 0), // paid by a mempool transaction
    unspent(txC, 2, ADDRESS_2, '0.40000000', 1),
    unspent(txD, 0, NOT_WATCHED, '0.80000000', 1), // the wallet's, but not asked about
  ];
  const confirmations: Record<string, number> = { [txA]: 4, [txC]: 2 }; // a block arrived between the two calls
  const node = await startNode(t, (call) => {
    if (call.method === 'listunspent') return listUnspent(call, entries);
    if (call.method === 'gettransaction') {
      const [txid] = call.params as [string];
      const count = confirmations[txid];
      if (count === undefined) return NOT_IN_WALLET;
      return { result: walletTransaction(txid, count, count > 0 ? (txid === txA ? earlier : block) : undefined) };
    }
    throw new Error(`unexpected ${call.method}`);
  });
  const chain = backend(node.url);
  const byKey = (a: { txid: string; vout: number }, b: { txid: string; vout: number }) => `${a.txid}:${a.vout}`.localeCompare(`${b.txid}:${b.vout}`);
  assert.deepEqual([...(await chain.unspentOf([ADDRESS_1, ADDRESS_2, ADDRESS_1]))].sort(byKey), [
    { txid: txA, vout: 0, address: ADDRESS_1, valueSats: 12345, block: earlier },
    { txid: txA, vout: 1, address: ADDRESS_2, valueSats: 2.1e15, block: earlier },
    { txid: txB, vout: 1, address: ADDRESS_1, valueSats: 50_000_000, block: null },
    { txid: txC, vout: 2, address: ADDRESS_2, valueSats: 40_000_000, block },
  ].sort(byKey));
  // minconf 0, maxconf, each address once (Core refuses a duplicate), include_unsafe; to the wallet.
  assert.deepEqual(node.calls[0]!.path, '/wallet/bitwrk-deposits');
  assert.deepEqual(node.calls[0]!.params, [0, 9_999_999, [ADDRESS_1, ADDRESS_2], true]);
  assert.deepEqual(node.calls.slice(1).map((call) => [call.path, call.method, call.params]).sort(), [
    ['/wallet/bitwrk-deposits', 'gettransaction', [txA, true]], ['/wallet/bitwrk-deposits', 'gettransaction', [txC, true]],
  ].sort());
  // No address, no call (an empty list would ask for the whole wallet).
  const count = node.calls.length;
  assert.deepEqual(await chain.unspentOf([]), []);
  assert.equal(node.calls.length, count);
  // A reorg between listunspent and gettransaction: an error to ask again, not a mixed answer.
  confirmations[txC] = 0;
  await rejectsWith(chain.unspentOf([ADDRESS_2]), new RegExp(`${txC} left the best chain while its outputs were listed`));
});

test('transactionStatus: gettransaction\'s block when confirmed; unconfirmed only if the mempool holds it; -5 and conflicted are unknown', async (t) => {
  const [confirmed, pending, replaced, conflicted, stranger, warming] = ['01', '02', '03', '04', '05', '06'].map(hash) as [string, string, string, string, string, string];
  const block = { hash: hash('3f'), height: 820_000 };
  const node = await startNode(t, (call) => {
    const [txid] = call.params as [string];
    if (call.method === 'getmempoolentry') return txid === pending ? { result: MEMPOOL_ENTRY } : NOT_FOUND('Transaction not in mempool');
    if (call.method !== 'gettransaction') throw new Error(`unexpected ${call.method}`);
    if (txid === confirmed) return { result: walletTransaction(txid, 6, block) };
    if (txid === pending || txid === replaced) return { result: walletTransaction(txid, 0) };
    if (txid === conflicted) return { result: walletTransaction(txid, -2) };
    if (txid === warming) return { error: { code: -28, message: 'Loading wallet…' } };
    return NOT_IN_WALLET;
  });
  const chain = backend(node.url);
  assert.deepEqual(await chain.transactionStatus(confirmed), { state: 'confirmed', block });
  assert.deepEqual(await chain.transactionStatus(pending), { state: 'mempool' });
  assert.deepEqual(await chain.transactionStatus(replaced), { state: 'unknown' }, 'the wallet holds it unconfirmed; the mempool no longer');
  assert.deepEqual(await chain.transactionStatus(conflicted), { state: 'unknown' });
  assert.deepEqual(await chain.transactionStatus(stranger), { state: 'unknown' });
  await rejectsWith(chain.transactionStatus(warming), /gettransaction: Loading wallet… \(RPC error -28\)/);
  await assert.rejects(chain.transactionStatus('not-a-txid'), RangeError);
  assert.deepEqual(node.calls.filter((call) => call.method === 'gettransaction').map((call) => [call.path, call.params]), [confirmed, pending, replaced, conflicted, stranger, warming].map((txid) => ['/wallet/bitwrk-deposits', [txid, true]]));
  // Only the unconfirmed ones are looked up in the mempool (the conflicted one is unknown already).
  assert.deepEqual(node.calls.filter((call) => call.method === 'getmempoolentry').map((call) => [call.path, call.params]), [['/', [pending]], ['/', [replaced]]]);
});

test('spenderOf: gettxout with the mempool; null is spent (by an unknown transaction) unless the funding transaction is unknown', async (t) => {
  const [funding, unknown, replaced] = ['0f', '1e', '2d'].map(hash) as [string, string, string];
  const block = { hash: hash('3f'), height: 820_000 };
  const spent = new Set([`${funding}:1`, `${replaced}:0`]);
  const node = await startNode(t, (call) => {
    const [txid, vout] = call.params as [string, number];
    switch (call.method) {
      case 'gettxout':
        return { result: txid === funding && !spent.has(`${txid}:${vout}`) && vout < 3 ? txOut(5) : null };
      case 'gettransaction':
        if (txid === funding) return { result: walletTransaction(txid, 5, block) };
        if (txid === replaced) return { result: walletTransaction(txid, 0) };
        return NOT_IN_WALLET;
      case 'getmempoolentry':
        return NOT_FOUND('Transaction not in mempool');
      default:
        throw new Error(`unexpected ${call.method}`);
    }
  });
  const chain = backend(node.url);
  assert.deepEqual(await chain.spenderOf(funding, 0), { spent: false });
  assert.deepEqual(node.calls.map((call) => [call.path, call.method, call.params]), [['/', 'gettxout', [funding, 0, true]]], 'an unspent output costs one call');
  assert.deepEqual(await chain.spenderOf(funding, 1), { spent: true, txid: null });
  assert.deepEqual(await chain.spenderOf(unknown, 0), { spent: false }, 'a transaction the wallet does not know');
  assert.deepEqual(await chain.spenderOf(replaced, 0), { spent: false }, 'a transaction that left the mempool has no outputs to spend');
  await assert.rejects(chain.spenderOf(funding, -1), RangeError);
  await assert.rejects(chain.spenderOf('zz', 0), RangeError);
});

test('malformed listunspent, gettransaction and gettxout answers are ChainBackendErrors that say what was wrong', async (t) => {
  const txid = hash('a1');
  const block = { hash: hash('3f'), height: 820_000 };
  let answer: Handler = () => ({ result: null });
  const node = await startNode(t, (call) => answer(call));
  const chain = backend(node.url);
  const listing = (entries: unknown, transaction: Json = walletTransaction(txid, 1, block)): Handler => (call) => (call.method === 'listunspent' ? { result: entries } : { result: transaction });
  const cases: Array<[Handler, () => Promise<unknown>, RegExp]> = [
    [listing({ txid }), () => chain.unspentOf([ADDRESS_1]), /listunspent: expected an array, got object/],
    [listing(['x']), () => chain.unspentOf([ADDRESS_1]), /listunspent entry: expected an object, got "x"/],
    [listing([{ ...unspent(txid, 0, ADDRESS_1, '0.1', 1), txid: 'abc' }]), () => chain.unspentOf([ADDRESS_1]), /listunspent entry txid: expected a 64-character hex hash, got "abc"/],
    [listing([{ ...unspent(txid, 0, ADDRESS_1, '0.1', 1), vout: 1.5 }]), () => chain.unspentOf([ADDRESS_1]), /listunspent entry vout: expected an integer, got 1\.5/],
    [listing([unspent(txid, 0, ADDRESS_1, '0.123456789', 1)]), () => chain.unspentOf([ADDRESS_1]), /listunspent entry amount: 0\.123456789 has more than 8 decimal places/],
    [listing([unspent(txid, 0, ADDRESS_2, '0.1', 1)]), () => chain.unspentOf([ADDRESS_1]), /listunspent: an output paying "bc1qnjg0.*", which was not asked about/],
    [listing([{ ...unspent(txid, 0, ADDRESS_1, '0.1', 1), address: undefined }]), () => chain.unspentOf([ADDRESS_1]), /listunspent: an output paying undefined/],
    [listing([unspent(txid, 0, ADDRESS_1, '0.1', -1)]), () => chain.unspentOf([ADDRESS_1]), /listunspent entry confirmations: -1 is negative/],
    [listing([{ ...unspent(txid, 0, ADDRESS_1, '0.1', 1), confirmations: '1' }]), () => chain.unspentOf([ADDRESS_1]), /listunspent entry confirmations: expected an integer, got "1"/],
    [listing([unspent(txid, 0, ADDRESS_1, '0.1', 1)], { ...walletTransaction(txid, 1, block), blockhash: undefined }), () => chain.unspentOf([ADDRESS_1]), /gettransaction blockhash: expected a 64-character hex hash, got undefined/],
    [listing([unspent(txid, 0, ADDRESS_1, '0.1', 1)], walletTransaction(hash('77'), 1, block)), () => chain.unspentOf([ADDRESS_1]), /gettransaction: asked for a1a1.*, got "7777/],
    [() => ({ result: [walletTransaction(txid, 1, block)] }), () => chain.transactionStatus(txid), /gettransaction: expected an object, got an array/],
    [() => ({ result: { ...walletTransaction(txid, 1, block), blockheight: '820000' } }), () => chain.transactionStatus(txid), /gettransaction blockheight: expected an integer, got "820000"/],
    [() => ({ result: { ...walletTransaction(txid, 1, block), confirmations: undefined } }), () => chain.transactionStatus(txid), /gettransaction confirmations: expected an integer, got undefined/],
    [(call) => ({ result: call.method === 'gettransaction' ? walletTransaction(txid, 0) : 'yes' }), () => chain.transactionStatus(txid), /getmempoolentry: expected an object, got "yes"/],
    [() => ({ result: false }), () => chain.spenderOf(txid, 0), /gettxout: expected an object, got false/],
    [() => ({ result: { ...txOut(1), value: '0.1' } }), () => chain.spenderOf(txid, 0), /gettxout value: "0\.1" is not an amount/],
    [() => ({ result: { ...txOut(1), bestblock: 'tip' } }), () => chain.spenderOf(txid, 0), /gettxout bestblock: expected a 64-character hex hash/],
    [(call) => ({ result: call.method === 'gettxout' ? null : { ...walletTransaction(txid, 1, block), txid: 7 } }), () => chain.spenderOf(txid, 0), /gettransaction: asked for a1a1.*, got 7/],
  ];
  for (const [handler, run, pattern] of cases) {
    answer = handler;
    await rejectsWith(run(), pattern);
  }
});

test('malformed answers are ChainBackendErrors that say what was wrong', async (t) => {
  const best = hash('3f');
  const confirmed = { hash: best, height: 820_000 };
  let answer: Handler = () => ({ result: null });
  const node = await startNode(t, (call) => answer(call));
  const chain = backend(node.url);
  const listing = (entries: unknown): Handler => () => ({ result: { transactions: entries, removed: [], lastblock: best } });
  const cases: Array<[Handler, () => Promise<unknown>, RegExp]> = [
    [() => ({ result: 42 }), () => chain.tip(), /getbestblockhash: expected a 64-character hex hash, got 42/],
    [() => ({ result: best.toUpperCase() }), () => chain.tip(), /getbestblockhash: expected a 64-character hex hash/],
    [(call) => (call.method === 'getbestblockhash' ? { result: best } : { result: header(hash('77'), 1, 1) }), () => chain.tip(), /getblockheader: asked for 3f3f.*, got 7777/],
    [(call) => (call.method === 'getbestblockhash' ? { result: best } : { result: { ...header(best, 1, 1), height: '820000' } }), () => chain.tip(), /getblockheader height: expected an integer, got "820000"/],
    [() => ({ result: { ...header(best, 1, 1), confirmations: 1.5 } }), () => chain.blockInBestChain(best), /getblockheader confirmations: expected an integer/],
    [listing('none'), () => chain.paymentsTo([ADDRESS_1]), /listsinceblock transactions: expected an array, got "none"/],
    [listing([receive(best, 0, ADDRESS_1, '0.123456789', 1, confirmed)]), () => chain.paymentsTo([ADDRESS_1]), /amount: 0\.123456789 has more than 8 decimal places/],
    [listing([{ ...receive(best, 0, ADDRESS_1, '0.1', 1, confirmed), amount: '0.10000000' }]), () => chain.paymentsTo([ADDRESS_1]), /amount: "0\.10000000" is not an amount/],
    [listing([receive(best, 0, ADDRESS_1, '-0.10000000', 1, confirmed)]), () => chain.paymentsTo([ADDRESS_1]), /amount: -0\.1 is not an amount/],
    [listing([{ ...receive(best, 0, ADDRESS_1, '0.10000000', 1, confirmed), blockheight: undefined }]), () => chain.paymentsTo([ADDRESS_1]), /blockheight: expected an integer/],
    [listing([{ ...receive(best, 0, ADDRESS_1, '0.10000000', 1, confirmed), txid: 'abc' }]), () => chain.paymentsTo([ADDRESS_1]), /txid: expected a 64-character hex hash, got "abc"/],
    [listing([{ ...receive(best, 0, ADDRESS_1, '0.10000000', 1, confirmed), vout: -1 }]), () => chain.paymentsTo([ADDRESS_1]), /vout: -1 is negative/],
    [() => ({ result: { feerate: btc('0.00001'), blocks: 2 } }), () => chain.broadcast('00'), /sendrawtransaction: expected a 64-character hex hash, got object/],
    [() => ({ result: { errors: 'none', blocks: 2 } }), () => chain.feeEstimates(), /estimatesmartfee errors: expected an array/],
    [() => ({ raw: '<html>Bad Gateway</html>', status: 502 }), () => chain.tip(), /getbestblockhash: HTTP 502, and the body is not JSON/],
    [() => ({ raw: '[1, 2]', status: 200 }), () => chain.tip(), /getbestblockhash reply: expected an object, got an array/],
    [() => ({ raw: '{"result": "x", "error": null, "id": 999999}', status: 200 }), () => chain.tip(), /the reply's id 999999 is not the request's/],
    [(call) => ({ raw: JSON.stringify({ result: null, error: { code: 'x' }, id: call.body.id }), status: 500 }), () => chain.tip(), /getbestblockhash: an error without a code and a message/],
  ];
  for (const [handler, run, pattern] of cases) {
    answer = handler;
    await rejectsWith(run(), pattern);
  }
});

test('a bad login, a refused connection and a node that does not answer in time are errors, without the password', async (t) => {
  const node = await startNode(t, () => 'hang', 'Basic other');
  const refused = backend(node.url);
  await assert.rejects(refused.tip(), (error: unknown) => {
    assert.ok(error instanceof ChainBackendError);
    assert.match(error.message, /getbestblockhash: the node refused the credentials \(HTTP 401\)/);
    assert.ok(!error.message.includes(PASSWORD) && !error.message.includes(encodeURIComponent(PASSWORD)));
    return true;
  });
  const slow = await startNode(t, () => 'hang');
  await rejectsWith(backend(slow.url, { timeoutMs: 100 }).tip(), /bitcoin-core getbestblockhash: no answer within 100 ms/);
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as AddressInfo;
  await new Promise((resolve) => closed.close(resolve));
  await assert.rejects(backend(`http://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`).tip(), (error: unknown) => {
    assert.ok(error instanceof ChainBackendError);
    assert.match(error.message, /getbestblockhash: fetch failed: .*ECONNREFUSED/);
    assert.ok(!error.message.includes(PASSWORD) && !error.message.includes(encodeURIComponent(PASSWORD)));
    return true;
  });
  assert.throws(() => new BitcoinCoreBackend({ url: 'http://127.0.0.1:8332', wallet: 'w' }), /user:password in the URL or a cookie file/);
});

test('the cookie file gives the login, read at each request (bitcoind writes a new one when it restarts)', async (t) => {
  const cookieFile = join(mkdtempSync(join(tmpdir(), 'bitwrk-core-')), '.cookie');
  writeFileSync(cookieFile, '__cookie__:0123abcd\n');
  const node = await startNode(t, () => ({ result: hash('3f') }), `Basic ${Buffer.from('__cookie__:0123abcd').toString('base64')}`);
  const chain = backend(`http://127.0.0.1:${node.port}`, { cookieFile });
  assert.equal(await chain.broadcast('00'), hash('3f'));
  writeFileSync(cookieFile, '__cookie__:ffff0000');
  await rejectsWith(chain.broadcast('00'), /refused the credentials/);
  await rejectsWith(backend(`http://127.0.0.1:${node.port}`, { cookieFile: join(tmpdir(), 'bitwrk-no-such-dir', '.cookie') }).tip(), /cannot read the cookie file/);
});

test('ensureWatching: creates the watch-only descriptor wallet when missing and imports the descriptor with its checksum', async (t) => {
  let loaded = false;
  let walletInfo: Json = { walletname: 'bitwrk-deposits', walletversion: 169900, format: 'sqlite', txcount: 0, keypoolsize: 0, private_keys_enabled: false, avoid_reuse: false, scanning: false, descriptors: true, external_signer: false, blank: true };
  let imported: Json = { success: true };
  const node = await startNode(t, (call) => {
    switch (call.method) {
      case 'loadwallet':
        return loaded ? { error: { code: -35, message: 'Wallet "bitwrk-deposits" is already loaded.' } } : { error: { code: -18, message: "Wallet file verification failed. Failed to load database path '/data/wallets/bitwrk-deposits'. Path does not exist." } };
      case 'createwallet':
        loaded = true;
        return { result: { name: call.params[0], warnings: [] } };
      case 'getwalletinfo':
        return { result: walletInfo };
      case 'getdescriptorinfo':
        return { result: { descriptor: `${DESCRIPTOR.replace(/h/g, "'")}#normaliz`, checksum: CHECKSUM, isrange: true, issolvable: true, hasprivatekeys: false } };
      case 'importdescriptors':
        return { result: [imported] };
      default:
        throw new Error(`unexpected ${call.method}`);
    }
  });
  const chain = backend(node.url);
  await chain.ensureWatching([DESCRIPTOR]);
  assert.deepEqual(node.calls.map((call) => [call.path, call.method]), [
    ['/', 'loadwallet'], ['/', 'createwallet'], ['/wallet/bitwrk-deposits', 'getwalletinfo'], ['/', 'getdescriptorinfo'], ['/wallet/bitwrk-deposits', 'importdescriptors'],
  ]);
  assert.deepEqual(node.calls[1]!.params, ['bitwrk-deposits', true, true, '', false, true, true]); // disable_private_keys, blank, descriptors
  assert.deepEqual(node.calls[3]!.params, [DESCRIPTOR]);
  assert.deepEqual(node.calls[4]!.params, [[{ desc: `${DESCRIPTOR}#${CHECKSUM}`, active: false, internal: false, timestamp: 'now', range: [0, 9999] }]]);
  // At the next start the wallet is loaded already; a stale checksum is replaced; a rescan time and range are passed on.
  node.calls.length = 0;
  await chain.ensureWatching([`${DESCRIPTOR}#zzzzzzzz`], { rescanSince: 1_700_000_000, rangeEnd: 1999 });
  assert.deepEqual(node.calls.map((call) => call.method), ['loadwallet', 'getwalletinfo', 'getdescriptorinfo', 'importdescriptors']);
  assert.deepEqual(node.calls[2]!.params, [DESCRIPTOR]);
  assert.deepEqual(node.calls[3]!.params, [[{ desc: `${DESCRIPTOR}#${CHECKSUM}`, active: false, internal: false, timestamp: 1_700_000_000, range: [0, 1999] }]]);
  // Core's refusal of an import surfaces; a wallet that can hold private keys is not used.
  imported = { success: false, error: { code: -5, message: 'Cannot import descriptor without private keys to a wallet with private keys enabled' } };
  await rejectsWith(chain.ensureWatching([DESCRIPTOR]), /importdescriptors refused wpkh\(.*\)#[a-z0-9]{8}: Cannot import descriptor without private keys/);
  walletInfo = { ...walletInfo, private_keys_enabled: true };
  await rejectsWith(chain.ensureWatching([DESCRIPTOR]), /can hold private keys; the exchange needs a watch-only wallet/);
});

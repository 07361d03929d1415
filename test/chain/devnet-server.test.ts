// Goal: the devnet's HTTP server answers Esplora's REST API with Esplora's shapes and status codes,
// over a real loopback socket, and survives hostile requests (bad hex, huge bodies, bad addresses,
// garbage bytes) with 4xx answers while staying up; `bitwrk devnet` starts it and stops cleanly.
// Method: fetch against a server on a free port; a raw TCP socket for non-HTTP bytes; the command
// run as a child process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { sha256 } from '@noble/hashes/sha2.js';
import { HDKey } from '@scure/bip32';
import { p2wpkh, Transaction } from '@scure/btc-signer';
import { ChainBackendError, type ChainPayment } from '../../src/chain/backend.js';
import { addressScript, DEVNET_NETWORK } from '../../src/chain/devnet-tx.js';
import { Devnet } from '../../src/chain/devnet.js';
import { startDevnetServer, type DevnetServer } from '../../src/chain/devnet-server.js';
import { EsploraBackend } from '../../src/chain/esplora.js';

const address = p2wpkh(HDKey.fromMasterSeed(sha256(new TextEncoder().encode('server-test'))).derive("m/84'/1'/0'/0/0").publicKey!, DEVNET_NETWORK).address!;
let devnet: Devnet;
let server: DevnetServer;

before(async () => {
  devnet = new Devnet({ seed: 21 });
  server = await startDevnetServer({ devnet, port: 0 });
});

after(async () => {
  await server.close();
});

async function get(path: string): Promise<{ readonly status: number; readonly type: string; readonly text: string }> {
  const response = await fetch(`${server.url}${path}`);
  return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text() };
}

async function getJson<T>(path: string): Promise<T> {
  const response = await get(path);
  assert.equal(response.status, 200, `${path}: ${response.text}`);
  assert.equal(response.type, 'application/json');
  return JSON.parse(response.text) as T;
}

async function post(path: string, body: string): Promise<{ readonly status: number; readonly text: string }> {
  const response = await fetch(`${server.url}${path}`, { method: 'POST', body });
  return { status: response.status, text: await response.text() };
}

interface EsploraTx {
  txid: string;
  version: number;
  locktime: number;
  vin: Array<{ txid: string; vout: number; prevout: { scriptpubkey: string; scriptpubkey_asm: string; scriptpubkey_type: string; scriptpubkey_address?: string; value: number } | null; scriptsig: string; scriptsig_asm: string; witness?: string[]; is_coinbase: boolean; sequence: number }>;
  vout: Array<{ scriptpubkey: string; scriptpubkey_asm: string; scriptpubkey_type: string; scriptpubkey_address?: string; value: number }>;
  size: number;
  weight: number;
  fee: number;
  status: { confirmed: boolean; block_height?: number; block_hash?: string; block_time?: number };
}

test('blocks: tip height and hash as text, block JSON, status, txids, header', async () => {
  const height = await get('/blocks/tip/height');
  assert.deepEqual([height.status, height.type, height.text], [200, 'text/plain', '101']);
  const hash = (await get('/blocks/tip/hash')).text;
  assert.equal((await get('/block-height/101')).text, hash);
  const block = await getJson<Record<string, unknown>>(`/block/${hash}`);
  assert.deepEqual(Object.keys(block), ['id', 'height', 'version', 'timestamp', 'tx_count', 'size', 'weight', 'merkle_root', 'previousblockhash', 'mediantime', 'nonce', 'bits', 'difficulty']);
  assert.equal(block.id, hash);
  assert.equal(block.height, 101);
  assert.equal(block.tx_count, 1);
  assert.equal(block.bits, 0x207fffff);
  assert.ok(Math.abs((block.difficulty as number) - 4.656542373906925e-10) < 1e-20);
  assert.equal(block.previousblockhash, (await get('/block-height/100')).text);
  assert.equal((await getJson<Record<string, unknown>>(`/block/${(await get('/block-height/0')).text}`)).previousblockhash, null);
  assert.deepEqual(await getJson(`/block/${hash}/status`), { in_best_chain: true, height: 101, next_best: null });
  assert.deepEqual(await getJson(`/block/${(await get('/block-height/100')).text}/status`), { in_best_chain: true, height: 100, next_best: hash });
  assert.equal((await getJson<string[]>(`/block/${hash}/txids`)).length, 1);
  assert.equal((await get(`/block/${hash}/header`)).text.length, 160);
});

test('a faucet payment over the control API: tx JSON, status, hex, address txs and utxos, then confirmed', async () => {
  const paid = await post('/devnet/faucet', JSON.stringify({ address, amountSats: 123_456 }));
  assert.equal(paid.status, 200, paid.text);
  const { txid } = JSON.parse(paid.text) as { txid: string };
  const tx = await getJson<EsploraTx>(`/tx/${txid}`);
  assert.deepEqual(Object.keys(tx), ['txid', 'version', 'locktime', 'vin', 'vout', 'size', 'weight', 'fee', 'status']);
  assert.equal(tx.txid, txid);
  assert.deepEqual(Object.keys(tx.vin[0]!), ['txid', 'vout', 'prevout', 'scriptsig', 'scriptsig_asm', 'witness', 'is_coinbase', 'sequence']);
  assert.equal(tx.vin[0]!.prevout!.scriptpubkey_type, 'v0_p2wpkh');
  assert.equal(tx.vin[0]!.prevout!.scriptpubkey_address, devnet.faucet.address);
  assert.equal(tx.vin[0]!.witness!.length, 2);
  assert.equal(tx.vin[0]!.is_coinbase, false);
  assert.equal(tx.vin[0]!.sequence, 0xfffffffd);
  assert.deepEqual(tx.vout[0], { scriptpubkey: tx.vout[0]!.scriptpubkey, scriptpubkey_asm: `OP_0 OP_PUSHBYTES_20 ${tx.vout[0]!.scriptpubkey.slice(4)}`, scriptpubkey_type: 'v0_p2wpkh', scriptpubkey_address: address, value: 123_456 });
  assert.equal(tx.fee, tx.vin[0]!.prevout!.value - tx.vout.reduce((sum, output) => sum + output.value, 0));
  assert.deepEqual(tx.status, { confirmed: false });
  assert.deepEqual(await getJson(`/tx/${txid}/status`), { confirmed: false });
  const rawHex = (await get(`/tx/${txid}/hex`)).text;
  assert.equal(rawHex.length / 2, tx.size);
  assert.deepEqual((await getJson<EsploraTx[]>(`/address/${address}/txs`)).map((entry) => entry.txid), [txid]);
  assert.deepEqual((await getJson<EsploraTx[]>(`/address/${address}/txs/mempool`)).map((entry) => entry.txid), [txid]);
  assert.deepEqual(await getJson(`/address/${address}/txs/chain`), []);
  assert.deepEqual(await getJson(`/address/${address}/utxo`), [{ txid, vout: 0, status: { confirmed: false }, value: 123_456 }]);
  const mined = await post('/devnet/mine', JSON.stringify({ blocks: 1 }));
  const { hashes } = JSON.parse(mined.text) as { hashes: string[] };
  assert.equal(hashes.length, 1);
  const status = await getJson<EsploraTx['status']>(`/tx/${txid}/status`);
  assert.deepEqual(status, { confirmed: true, block_height: 102, block_hash: hashes[0], block_time: status.block_time });
  assert.deepEqual((await getJson<EsploraTx[]>(`/address/${address}/txs/chain`)).map((entry) => entry.txid), [txid]);
  assert.deepEqual((await getJson<Array<{ status: unknown }>>(`/address/${address}/utxo`))[0]!.status, status);
  // The coinbase it spent: outspends name the spender; the coinbase's own JSON has no prevout.
  const spentCoinbase = tx.vin[0]!.txid;
  const outspends = await getJson<Array<Record<string, unknown>>>(`/tx/${spentCoinbase}/outspends`);
  assert.deepEqual(outspends[0], { spent: true, txid, vin: 0, status });
  assert.deepEqual(outspends[1], { spent: false }, 'the witness commitment output');
  assert.deepEqual(await getJson(`/tx/${spentCoinbase}/outspend/0`), outspends[0]);
  const coinbase = await getJson<EsploraTx>(`/tx/${spentCoinbase}`);
  assert.equal(coinbase.vin[0]!.prevout, null);
  assert.equal(coinbase.vin[0]!.is_coinbase, true);
  assert.equal(coinbase.fee, 0);
});

test('address history pages 25 confirmed transactions at a time, newest first, after the last seen txid', async () => {
  const paging = p2wpkh(HDKey.fromMasterSeed(sha256(new TextEncoder().encode('pages'))).derive("m/84'/1'/0'/0/0").publicKey!, DEVNET_NETWORK).address!;
  const txids: string[] = [];
  for (let index = 0; index < 30; index++) {
    txids.push(devnet.faucet.pay(paging, 10_000 + index));
    if (index % 10 === 9) devnet.mine(1);
  }
  const first = (await getJson<EsploraTx[]>(`/address/${paging}/txs/chain`)).map((entry) => entry.txid);
  assert.equal(first.length, 25);
  const second = (await getJson<EsploraTx[]>(`/address/${paging}/txs/chain/${first[24]}`)).map((entry) => entry.txid);
  assert.equal(second.length, 5);
  assert.deepEqual(new Set([...first, ...second]), new Set(txids));
  assert.equal(first[0], txids[29], 'newest first');
});

test('POST /tx: raw hex in, txid out; the same transaction again succeeds; a tampered one is a 400 with the reason', async () => {
  const built = devnet.faucet.build([{ address, amountSats: 50_000 }]);
  const tampered = built.hex.slice(0, -80) + (built.hex.at(-80) === '0' ? '1' : '0') + built.hex.slice(-79);
  const refused = await post('/tx', tampered);
  assert.equal(refused.status, 400);
  assert.match(refused.text, /^sendrawtransaction RPC error: \{"code":-2\d,"message":"[a-z-]+: /);
  const accepted = await post('/tx', `${built.hex}\n`);
  assert.deepEqual([accepted.status, accepted.text], [200, built.txid]);
  assert.deepEqual([(await post('/tx', built.hex)).status, (await post('/tx', built.hex)).text], [200, built.txid]);
  assert.ok((await getJson<string[]>('/mempool/txids')).includes(built.txid));
  const fees = await getJson<Record<string, number>>('/fee-estimates');
  assert.deepEqual(Object.keys(fees).map(Number).sort((a, b) => a - b), [...Array.from({ length: 25 }, (_, index) => index + 1), 144, 504, 1008]);
  assert.ok(Object.values(fees).every((rate) => typeof rate === 'number' && rate >= 1));
});

test('invalidate over the control API: the old tip is stale, its status has no height', async () => {
  const [hash] = devnet.mine(1);
  const answer = await post('/devnet/invalidate', JSON.stringify({ hash }));
  assert.equal(answer.status, 200, answer.text);
  assert.deepEqual(JSON.parse(answer.text), { disconnected: [hash], connected: [] });
  assert.deepEqual(await getJson(`/block/${hash}/status`), { in_best_chain: false, height: null, next_best: null });
  assert.notEqual((await get('/blocks/tip/hash')).text, hash);
});

test('hostile input is answered with 4xx and the server stays up', async () => {
  const unknown = 'ab'.repeat(32);
  const cases: Array<readonly [string, number]> = [
    ['/tx/zz', 400], ['/tx/' + 'a'.repeat(63), 400], [`/tx/${unknown}`, 404], [`/tx/${unknown}/status`, 404], [`/tx/${unknown}/hex`, 404],
    [`/block/${unknown}`, 404], ['/block/xyz/status', 400], ['/block-height/99999', 404], ['/block-height/-1', 400], ['/block-height/1e3', 400],
    ['/address/notanaddress/txs', 400], ['/address/tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx/utxo', 400], ['/address/%zz%00/txs', 400],
    [`/address/${address}/txs/chain/nothex`, 400], [`/tx/${unknown}/outspend/x`, 404], ['/nope', 404], ['/blocks/tip/height/extra', 404], ['/a/b/c/d/e/f/g/h', 404],
  ];
  for (const [path, status] of cases) assert.equal((await get(path)).status, status, path);
  for (const [body, path] of [['zz', '/tx'], ['', '/tx'], ['00'.repeat(100), '/tx'], ['{', '/devnet/mine'], ['[]', '/devnet/mine'], ['{"blocks":-1}', '/devnet/mine'], ['{"blocks":1,"evil":1}', '/devnet/mine'], ['{"address":"x","amountSats":1}', '/devnet/faucet'], ['{"hash":"00"}', '/devnet/invalidate']] as const) {
    assert.equal((await post(path, body)).status, 400, `${path} ${body}`);
  }
  const huge = await post('/tx', 'a'.repeat(2_000_000));
  assert.equal(huge.status, 413, 'over the body limit, as electrs answers');
  const chunked = await fetch(`${server.url}/tx`, { method: 'POST', body: new Blob(['b'.repeat(1_500_000)]).stream(), duplex: 'half' } as RequestInit);
  assert.equal(chunked.status, 413);
  await chunked.text();
  const garbage = await new Promise<string>((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1');
    let answer = '';
    socket.on('data', (data) => (answer += data.toString()));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.end('\x00\xffGARBAGE /// HTTP/9\r\n\r\n');
  });
  assert.match(garbage, /^HTTP\/1\.1 400/);
  assert.equal((await get('/blocks/tip/height')).status, 200, 'still serving');
});

/** A P2WPKH test wallet from a name. */
function wallet(name: string): { readonly key: HDKey; readonly address: string; readonly script: Uint8Array } {
  const key = HDKey.fromMasterSeed(sha256(new TextEncoder().encode(name))).derive("m/84'/1'/0'/0/0");
  const payment = p2wpkh(key.publicKey!, DEVNET_NETWORK);
  return { key, address: payment.address!, script: payment.script };
}

/** Signs a spend of one coin of `from` paying `amountSats` to `to` (the rest is the fee). */
function spend(from: ReturnType<typeof wallet>, coin: { readonly txid: string; readonly vout: number; readonly valueSats: number }, to: string, amountSats: number): string {
  const tx = new Transaction({ version: 2, lockTime: 0 });
  tx.addInput({ txid: coin.txid, index: coin.vout, sequence: 0xfffffffd, witnessUtxo: { script: from.script, amount: BigInt(coin.valueSats) } });
  tx.addOutput({ script: addressScript(to), amount: BigInt(amountSats) });
  tx.sign(from.key.privateKey!);
  tx.finalize();
  return tx.hex;
}

const byOutpoint = (payments: readonly ChainPayment[]): ChainPayment[] => [...payments].sort((a, b) => `${a.txid}:${a.vout}`.localeCompare(`${b.txid}:${b.vout}`));

test('EsploraBackend: unspentOf, transactionStatus and spenderOf follow the mempool, confirmation and replacement', async () => {
  const chain = new EsploraBackend(server.url);
  const [a, b] = [wallet('unspent-a'), wallet('unspent-b')];
  const unknown = 'cd'.repeat(32);
  const funding = devnet.faucet.pay(a.address, 100_000, { outputs: [{ address: b.address, amountSats: 50_000 }] });
  const [fundingHash] = devnet.mine(1);
  const fundingBlock = { height: devnet.tip().height, hash: fundingHash! };
  const pending = devnet.faucet.pay(b.address, 70_000);
  const toReplace = devnet.faucet.pay(a.address, 40_000);
  const spender = devnet.submit(spend(a, { txid: funding, vout: 0, valueSats: 100_000 }, b.address, 99_000));
  const expected = (replacing: string, block: ChainPayment['block'] = null): ChainPayment[] => byOutpoint([
    { txid: funding, vout: 1, address: b.address, valueSats: 50_000, block: fundingBlock }, // funding:0 is spent in the mempool: absent
    { txid: pending, vout: 0, address: b.address, valueSats: 70_000, block },
    { txid: replacing, vout: 0, address: a.address, valueSats: 40_000, block },
    { txid: spender, vout: 0, address: b.address, valueSats: 99_000, block },
  ]);
  assert.deepEqual(byOutpoint(await chain.unspentOf([a.address, b.address, a.address])), expected(toReplace), 'each address once');
  assert.deepEqual(await chain.unspentOf([]), []);
  assert.deepEqual(await chain.transactionStatus(funding), { state: 'confirmed', block: fundingBlock });
  assert.deepEqual(await chain.transactionStatus(pending), { state: 'mempool' });
  assert.deepEqual(await chain.transactionStatus(unknown), { state: 'unknown' });
  assert.deepEqual(await chain.spenderOf(funding, 0), { spent: true, txid: spender });
  assert.deepEqual(await chain.spenderOf(funding, 1), { spent: false });
  assert.deepEqual(await chain.spenderOf(devnet.transaction(funding)!.tx.inputs[0]!.txid, devnet.transaction(funding)!.tx.inputs[0]!.vout), { spent: true, txid: funding }, 'the faucet coin it spent');
  assert.deepEqual(await chain.spenderOf(unknown, 0), { spent: false });
  // The faucet replaces one payment: the original is unknown, its output gone, the replacement's there.
  const replacement = devnet.faucet.replace(toReplace, { payTo: [{ address: a.address, amountSats: 40_000 }] });
  assert.deepEqual(await chain.transactionStatus(toReplace), { state: 'unknown' });
  assert.deepEqual(await chain.transactionStatus(replacement), { state: 'mempool' });
  assert.deepEqual(await chain.spenderOf(toReplace, 0), { spent: false });
  assert.deepEqual(byOutpoint(await chain.unspentOf([a.address, b.address])), expected(replacement));
  // Mined: the mempool outputs now have their block, and the spend is confirmed.
  const [minedHash] = devnet.mine(1);
  const mined = { height: devnet.tip().height, hash: minedHash! };
  assert.deepEqual(await chain.transactionStatus(spender), { state: 'confirmed', block: mined });
  assert.deepEqual(await chain.spenderOf(funding, 0), { spent: true, txid: spender });
  assert.deepEqual(byOutpoint(await chain.unspentOf([a.address, b.address])), expected(replacement, mined));
});

test('EsploraBackend: a malformed utxo, status or outspend answer is a ChainBackendError naming the path; addresses asked at most `parallel` at once', async () => {
  const txid = 'ab'.repeat(32);
  const blockHash = 'cd'.repeat(32);
  const answering = (body: string, status = 200): EsploraBackend => new EsploraBackend('http://esplora.invalid', { fetch: () => Promise.resolve(new Response(body, { status, headers: { 'content-type': 'application/json' } })) });
  const utxo = (fields: Record<string, unknown>): string => JSON.stringify([{ txid, vout: 0, value: 1_000, status: { confirmed: true, block_height: 5, block_hash: blockHash }, ...fields }]);
  const spent = (fields: Record<string, unknown>): string => JSON.stringify({ spent: true, txid, vin: 0, status: { confirmed: false }, ...fields });
  const cases: Array<[string, (chain: EsploraBackend) => Promise<unknown>, RegExp]> = [
    ['{}', (chain) => chain.unspentOf([address]), /\/address\/bcrt1\w+\/utxo: not a list of unspent outputs/],
    [utxo({ txid: 'abc' }), (chain) => chain.unspentOf([address]), /\/utxo\[0\]: not an unspent output \(txid, vout\)/],
    [utxo({ vout: -1 }), (chain) => chain.unspentOf([address]), /\/utxo\[0\]: not an unspent output/],
    [utxo({ value: 1.5 }), (chain) => chain.unspentOf([address]), /\/utxo\[0\]: no whole, non-negative value/],
    [utxo({ value: '1000' }), (chain) => chain.unspentOf([address]), /\/utxo\[0\]: no whole, non-negative value/],
    [utxo({ status: undefined }), (chain) => chain.unspentOf([address]), /\/utxo\[0\]\.status: not a transaction status/],
    [utxo({ status: { confirmed: true, block_height: 5 } }), (chain) => chain.unspentOf([address]), /\/utxo\[0\]\.status: a confirmed transaction without its block/],
    ['oops', (chain) => chain.unspentOf([address]), /\/utxo: the answer is not JSON/],
    ['{"confirmed":"yes"}', (chain) => chain.transactionStatus(txid), new RegExp(`/tx/${txid}/status: no confirmed flag`)],
    ['{"confirmed":true,"block_height":5,"block_hash":"XY"}', (chain) => chain.transactionStatus(txid), /\/status: a confirmed transaction without its block/],
    ['[]', (chain) => chain.transactionStatus(txid), /\/status: not a transaction status/],
    ['{"spent":"no"}', (chain) => chain.spenderOf(txid, 3), new RegExp(`/tx/${txid}/outspend/3: not an outspend \\(no spent flag\\)`)],
    [spent({ txid: undefined }), (chain) => chain.spenderOf(txid, 3), /\/outspend\/3: a spent output without the spending txid and vin/],
    [spent({ vin: -1 }), (chain) => chain.spenderOf(txid, 3), /\/outspend\/3: a spent output without the spending txid and vin/],
    [spent({ status: undefined }), (chain) => chain.spenderOf(txid, 3), /\/outspend\/3\.status: not a transaction status/],
    [spent({ status: { confirmed: true } }), (chain) => chain.spenderOf(txid, 3), /\/outspend\/3\.status: a confirmed transaction without its block/],
    ['[]', (chain) => chain.transactionStatus('zz'), /not a txid: zz/],
    ['[]', (chain) => chain.spenderOf(txid, -1), /not an output index: -1/],
    ['[]', (chain) => chain.spenderOf(txid, 1.5), /not an output index: 1\.5/],
  ];
  for (const [body, run, pattern] of cases) {
    await assert.rejects(run(answering(body)), (error: unknown) => {
      assert.ok(error instanceof ChainBackendError, `${body}: a ChainBackendError, got ${String(error)}`);
      assert.match(error.message, pattern);
      return true;
    });
  }
  await assert.rejects(answering('Internal error', 500).unspentOf([address]), /\/utxo: HTTP 500 Internal error/);
  // The documented shapes themselves pass.
  assert.deepEqual(await answering(utxo({})).unspentOf([address]), [{ txid, vout: 0, address, valueSats: 1_000, block: { height: 5, hash: blockHash } }]);
  assert.deepEqual(await answering(spent({})).spenderOf(txid, 3), { spent: true, txid });
  // Bounded parallelism, as paymentsTo: five addresses (one given twice), two at a time.
  let inFlight = 0;
  let most = 0;
  const asked: string[] = [];
  const slow = new EsploraBackend('http://esplora.invalid', {
    parallel: 2,
    fetch: async (input) => {
      asked.push(String(input));
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return new Response('[]', { headers: { 'content-type': 'application/json' } });
    },
  });
  assert.deepEqual(await slow.unspentOf(['a1', 'a2', 'a3', 'a1', 'a4', 'a5']), []);
  assert.equal(most, 2);
  assert.deepEqual(asked.sort(), ['a1', 'a2', 'a3', 'a4', 'a5'].map((name) => `http://esplora.invalid/address/${name}/utxo`));
});

test('the server listens on loopback only', async () => {
  await assert.rejects(startDevnetServer({ devnet, host: '0.0.0.0' }), /loopback only/);
});

test('bitwrk devnet prints its Esplora URL and faucet, serves, and stops on SIGTERM; bad flags exit 2', async () => {
  const child = spawn(process.execPath, ['bin/bitwrk.js', 'devnet', '--port', '0', '--seed', '5'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (data: Buffer) => {
      output += data.toString();
      const match = /Esplora: (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match !== null && output.includes('faucet:')) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
  });
  assert.match(output, /faucet: {2}bcrt1q\w+, 100\.00000000 BTC spendable/);
  assert.equal(await (await fetch(`${url}/blocks/tip/height`)).text(), '101');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  const badFlags = [['--host', '0.0.0.0'], ['--port', 'x'], ['--block-interval', '-1'], ['--bogus']];
  const results = await Promise.all(badFlags.map((flags) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const bad = spawn(process.execPath, ['bin/bitwrk.js', 'devnet', ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    bad.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    bad.once('exit', (code) => resolve({ code, stderr }));
  })));
  results.forEach(({ code, stderr }, index) => {
    assert.equal(code, 2, `${badFlags[index]!.join(' ')}: ${stderr}`);
    assert.match(stderr, /usage: bitwrk devnet/);
  });
});

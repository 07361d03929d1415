// Daemon benchmark: whole purchases between two daemons on loopback, each daemon its own process
// started as users start it (`bitwrk daemon`: lmdb state, on-disk CAFS, signed commands, the
// encrypted peer link), the exchange in this process. The workers run here too and speak the
// worker protocol over plain HTTP: they hash the work as it streams in and answer with the digest,
// so the figures are the trade machinery's and the transfer's own cost. Figures, same run:
//  - small purchases (1 KiB of work): per second with 32 in flight, latency p50/p99 under that
//    load, and p50/p99 one at a time;
//  - a purchase of 256 MiB of fresh random bytes, directly to the seller: MiB/s from POST to
//    result, and its ratio to a plain HTTP transfer of the same bytes between two Node processes;
//  - the same work bought again (every chunk already at the seller): bytes on the wire, as a
//    share of the file;
//  - the same size through the exchange's relay, and its ratio to direct;
//  - a 1 GiB purchase of the test article (the buyer's daemon checks the result against the
//    work, read back from its store): each daemon's peak RSS (VmHWM, whole run) afterwards.
// `--quick` shrinks the sizes (32 MiB and 128 MiB) and the counts.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { realClock } from '../src/clock.js';
import { hashWorkFromDigest } from '../src/daemon/hash-work.js';
import { articleWithDefaults } from '../src/market/articles.js';
import { DEFAULT_ARTICLES, TEST_HASH_ARTICLE } from '../src/market/catalogue.js';
import { connectClient, newIdentity, startExchange } from '../test/support/exchange.js';
import { benchOptions, percentile, printFigures, round } from './support.js';

const options = benchOptions();
const MIB = 1024 * 1024;
/** An article no daemon has a result check for: the worker's digest is taken as it is. */
const DIGEST_ARTICLE = 'bench/digest/0';
const bigMiB = options.quick ? 32 : 256;
const hugeMiB = options.quick ? 128 : 1024;
const smallRuns = options.quick ? 96 : 640;
const sequentialRuns = options.quick ? 10 : 40;
const bigRuns = options.quick ? 1 : 2;
const IN_FLIGHT = 32;

const directory = mkdtempSync(join(tmpdir(), 'bitwrk-bench-daemon-'));
const admin = newIdentity();
const exchange = await startExchange(join(directory, 'exchange'), realClock, admin, {
  extra: { initialArticles: [...DEFAULT_ARTICLES, articleWithDefaults(DIGEST_ARTICLE, { description: 'benchmark: SHA-256 of the work' })] },
});
const children: ChildProcess[] = [];

interface DaemonProcess {
  readonly pid: number;
  readonly address: string;
  readonly apiUrl: string;
  readonly token: string;
  call(method: string, path: string, body?: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

/** `bitwrk daemon` in its own process; resolves once it prints its API address. */
async function startDaemon(name: string, relay: 'never' | 'always'): Promise<DaemonProcess> {
  const dataDir = join(directory, name);
  const child = spawn(process.execPath, ['bin/bitwrk.js', 'daemon', '--data-dir', dataDir, '--key-file', join(dataDir, 'key.wif'), '--exchange', exchange.url, '--api-port', '0', '--relay', relay, '-q'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let address = '';
  let apiUrl = '';
  for await (const line of createInterface({ input: child.stdout! })) {
    address ||= /^daemon (\S+)/.exec(line)?.[1] ?? '';
    apiUrl ||= /^\s+API:\s+(\S+?)\/? \(/.exec(line)?.[1] ?? '';
    if (address !== '' && apiUrl !== '') break;
  }
  if (apiUrl === '') throw new Error(`daemon ${name} exited before it listened`);
  child.stdout!.resume();
  const token = readFileSync(join(dataDir, 'api-token'), 'utf8').trim();
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} on ${name}: HTTP ${response.status} ${text}`);
    return JSON.parse(text) as unknown;
  };
  return {
    pid: child.pid!,
    address,
    apiUrl,
    token,
    call,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Peak resident memory of a process so far, in MiB (Linux: VmHWM). */
function peakRssMiB(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? Number.NaN : Number(match[1]) / 1024;
}

/**
 * Workers of the worker protocol (POST the work, answer the result): the SHA-256 of the work as
 * it streams in, as hex; for the test article the test article's result (the digest hashed on).
 */
async function startWorkers(): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const digest = createHash('sha256');
    request.on('data', (part: Buffer) => digest.update(part));
    request.on('error', () => response.destroy());
    request.on('end', () => {
      const first = digest.digest();
      const result = request.headers['x-bitwrk-article'] === TEST_HASH_ARTICLE ? hashWorkFromDigest(first) : Buffer.from(`${first.toString('hex')}\n`);
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(result.length) }).end(result);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/work` };
}

/** A seller daemon with `slots` workers per article and sell mandates; resolves once all bids are placed. */
async function startSeller(name: string, relay: 'never' | 'always', slots: number, workerUrl: string): Promise<DaemonProcess> {
  const daemon = await startDaemon(name, relay);
  for (const article of [DIGEST_ARTICLE, TEST_HASH_ARTICLE]) {
    for (let slot = 0; slot < slots; slot++) await daemon.call('POST', '/workers', { id: `${article.replace(/\W/g, '-')}-${slot}`, article, pushUrl: `${workerUrl}/${name}/${slot}` });
    await daemon.call('POST', '/mandates', { side: 'sell', article, priceSats: 100 });
  }
  for (;;) {
    const trades = (await daemon.call('GET', '/trades')) as Array<{ side: string; state: string }>;
    if (trades.filter((trade) => trade.side === 'sell' && trade.state === 'bidPlaced').length >= 2 * slots) return daemon;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Purchase {
  readonly ms: number;
  readonly tradeId: string;
}

/** One purchase through the buyer's local API, the work streamed as the request body. */
async function purchase(buyer: DaemonProcess, article: string, parts: readonly Uint8Array[]): Promise<Purchase> {
  const size = parts.reduce((sum, part) => sum + part.length, 0);
  const startNs = process.hrtime.bigint();
  const response = await fetch(`${buyer.apiUrl}/buy/${article}`, {
    method: 'POST',
    body: ReadableStream.from(parts),
    duplex: 'half',
    headers: { authorization: `Bearer ${buyer.token}`, 'content-type': 'application/octet-stream', 'content-length': String(size) },
  } as RequestInit);
  const body = await response.text();
  if (response.status !== 200) throw new Error(`purchase failed: HTTP ${response.status} ${body}`);
  return { ms: Number(process.hrtime.bigint() - startNs) / 1e6, tradeId: response.headers.get('x-bitwrk-trade') ?? '' };
}

/** Fresh random bytes in 1 MiB parts (nothing to deduplicate). */
const freshWork = (mib: number): Uint8Array[] => Array.from({ length: mib }, () => randomBytes(MIB));

/** The reference: the same bytes POSTed to a plain HTTP server in another Node process that discards them. */
async function plainHttpMiBPerSecond(parts: readonly Uint8Array[]): Promise<number> {
  const child = spawn(process.execPath, ['-e', `require('node:http').createServer((q, r) => { let n = 0; q.on('data', (d) => { n += d.length; }); q.on('end', () => r.end(String(n))); }).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const port = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  const size = parts.reduce((sum, part) => sum + part.length, 0);
  let bestMs = Number.POSITIVE_INFINITY;
  for (let run = 0; run < bigRuns + 1; run++) {
    const startNs = process.hrtime.bigint();
    const response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: ReadableStream.from(parts), duplex: 'half', headers: { 'content-length': String(size) } } as RequestInit);
    if (Number(await response.text()) !== size) throw new Error('the plain HTTP server did not receive every byte');
    bestMs = Math.min(bestMs, Number(process.hrtime.bigint() - startNs) / 1e6);
  }
  child.kill();
  return size / MIB / (bestMs / 1000);
}

const workers = await startWorkers();
const buyer = await startDaemon('buyer', 'never');
const { client, peer } = await connectClient(exchange.url, admin, realClock);
await client.credit(buyer.address, 1_000_000_000);
peer.close(1000, 'done');
for (const article of [DIGEST_ARTICLE, TEST_HASH_ARTICLE]) await buyer.call('POST', '/mandates', { side: 'buy', article, priceSats: 200 });
console.error(`daemon bench: buyer pid ${buyer.pid}; starting the direct seller with ${IN_FLIGHT} workers`);
const direct = await startSeller('seller', 'never', IN_FLIGHT, workers.url);

await purchase(buyer, DIGEST_ARTICLE, [randomBytes(1024)]); // warm-up
const sequentialMs: number[] = [];
for (let run = 0; run < sequentialRuns; run++) sequentialMs.push((await purchase(buyer, DIGEST_ARTICLE, [randomBytes(1024)])).ms);
sequentialMs.sort((a, b) => a - b);

console.error(`daemon bench: ${smallRuns} small purchases, ${IN_FLIGHT} in flight`);
const loadedMs: number[] = [];
let started = 0;
const smallStartNs = process.hrtime.bigint();
await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
  while (started < smallRuns) {
    started++;
    loadedMs.push((await purchase(buyer, DIGEST_ARTICLE, [randomBytes(1024)])).ms);
  }
}));
const smallPerSecond = smallRuns / (Number(process.hrtime.bigint() - smallStartNs) / 1e9);
loadedMs.sort((a, b) => a - b);

const big = freshWork(bigMiB);
console.error(`daemon bench: plain HTTP reference and ${bigMiB} MiB direct`);
const plainMiBs = await plainHttpMiBPerSecond(big);
let directBestMs = Number.POSITIVE_INFINITY;
for (let run = 0; run < bigRuns; run++) directBestMs = Math.min(directBestMs, (await purchase(buyer, DIGEST_ARTICLE, run === 0 ? big : freshWork(bigMiB))).ms);
const directMiBs = bigMiB / (directBestMs / 1000);

console.error(`daemon bench: the same ${bigMiB} MiB again`);
const again = await purchase(buyer, DIGEST_ARTICLE, big);
const againTrade = (await buyer.call('GET', `/trades/${again.tradeId}`)) as { workSent: { bytes: number; bytesSent: number } | null };
const wireBytes = againTrade.workSent?.bytesSent ?? Number.NaN;

console.error(`daemon bench: ${hugeMiB} MiB of the test article, for the daemons' peak RSS`);
const huge = await purchase(buyer, TEST_HASH_ARTICLE, freshWork(hugeMiB));
const buyerRssMiB = peakRssMiB(buyer.pid);
const sellerRssMiB = peakRssMiB(direct.pid);
await direct.stop();

console.error(`daemon bench: ${bigMiB} MiB through the relay`);
const relayed = await startSeller('relayed', 'always', 1, workers.url);
let relayBestMs = Number.POSITIVE_INFINITY;
for (let run = 0; run < bigRuns; run++) relayBestMs = Math.min(relayBestMs, (await purchase(buyer, DIGEST_ARTICLE, freshWork(bigMiB))).ms);
const relayMiBs = bigMiB / (relayBestMs / 1000);
await relayed.stop();
await buyer.stop();
workers.server.close();
await exchange.stop();
for (const child of children) if (child.exitCode === null) child.kill();
rmSync(directory, { recursive: true, force: true });

printFigures('daemon', {
  smallPurchasesPerSecondWith32InFlight: round(smallPerSecond, 1),
  smallPurchaseLatencyMsP50With32InFlight: round(percentile(loadedMs, 0.5), 1),
  smallPurchaseLatencyMsP99With32InFlight: round(percentile(loadedMs, 0.99), 1),
  smallPurchaseLatencyMsP50OneAtATime: round(percentile(sequentialMs, 0.5), 1),
  smallPurchaseLatencyMsP99OneAtATime: round(percentile(sequentialMs, 0.99), 1),
  [`plainHttp${bigMiB}MiBMiBPerSecond`]: round(plainMiBs, 1),
  [`purchase${bigMiB}MiBDirectMiBPerSecond`]: round(directMiBs, 1),
  directOverPlainHttpRatio: round(directMiBs / plainMiBs, 3),
  [`purchase${bigMiB}MiBRelayMiBPerSecond`]: round(relayMiBs, 1),
  relayOverDirectRatio: round(relayMiBs / directMiBs, 2),
  repeatPurchaseWireBytes: wireBytes,
  repeatPurchaseWireShareOfFile: round(wireBytes / (bigMiB * MIB), 5),
  repeatPurchaseMs: round(again.ms, 0),
  [`purchase${hugeMiB}MiBTestArticleMs`]: round(huge.ms, 0),
  buyerDaemonPeakRssMiB: round(buyerRssMiB, 1),
  sellerDaemonPeakRssMiB: round(sellerRssMiB, 1),
});

// Daemon benchmark: whole purchases between two daemons and an exchange on loopback (real
// sockets, lmdb stores, on-disk CAFS, signed commands), with a worker that answers at once, so
// the figures are the trade machinery's own cost:
//  - latency: one purchase at a time of 1 KiB of work, milliseconds from POST to result, p50/p99;
//  - throughput: purchases per second with 8 in flight and 4 workers;
//  - transfer: MiB/s of a purchase whose work is 16 MiB of fresh random bytes (nothing to
//    deduplicate), directly to the seller and through the exchange's relay, and the ratio of the
//    two measured in the same run (what the relay costs).
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realClock } from '../src/clock.js';
import { Daemon } from '../src/daemon/daemon.js';
import { startWorkerServer, type RunningWorker } from '../src/daemon/worker-server.js';
import { createPrng } from '../src/random.js';
import { DEFAULT_ARTICLES, TEST_HASH_ARTICLE } from '../src/market/catalogue.js';
import { connectClient, newIdentity, startExchange } from '../test/support/exchange.js';
import { benchOptions, percentile, printFigures, round } from './support.js';

const options = benchOptions();
const MIB = 1024 * 1024;
const latencyRuns = options.quick ? 15 : 60;
const throughputRuns = options.quick ? 24 : 96;
const transferRuns = options.quick ? 1 : 3;
const prng = createPrng(7);

const directory = mkdtempSync(join(tmpdir(), 'bitwrk-bench-daemon-'));
const admin = newIdentity();
const exchange = await startExchange(join(directory, 'exchange'), realClock, admin, { extra: { initialArticles: DEFAULT_ARTICLES } });
const startDaemon = (name: string, relay: 'never' | 'always') =>
  Daemon.start({ clock: realClock, identity: newIdentity(), dataDir: join(directory, name), exchangeUrl: exchange.url, apiPort: 0, relay, verifiers: () => undefined });

const buyer = await startDaemon('buyer', 'never');
const { client, peer } = await connectClient(exchange.url, admin, realClock);
await client.credit(buyer.identity.address, 1_000_000_000);
peer.close(1000, 'done');
await buyer.mandates.add({ side: 'buy', article: TEST_HASH_ARTICLE, priceSats: 200 });

/** A worker that answers with the SHA-256 of the work: cheap, and it makes the work matter. */
const digestWorker = (daemon: Daemon, id: string): Promise<RunningWorker> =>
  startWorkerServer({ daemonUrl: daemon.apiUrl, token: daemon.apiToken, id, article: TEST_HASH_ARTICLE, compute: (work) => createHash('sha256').update(work).digest() });

async function purchase(work: Uint8Array): Promise<number> {
  const startNs = process.hrtime.bigint();
  const response = await fetch(`${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}`, { method: 'POST', body: work, headers: { authorization: `Bearer ${buyer.apiToken}` } });
  const body = new Uint8Array(await response.arrayBuffer());
  if (response.status !== 200) throw new Error(`purchase failed: HTTP ${response.status} ${new TextDecoder().decode(body)}`);
  return Number(process.hrtime.bigint() - startNs) / 1e6;
}

/** A seller with `workers` workers and a sell mandate; resolves once all its workers are on offer. */
async function seller(name: string, relay: 'never' | 'always', workers: number): Promise<{ daemon: Daemon; stop(): Promise<void> }> {
  const daemon = await startDaemon(name, relay);
  const running = await Promise.all(Array.from({ length: workers }, (_, index) => digestWorker(daemon, `${name}-${index}`)));
  await daemon.mandates.add({ side: 'sell', article: TEST_HASH_ARTICLE, priceSats: 100 });
  while (daemon.trades().filter((trade) => trade.state.value === 'bidPlaced').length < workers) await new Promise((resolve) => setTimeout(resolve, 5));
  return {
    daemon,
    async stop() {
      await Promise.all(running.map((worker) => worker.stop()));
      await daemon.stop();
    },
  };
}

const direct = await seller('seller', 'never', 4);
await purchase(prng.nextBytes(1024)); // warm-up
const latenciesMs: number[] = [];
for (let run = 0; run < latencyRuns; run++) latenciesMs.push(await purchase(prng.nextBytes(1024)));
latenciesMs.sort((a, b) => a - b);

const throughputStartNs = process.hrtime.bigint();
let started = 0;
await Promise.all(Array.from({ length: 8 }, async () => {
  while (started < throughputRuns) {
    started++;
    await purchase(prng.nextBytes(1024));
  }
}));
const purchasesPerSecond = throughputRuns / (Number(process.hrtime.bigint() - throughputStartNs) / 1e9);

async function transferMiBPerSecond(): Promise<number> {
  let bestMs = Number.POSITIVE_INFINITY;
  for (let run = 0; run < transferRuns; run++) bestMs = Math.min(bestMs, await purchase(prng.nextBytes(16 * MIB)));
  return 16 / (bestMs / 1000);
}
const directMiBs = await transferMiBPerSecond();
await direct.stop();
const relayed = await seller('relayed', 'always', 1);
const relayMiBs = await transferMiBPerSecond();
await relayed.stop();

await buyer.stop();
await exchange.stop();
rmSync(directory, { recursive: true, force: true });

printFigures('daemon', {
  purchaseLatencyMsP50: round(percentile(latenciesMs, 0.5), 1),
  purchaseLatencyMsP99: round(percentile(latenciesMs, 0.99), 1),
  purchasesPerSecondWith8InFlight: round(purchasesPerSecond, 1),
  transfer16MiBDirectMiBPerSecond: round(directMiBs, 1),
  transfer16MiBRelayMiBPerSecond: round(relayMiBs, 1),
  relayOverDirectRatio: round(relayMiBs / directMiBs, 2),
});

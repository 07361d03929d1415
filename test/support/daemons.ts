// A small market for daemon tests: an exchange on a loopback port (the real server pieces, lmdb
// journal) trading the test hash article, an admin who credits accounts, daemons with their own
// data directories, and worker programs. Everything runs on one VirtualClock that the tests move
// (`settle`), so deadlines of minutes pass in milliseconds; sockets and HTTP are real.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../src/clock.js';
import type { Identity } from '../../src/crypto/keys.js';
import type { ExchangeServerOptions } from '../../src/server/serve.js';
import { Daemon, type DaemonOptions } from '../../src/daemon/daemon.js';
import { hashWork } from '../../src/daemon/hash-work.js';
import { startWorkerServer, type RunningWorker } from '../../src/daemon/worker-server.js';
import { DEFAULT_ARTICLES, TEST_HASH_ARTICLE } from '../../src/market/catalogue.js';
import { connectClient, newIdentity, startExchange, type RunningExchange } from './exchange.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

export { TEST_HASH_ARTICLE };
export const START_MS = Date.UTC(2026, 10, 25, 12);

export interface Market {
  readonly clock: VirtualClock;
  readonly admin: Identity;
  exchange: RunningExchange;
  readonly directory: string;
  credit(address: string, amountSats: number): Promise<void>;
  daemon(name: string, overrides?: Partial<DaemonOptions>): Promise<Daemon>;
  /** A hash worker in this process, registered with `daemon`; `compute` replaces the honest work. */
  worker(daemon: Daemon, id: string, compute?: (work: Uint8Array, job: { readonly article: string; readonly signal: AbortSignal }) => Uint8Array | Promise<Uint8Array>): Promise<RunningWorker>;
  /** A real `bitwrk worker hash` child process registered with `daemon`. */
  workerProcess(daemon: Daemon, id: string): Promise<WorkerProcess>;
  restartExchange(): Promise<void>;
  stop(): Promise<void>;
}

export async function startMarket(options: { deposits?: ExchangeServerOptions['deposits']; payouts?: ExchangeServerOptions['payouts']; payerAddress?: string } = {}): Promise<Market> {
  const clock = new VirtualClock(START_MS);
  const admin = newIdentity();
  const directory = mkdtempSync(join(tmpdir(), 'bitwrk-daemon-test-'));
  const open = (port?: number) =>
    startExchange(join(directory, 'exchange'), clock, admin, { ...(port === undefined ? {} : { port }), extra: { initialArticles: DEFAULT_ARTICLES }, ...(options.deposits === undefined ? {} : { deposits: options.deposits }), ...(options.payouts === undefined ? {} : { payouts: options.payouts }), ...(options.payerAddress === undefined ? {} : { payerAddress: options.payerAddress }) });
  const daemons: Daemon[] = [];
  const workers: Array<{ stop(): Promise<void> }> = [];
  const identities = new Map<string, Identity>();
  const market: Market = {
    clock,
    admin,
    exchange: await open(),
    directory,
    async credit(address, amountSats) {
      const { client, peer } = await connectClient(market.exchange.url, admin, clock);
      await client.credit(address, amountSats);
      peer.close(1000, 'done');
    },
    async daemon(name, overrides = {}) {
      const identity = identities.get(name) ?? newIdentity();
      identities.set(name, identity);
      const daemon = await Daemon.start({
        clock,
        identity,
        dataDir: join(directory, name),
        exchangeUrl: market.exchange.url,
        apiPort: 0,
        peerPort: 0,
        ...overrides,
      });
      daemons.push(daemon);
      return daemon;
    },
    async worker(daemon, id, compute = (work) => hashWork(work)) {
      const worker = await startWorkerServer({ daemonUrl: daemon.apiUrl, token: daemon.apiToken, id, article: TEST_HASH_ARTICLE, compute });
      workers.push(worker);
      return worker;
    },
    async workerProcess(daemon, id) {
      const worker = await startWorkerProcess(daemon.apiUrl, daemon.apiToken, id);
      workers.push(worker);
      return worker;
    },
    async restartExchange() {
      const port = market.exchange.port;
      await market.exchange.stop();
      market.exchange = await open(port);
    },
    async stop() {
      await Promise.allSettled(workers.map((worker) => worker.stop()));
      await Promise.allSettled(daemons.map((daemon) => daemon.stop()));
      await market.exchange.stop();
    },
  };
  return market;
}

/** Moves virtual time in small steps, letting real I/O run between them, until `predicate` holds. */
export async function settle(clock: VirtualClock, predicate: () => boolean | Promise<boolean>, options: { stepMs?: number; limitMs?: number; what?: string } = {}): Promise<void> {
  const stepMs = options.stepMs ?? 100;
  const limitMs = options.limitMs ?? 30 * 60_000;
  const startMs = clock.now();
  for (;;) {
    if (await predicate()) return;
    if (clock.now() - startMs > limitMs) throw new Error(`not reached within ${limitMs} virtual ms: ${options.what ?? 'condition'}`);
    clock.advanceBy(stepMs);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export async function balance(market: Market, address: string): Promise<{ availableSats: number; heldSats: number }> {
  const account = market.exchange.exchange.core.account(address);
  return { availableSats: account?.availableSats ?? 0, heldSats: account?.heldSats ?? 0 };
}

/** The header a local program sends to change anything on `daemon` (its api-token). */
export function auth(daemon: { readonly apiToken: string }): Record<string, string> {
  return { authorization: `Bearer ${daemon.apiToken}` };
}

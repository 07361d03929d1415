// Composes a running exchange server: store (lmdb by default, or MongoDB), journal, verifier
// pool, the exchange, and one HTTP server carrying the HTTP API, the WebSocket endpoint and the
// relay for sellers that buyers cannot reach directly.
import { mkdirSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import type { NetworkName } from '../crypto/networks.js';
import { VerifierPool } from '../crypto/verify-pool.js';
import { lockDirectory } from '../store/dir-lock.js';
import { Journal } from '../store/journal.js';
import { LmdbStore } from '../store/lmdb.js';
import { MongoStore } from '../store/mongodb.js';
import type { Store } from '../store/store.js';
import { createGuardedServer, type ConnectionGuard, type ConnectionGuardOptions } from '../transport/http-guard.js';
import { FRAMES_PER_TURN_MAX } from '../limits.js';
import { listen } from '../transport/listen.js';
import { SECURE_FRAME_BYTES_MAX } from '../transport/secure-connection.js';
import { attachWebSocketServer, DEFAULT_WS_PATH } from '../transport/ws-server.js';
import { DEFAULT_ARTICLES } from '../market/catalogue.js';
import { Exchange, type ExchangeOptions } from './exchange.js';
import { createExchangeMetrics } from './exchange-metrics.js';
import { serverInfo } from './handlers.js';
import { createHttpApi } from './http-api.js';
import { Relay } from './relay.js';
import { RELAY_PATH } from '../protocol/relay.js';
import type { ChainBackend } from '../chain/backend.js';
import type { DepositKey } from '../chain/deposit-keys.js';
import type { ConfirmationPolicy } from '../chain/deposit-policy.js';
import { DepositWatcher, type DepositWatcherOptions } from '../chain/deposit-watcher.js';
import { exchangeDepositPort } from './deposit-port.js';
import { PayoutProcessor, type PayoutProcessorOptions, type PayoutSettings } from '../chain/payout-processor.js';
import { exchangePayoutPort } from './payout-port.js';

export interface ExchangeServerOptions {
  readonly clock: Clock;
  readonly host: string;
  readonly port: number;
  /** Where the embedded store lives (ignored with mongodbUrl), locked for this process. */
  readonly dataDir: string;
  readonly mongodbUrl?: string;
  /** A store to use instead of lmdb or MongoDB (tests: a store that fails on purpose). */
  readonly store?: Store;
  readonly exchangeId: string;
  readonly network: NetworkName;
  readonly adminAddress: string;
  /** Whose signature resolves disputes and freezes accounts (default: the admin's). */
  readonly arbiterAddress?: string;
  /** Verification worker threads (default: one per core; 0 verifies on the main thread). */
  readonly workers?: number;
  /** Limits on TCP connections (defaults in src/transport/http-guard.ts). */
  readonly connections?: ConnectionGuardOptions;
  /** Chain deposits: the operator's public deposit key, the backend the watcher polls, its policy. */
  readonly deposits?: DepositSettings;
  /** Chain payouts (needs deposits: the same key and backend): batching, fees, confirmations. */
  readonly payouts?: PayoutServerSettings;
  /** Whose signature submits signed payout batches (default: the admin's). */
  readonly payerAddress?: string;
  /** Further exchange settings (articles on an empty store, rates, limits, tick). */
  readonly exchange?: Partial<Pick<ExchangeOptions, 'initialArticles' | 'identityRate' | 'commandsInFlightMax' | 'accountsMax' | 'openBidsMax' | 'depositAddressesMax' | 'tickMs' | 'snapshotEveryRecords' | 'verifier' | 'verifierPool' | 'version'>>;
}

export interface DepositSettings {
  readonly key: DepositKey;
  readonly backend: ChainBackend;
  readonly policy?: ConfirmationPolicy;
  /** Between polls of the chain (default 10 s). */
  readonly pollMs?: number;
  readonly onAlert?: (message: string) => void;
  readonly onRecord?: DepositWatcherOptions['onRecord'];
}

export interface PayoutServerSettings extends PayoutSettings {
  /** Between passes of the payout processor (default 10 s). */
  readonly pollMs?: number;
  readonly crashPoint?: NonNullable<PayoutProcessorOptions['crashPoint']>;
}

export interface RunningExchangeServer {
  readonly exchange: Exchange;
  /** The chain watcher, when the exchange takes deposits. */
  readonly depositWatcher?: DepositWatcher;
  /** The payout processor, when the exchange pays withdrawals on chain. */
  readonly payoutProcessor?: PayoutProcessor;
  /** Settles with the failure that stopped the exchange (fail-stop: the host should exit). */
  readonly failed: Promise<Error>;
  readonly relay: Relay;
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly port: number;
  readonly store: Store;
  readonly guard: ConnectionGuard;
  /** Stops accepting, closes connections, waits for the journal, closes the store. */
  stop(): Promise<void>;
}

export async function startExchangeServer(options: ExchangeServerOptions): Promise<RunningExchangeServer> {
  const opened: Array<() => Promise<void>> = []; // undone in reverse if the start fails
  const undo = async (): Promise<void> => {
    for (const close of opened.reverse()) await close().catch(() => undefined);
  };
  try {
    let store: Store;
    if (options.store !== undefined || options.mongodbUrl === undefined) {
      mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
      const lock = await lockDirectory(options.dataDir, 'bitwrk exchange');
      opened.push(() => lock.release());
    }
    if (options.store !== undefined) store = options.store;
    else if (options.mongodbUrl !== undefined) store = await MongoStore.connect(options.mongodbUrl);
    else store = new LmdbStore(join(options.dataDir, 'store'));
    opened.push(() => store.close());
    const journal = await Journal.open(store);
    const verifierPool = options.workers === 0 ? undefined : new VerifierPool(options.workers === undefined ? {} : { size: options.workers });
    if (verifierPool !== undefined) opened.push(() => verifierPool.close());
    const metrics = createExchangeMetrics();
    const exchange = await Exchange.open({
      initialArticles: DEFAULT_ARTICLES,
      ...options.exchange,
      observe: metrics.observe,
      clock: options.clock,
      store,
      journal,
      exchangeId: options.exchangeId,
      network: options.network,
      adminAddress: options.adminAddress,
      ...(options.arbiterAddress === undefined ? {} : { arbiterAddress: options.arbiterAddress }),
      ...(options.payerAddress === undefined ? {} : { payerAddress: options.payerAddress }),
      ...(verifierPool === undefined ? {} : { verifierPool }),
      ...(options.deposits === undefined ? {} : { depositKey: options.deposits.key }),
    });
    opened.push(() => exchange.close());
    const depositWatcher = options.deposits === undefined ? undefined : startDepositWatcher(exchange, options.clock, options.deposits);
    if (depositWatcher !== undefined) opened.push(async () => depositWatcher.stop());
    if (options.payouts !== undefined && options.deposits === undefined) throw new Error('payouts need deposits: the same account key and chain backend');
    const payoutProcessor = options.payouts === undefined || options.deposits === undefined ? undefined : startPayoutProcessor(exchange, options.clock, options.deposits, options.payouts);
    if (payoutProcessor !== undefined) opened.push(async () => payoutProcessor.stop());
    metrics.attach(exchange, journal, payoutProcessor);
    return await serve(options, { exchange, store, journal, metrics, stopAll: undo, ...(depositWatcher === undefined ? {} : { depositWatcher }), ...(payoutProcessor === undefined ? {} : { payoutProcessor }) });
  } catch (error) {
    await undo();
    throw error;
  }
}

interface Parts {
  readonly exchange: Exchange;
  readonly store: Store;
  readonly journal: Journal;
  readonly metrics: ReturnType<typeof createExchangeMetrics>;
  /** Closes what startExchangeServer opened, in reverse order. */
  readonly stopAll: () => Promise<void>;
  readonly depositWatcher?: DepositWatcher;
  readonly payoutProcessor?: PayoutProcessor;
}

function startPayoutProcessor(exchange: Exchange, clock: Clock, deposits: DepositSettings, settings: PayoutServerSettings): PayoutProcessor {
  const { pollMs, ...payoutSettings } = settings;
  const processor = new PayoutProcessor({
    ...payoutSettings,
    ...(settings.depositCoinConfirmations === undefined && deposits.policy !== undefined ? { depositCoinConfirmations: deposits.policy.confirmations } : {}),
    key: deposits.key,
    backend: deposits.backend,
    port: exchangePayoutPort(exchange),
    clock,
    ...(deposits.onAlert === undefined ? {} : { onAlert: deposits.onAlert }),
  });
  exchange.payoutProcessor = processor;
  processor.start(pollMs ?? 10_000);
  void exchange.failed.then(() => processor.stop());
  return processor;
}

function startDepositWatcher(exchange: Exchange, clock: Clock, settings: DepositSettings): DepositWatcher {
  const watcher = new DepositWatcher(settings.backend, exchangeDepositPort(exchange), {
    ...(settings.policy === undefined ? {} : { policy: settings.policy }),
    ...(settings.onAlert === undefined ? {} : { onAlert: settings.onAlert }),
    ...(settings.onRecord === undefined ? {} : { onRecord: settings.onRecord }),
  });
  exchange.depositWatcher = watcher;
  watcher.start(clock, settings.pollMs ?? 10_000);
  void exchange.failed.then(() => watcher.stop());
  return watcher;
}

/** The HTTP server with its guard, the WebSocket endpoint and the relay, over an open exchange. */
async function serve(options: ExchangeServerOptions, parts: Parts): Promise<RunningExchangeServer> {
  const { exchange, store, journal, metrics } = parts;
  const app = createHttpApi({
    exchange,
    metrics: metrics.registry,
    info: () => serverInfo(exchange),
    health: () => {
      const payouts = parts.payoutProcessor?.status();
      return {
        // A payout halt is unhealthy: the wallet no longer covers what participants are owed.
        ok: exchange.isHealthy && journal.lastSequence - journal.lastDurableSequence < 100_000 && payouts?.halted !== true,
        journalSequence: journal.lastSequence,
        journalLagRecords: journal.lastSequence - journal.lastDurableSequence,
        connections: exchange.peers.size,
        ...(payouts === undefined ? {} : { payouts }),
      };
    },
  });
  const { server: httpServer, guard } = createGuardedServer(app.handler as RequestListener, options.connections);
  await listen(httpServer, options.port, options.host, 'the exchange');
  const endpoint = attachWebSocketServer(httpServer, { clock: options.clock, onConnection: (connection) => exchange.accept(connection, { onProtocolError: metrics.rejected, framesPerTurnMax: FRAMES_PER_TURN_MAX }) });
  const relay = new Relay(exchange, options.clock);
  const relayEndpoint = attachWebSocketServer(httpServer, { clock: options.clock, path: RELAY_PATH, prefix: true, frameBytesMax: SECURE_FRAME_BYTES_MAX, onConnection: (connection, { path, query }) => relay.accept(connection, path, query) });
  const { port } = httpServer.address() as AddressInfo;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  let networkClosed: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;
  const closeNetwork = (): Promise<void> =>
    (networkClosed ??= (async () => {
      relay.close();
      await relayEndpoint.close();
      await endpoint.close();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    })());
  // Fail-stop: no more answers of any kind, HTTP included (the host exits; the store stays as it is).
  void exchange.failed.then(() => closeNetwork());
  return {
    exchange,
    ...(parts.depositWatcher === undefined ? {} : { depositWatcher: parts.depositWatcher }),
    ...(parts.payoutProcessor === undefined ? {} : { payoutProcessor: parts.payoutProcessor }),
    failed: exchange.failed,
    relay,
    store,
    guard,
    port,
    httpUrl: `http://${hostForUrl}:${port}`,
    wsUrl: `ws://${hostForUrl}:${port}${DEFAULT_WS_PATH}`,
    stop() {
      // Once: a second call waits for the first (the store is closed after it).
      return (stopped ??= (async () => {
        parts.depositWatcher?.stop();
        parts.payoutProcessor?.stop();
        await exchange.close();
        await closeNetwork();
        if (exchange.isHealthy) {
          await exchange.tick();
          if (journal.lastSequence > 0) await exchange.writeSnapshot(); // waits for the journal itself
        }
        await parts.stopAll();
      })());
    },
  };
}

// Composes a running exchange server: store (lmdb by default, or MongoDB), journal, verifier
// pool, the exchange, and one HTTP server carrying the HTTP API, the WebSocket endpoint and the
// relay for sellers that buyers cannot reach directly.
import { mkdirSync } from 'node:fs';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import type { NetworkName } from '../crypto/networks.js';
import { VerifierPool } from '../crypto/verify-pool.js';
import { Journal } from '../store/journal.js';
import { LmdbStore } from '../store/lmdb.js';
import { MongoStore } from '../store/mongodb.js';
import type { Store } from '../store/store.js';
import { listen } from '../transport/listen.js';
import { attachWebSocketServer, DEFAULT_WS_PATH } from '../transport/ws-server.js';
import { DEFAULT_ARTICLES } from './catalogue.js';
import { Exchange } from './exchange.js';
import { createExchangeMetrics } from './exchange-metrics.js';
import { serverInfo } from './handlers.js';
import { createHttpApi } from './http-api.js';
import { Relay, RELAY_PATH } from './relay.js';

export interface ExchangeServerOptions {
  readonly clock: Clock;
  readonly host: string;
  readonly port: number;
  /** Where the embedded store lives (ignored with mongodbUrl). */
  readonly dataDir: string;
  readonly mongodbUrl?: string;
  readonly exchangeId: string;
  readonly network: NetworkName;
  readonly adminAddress: string;
  /** Verification worker threads (default: one per core). */
  readonly workers?: number;
}

export interface RunningExchangeServer {
  readonly exchange: Exchange;
  readonly relay: Relay;
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly store: Store;
  /** Stops accepting, closes connections, waits for the journal, closes the store. */
  stop(): Promise<void>;
}

export async function startExchangeServer(options: ExchangeServerOptions): Promise<RunningExchangeServer> {
  let store: Store;
  if (options.mongodbUrl !== undefined) store = await MongoStore.connect(options.mongodbUrl);
  else {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    store = new LmdbStore(join(options.dataDir, 'store'));
  }
  const journal = await Journal.open(store);
  const verifierPool = new VerifierPool(options.workers === undefined ? {} : { size: options.workers });
  const metrics = createExchangeMetrics();
  const exchange = await Exchange.open({
    observe: metrics.observe,
    clock: options.clock,
    store,
    journal,
    exchangeId: options.exchangeId,
    network: options.network,
    adminAddress: options.adminAddress,
    initialArticles: DEFAULT_ARTICLES,
    verifierPool,
  });
  metrics.attach(exchange, journal);
  const app = createHttpApi({
    exchange,
    metrics: metrics.registry,
    info: () => serverInfo(exchange),
    health: () => ({ ok: journal.lastSequence - journal.lastDurableSequence < 100_000, journalSequence: journal.lastSequence, journalLagRecords: journal.lastSequence - journal.lastDurableSequence, connections: exchange.peers.size }),
  });
  const httpServer = createServer(app.handler as RequestListener);
  try {
    await listen(httpServer, options.port, options.host, 'the exchange');
  } catch (error) {
    await exchange.close();
    await verifierPool.close();
    await store.close();
    throw error;
  }
  const endpoint = attachWebSocketServer(httpServer, { clock: options.clock, onConnection: (connection) => exchange.accept(connection, { onProtocolError: metrics.rejected }) });
  const relay = new Relay(exchange, options.clock);
  const relayEndpoint = attachWebSocketServer(httpServer, { clock: options.clock, path: RELAY_PATH, prefix: true, onConnection: (connection, { path }) => relay.accept(connection, path) });
  const { port } = httpServer.address() as AddressInfo;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    exchange,
    relay,
    store,
    httpUrl: `http://${hostForUrl}:${port}`,
    wsUrl: `ws://${hostForUrl}:${port}${DEFAULT_WS_PATH}`,
    async stop() {
      await exchange.close();
      await relayEndpoint.close();
      await endpoint.close();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await exchange.tick();
      if (journal.lastDurableSequence === journal.lastSequence && journal.lastSequence > 0) await exchange.writeSnapshot();
      await verifierPool.close();
      await store.close();
    },
  };
}

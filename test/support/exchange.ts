// An exchange on a free loopback port for tests: lmdb store in a directory, journal, WebSocket
// endpoint, the relay, and signed clients for freshly generated test identities.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../src/clock.js';
import { generatePrivateKey, identityFromPrivateKey, type Identity } from '../../src/crypto/keys.js';
import { articleWithDefaults } from '../../src/market/articles.js';
import { Exchange, type ExchangeOptions } from '../../src/server/exchange.js';
import { Relay } from '../../src/server/relay.js';
import { RELAY_PATH } from '../../src/protocol/relay.js';
import { exchangeProtocol } from '../../src/protocol/exchange.js';
import { ExchangeClient } from '../../src/daemon/exchange-client.js';
import { Journal } from '../../src/store/journal.js';
import { LmdbStore } from '../../src/store/lmdb.js';
import { RpcPeer } from '../../src/transport/rpc.js';
import { connectWebSocket } from '../../src/transport/ws-client.js';
import { SECURE_FRAME_BYTES_MAX } from '../../src/transport/secure-connection.js';
import { attachWebSocketServer, type WebSocketEndpoint } from '../../src/transport/ws-server.js';

export const TEST_ARTICLE = 'test/hash';
export const EXCHANGE_ID = 'bitwrk-test';

export interface RunningExchange {
  readonly exchange: Exchange;
  readonly relay: Relay;
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startExchange(
  directory: string,
  clock: Clock,
  admin: Identity,
  options: { port?: number; extra?: Partial<ExchangeOptions> } = {},
): Promise<RunningExchange> {
  const store = new LmdbStore(directory);
  const journal = await Journal.open(store);
  const exchange = await Exchange.open({
    clock,
    store,
    journal,
    exchangeId: EXCHANGE_ID,
    network: 'testnet',
    adminAddress: admin.address,
    initialArticles: [articleWithDefaults(TEST_ARTICLE, { description: 'hash a file N rounds' })],
    ...options.extra,
  });
  const httpServer: Server = createServer((_request, response) => response.writeHead(404).end());
  const endpoint: WebSocketEndpoint = attachWebSocketServer(httpServer, { clock, onConnection: (connection) => exchange.accept(connection) });
  const relay = new Relay(exchange, clock);
  const relayEndpoint = attachWebSocketServer(httpServer, { clock, path: RELAY_PATH, prefix: true, frameBytesMax: SECURE_FRAME_BYTES_MAX, onConnection: (connection, { path, query }) => relay.accept(connection, path, query) });
  await new Promise<void>((resolve) => httpServer.listen(options.port ?? 0, '127.0.0.1', () => resolve()));
  const port = (httpServer.address() as AddressInfo).port;
  return {
    exchange,
    relay,
    url: `ws://127.0.0.1:${port}/ws`,
    port,
    async stop() {
      await exchange.close();
      relay.close();
      await relayEndpoint.close();
      await endpoint.close();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await store.close();
    },
  };
}

export function newIdentity(): Identity {
  return identityFromPrivateKey(generatePrivateKey(), 'testnet');
}

export async function connectClient(url: string, identity: Identity, clock: Clock): Promise<{ client: ExchangeClient; peer: RpcPeer<typeof exchangeProtocol> }> {
  const peer = new RpcPeer(await connectWebSocket(url, { clock }), exchangeProtocol, {}, { clock });
  return { client: new ExchangeClient(peer, identity, EXCHANGE_ID, clock), peer };
}

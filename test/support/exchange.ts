// An exchange on a free loopback port for tests, assembled as production assembles it (lmdb store
// in a directory, journal, HTTP API, WebSocket endpoint, relay), and signed clients for freshly
// generated test identities.
import type { Clock } from '../../src/clock.js';
import { generatePrivateKey, identityFromPrivateKey, type Identity } from '../../src/crypto/keys.js';
import { articleWithDefaults } from '../../src/market/articles.js';
import type { Exchange } from '../../src/server/exchange.js';
import type { PayoutProcessor } from '../../src/chain/payout-processor.js';
import type { DepositWatcher } from '../../src/chain/deposit-watcher.js';
import type { Relay } from '../../src/server/relay.js';
import { startExchangeServer, type ExchangeServerOptions } from '../../src/server/serve.js';
import { exchangeProtocol } from '../../src/protocol/exchange.js';
import { ExchangeClient } from '../../src/daemon/exchange-client.js';
import { RpcPeer } from '../../src/transport/rpc.js';
import { connectWebSocket } from '../../src/transport/ws-client.js';

export const TEST_ARTICLE = 'test/hash';
export const EXCHANGE_ID = 'bitwrk-test';

export interface RunningExchange {
  readonly exchange: Exchange;
  readonly depositWatcher?: DepositWatcher;
  readonly payoutProcessor?: PayoutProcessor;
  readonly relay: Relay;
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startExchange(
  directory: string,
  clock: Clock,
  admin: Identity,
  options: { port?: number; extra?: ExchangeServerOptions['exchange']; deposits?: ExchangeServerOptions['deposits']; payouts?: ExchangeServerOptions['payouts']; payerAddress?: string } = {},
): Promise<RunningExchange> {
  // The production assembly (src/server/serve.ts), with the test's clock and catalogue, verifying
  // on the main thread unless the test hands it a pool.
  const running = await startExchangeServer({
    clock,
    host: '127.0.0.1',
    port: options.port ?? 0,
    dataDir: directory,
    exchangeId: EXCHANGE_ID,
    network: 'testnet',
    adminAddress: admin.address,
    workers: 0,
    exchange: { initialArticles: [articleWithDefaults(TEST_ARTICLE, { description: 'hash a file N rounds' })], ...options.extra },
    ...(options.deposits === undefined ? {} : { deposits: options.deposits }),
    ...(options.payouts === undefined ? {} : { payouts: options.payouts }),
    ...(options.payerAddress === undefined ? {} : { payerAddress: options.payerAddress }),
  });
  return {
    ...(running.depositWatcher === undefined ? {} : { depositWatcher: running.depositWatcher }),
    ...(running.payoutProcessor === undefined ? {} : { payoutProcessor: running.payoutProcessor }), exchange: running.exchange, relay: running.relay, url: running.wsUrl, port: running.port, stop: () => running.stop() };
}

export function newIdentity(): Identity {
  return identityFromPrivateKey(generatePrivateKey(), 'testnet');
}

export async function connectClient(url: string, identity: Identity, clock: Clock): Promise<{ client: ExchangeClient; peer: RpcPeer<typeof exchangeProtocol> }> {
  const peer = new RpcPeer(await connectWebSocket(url, { clock }), exchangeProtocol, {}, { clock });
  return { client: new ExchangeClient(peer, identity, EXCHANGE_ID, clock), peer };
}

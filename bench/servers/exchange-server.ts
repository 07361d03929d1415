// The exchange as a separate process for the exchange benchmark: lmdb journal in a temporary
// directory, verification on a worker pool, limits opened up for one load-generating host.
// Reads the admin's WIF from BITWRK_BENCH_ADMIN_WIF; prints the port when listening.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realClock } from '../../src/clock.js';
import { decodeWif } from '../../src/crypto/keys.js';
import { VerifierPool } from '../../src/crypto/verify-pool.js';
import { articleWithDefaults } from '../../src/market/articles.js';
import { Exchange } from '../../src/server/exchange.js';
import { Journal } from '../../src/store/journal.js';
import { LmdbStore } from '../../src/store/lmdb.js';
import { attachWebSocketServer } from '../../src/transport/ws-server.js';

const admin = decodeWif(process.env['BITWRK_BENCH_ADMIN_WIF'] ?? '', 'testnet');
if (typeof admin === 'string') throw new Error(`BITWRK_BENCH_ADMIN_WIF: ${admin}`);
const store = new LmdbStore(join(mkdtempSync(join(tmpdir(), 'bitwrk-bench-exchange-')), 'db'));
const exchange = await Exchange.open({
  clock: realClock,
  store,
  journal: await Journal.open(store),
  exchangeId: 'bitwrk-bench',
  network: 'testnet',
  adminAddress: admin.address,
  initialArticles: [articleWithDefaults('bench/article')],
  verifierPool: new VerifierPool(),
  identityRate: { perSecond: 100_000, burst: 100_000 },
});
const httpServer = createServer((_request, response) => response.writeHead(404).end());
attachWebSocketServer(httpServer, {
  clock: realClock,
  connectionsPerAddressMax: 5000,
  onConnection: (connection) => exchange.accept(connection, { rateLimit: null }),
});
httpServer.listen(0, '127.0.0.1', () => console.log((httpServer.address() as AddressInfo).port));

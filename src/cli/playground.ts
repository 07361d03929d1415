// `bitwrk playground` (and `npm start`): a whole market on this machine, to see BitWrk work. An
// exchange on the embedded store, a seller daemon with two built-in hash workers and a sell
// mandate, a buyer daemon with credit and a buy mandate; one purchase goes through end to end,
// then everything keeps running for the user to look at and to send more work to.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realClock } from '../clock.js';
import { loadOrCreateKeyFile } from '../crypto/keyfile.js';
import type { Identity } from '../crypto/keys.js';
import { Daemon } from '../daemon/daemon.js';
import { ExchangeClient } from '../daemon/exchange-client.js';
import { hashWork } from '../daemon/hash-work.js';
import { startWorkerServer, type RunningWorker } from '../daemon/worker-server.js';
import { TEST_HASH_ARTICLE } from '../market/catalogue.js';
import { exchangeProtocol } from '../protocol/exchange.js';
import { startExchangeServer, type RunningExchangeServer } from '../server/serve.js';
import { RpcPeer } from '../transport/rpc.js';
import { connectWebSocket } from '../transport/ws-client.js';
import { integerFlag, parseFlags, type Command } from './command.js';
import { untilSignal } from './signals.js';

const EXCHANGE_ID = 'bitwrk-playground';
const BUYER_CREDIT_SATS = 1_000_000;
const SELL_PRICE_SATS = 1_000;
const BUY_PRICE_LIMIT_SATS = 1_500;
const SAMPLE_WORK = 'Hello from the BitWrk playground!\n';

export const playgroundCommand: Command = {
  name: 'playground',
  summary: 'run a whole market on this machine and watch a trade go through (npm start)',
  usage: `usage: bitwrk playground [options]

Starts an exchange, a seller daemon with two built-in workers for the test article
${TEST_HASH_ARTICLE} and a sell mandate, and a buyer daemon with ${BUYER_CREDIT_SATS} satoshis of
test credit and a buy mandate. One purchase goes through end to end; then everything keeps
running, with the addresses to open and a command to buy more work. Ctrl-C stops it.

options:
  --port BASE       exchange on BASE, buyer daemon on BASE+1, seller daemon on BASE+2
                    (default 8090; 0 picks free ports)
  --data-dir DIR    keep the playground's state in DIR (default: a fresh temporary folder,
                    removed on exit)`,
  async run(argv) {
    const { values } = parseFlags(argv, { port: { type: 'string' }, 'data-dir': { type: 'string' } });
    const basePort = integerFlag(values.port, 'port', 8090, { min: 0, max: 65533 });
    const keep = values['data-dir'] !== undefined;
    const dataDir = values['data-dir'] ?? mkdtempSync(join(tmpdir(), 'bitwrk-playground-'));
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const playground = await startPlayground(dataDir, basePort, (line) => console.log(line));
    try {
      await playground.sampleTrade();
      const signalled = untilSignal(); // before the guide: a user may press Ctrl-C right after
      playground.printGuide();
      console.log(`\n${await signalled}: stopping`);
    } finally {
      await playground.stop();
      if (!keep) rmSync(dataDir, { recursive: true, force: true });
    }
    console.log('stopped cleanly');
    return 0;
  },
};

interface Playground {
  sampleTrade(): Promise<void>;
  printGuide(): void;
  stop(): Promise<void>;
}

const portAt = (base: number, offset: number): number => (base === 0 ? 0 : base + offset);

async function startPlayground(dataDir: string, basePort: number, say: (line: string) => void): Promise<Playground> {
  const key = (name: string): Identity => loadOrCreateKeyFile(join(dataDir, 'keys', `${name}.wif`), 'testnet').identity;
  const admin = key('admin');
  const stack: Array<() => Promise<void>> = [];
  const stop = async (): Promise<void> => {
    for (const step of stack.reverse()) await step().catch((error: unknown) => say(`while stopping: ${(error as Error).message}`));
  };
  try {
    say(`BitWrk playground in ${dataDir}`);
    const exchange = await startExchangeServer({ clock: realClock, host: '127.0.0.1', port: portAt(basePort, 0), dataDir: join(dataDir, 'exchange'), exchangeId: EXCHANGE_ID, network: 'testnet', adminAddress: admin.address, workers: 1 });
    stack.push(() => exchange.stop());
    say(`  exchange       ${exchange.httpUrl}  (WebSocket ${exchange.wsUrl})`);
    const daemon = async (name: string, offset: number): Promise<Daemon> => {
      const started = await Daemon.start({ clock: realClock, identity: key(name), dataDir: join(dataDir, name), exchangeUrl: exchange.wsUrl, apiPort: portAt(basePort, offset), relay: 'never', log: (line) => say(`  [${name}] ${line}`) });
      stack.push(() => started.stop());
      return started;
    };
    const seller = await daemon('seller', 2);
    const workers: RunningWorker[] = [];
    for (const id of ['hash-1', 'hash-2']) {
      const worker = await startWorkerServer({ daemonUrl: seller.apiUrl, token: seller.apiToken, id, article: TEST_HASH_ARTICLE, compute: (work) => hashWork(work) });
      stack.push(() => worker.stop());
      workers.push(worker);
    }
    if (seller.mandates.list().every((mandate) => mandate.side !== 'sell')) await seller.mandates.add({ side: 'sell', article: TEST_HASH_ARTICLE, priceSats: SELL_PRICE_SATS });
    say(`  seller daemon  ${seller.apiUrl}/  ${seller.identity.address}, ${workers.length} hash workers, sells at ${SELL_PRICE_SATS} sat`);
    const buyer = await daemon('buyer', 1);
    if (buyer.mandates.list().every((mandate) => mandate.side !== 'buy')) {
      await credit(exchange, admin, buyer.identity.address, BUYER_CREDIT_SATS);
      await buyer.mandates.add({ side: 'buy', article: TEST_HASH_ARTICLE, priceSats: BUY_PRICE_LIMIT_SATS });
    }
    say(`  buyer daemon   ${buyer.apiUrl}/  ${buyer.identity.address}, buys up to ${BUY_PRICE_LIMIT_SATS} sat`);
    return {
      sampleTrade: () => sampleTrade(exchange, buyer, seller, say),
      printGuide: () => printGuide(exchange, buyer, seller, say),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function credit(exchange: RunningExchangeServer, admin: Identity, address: string, amountSats: number): Promise<void> {
  const peer = new RpcPeer(await connectWebSocket(exchange.wsUrl, { clock: realClock }), exchangeProtocol, {}, { clock: realClock });
  try {
    await new ExchangeClient(peer, admin, EXCHANGE_ID, realClock).credit(address, amountSats);
  } finally {
    peer.close(1000, 'done');
  }
}

async function sampleTrade(exchange: RunningExchangeServer, buyer: Daemon, seller: Daemon, say: (line: string) => void): Promise<void> {
  say(`\nA program hands the buyer daemon some work: POST ${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}`);
  const startNs = process.hrtime.bigint();
  const response = await fetch(`${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}`, { method: 'POST', body: SAMPLE_WORK, headers: { authorization: `Bearer ${buyer.apiToken}` } });
  const body = await response.text();
  const elapsedMs = Number(process.hrtime.bigint() - startNs) / 1e6;
  if (response.status !== 200) throw new Error(`the sample trade failed: HTTP ${response.status} ${body}`);
  const tradeId = response.headers.get('x-bitwrk-trade') ?? '?';
  const trade = buyer.buyer.actors.get(tradeId)?.state.context;
  say(`  result after ${elapsedMs.toFixed(0)} ms (trade ${tradeId}, transaction ${trade?.txId ?? 'local'}): ${body.trim()}`);
  say(`  the buyer checked it by redoing the work: ${body === new TextDecoder().decode(hashWork(new TextEncoder().encode(SAMPLE_WORK))) ? 'correct' : 'WRONG'}`);
  // The transaction settles when the buyer accepts; the accounts show the money moved.
  for (const [name, daemon] of [['buyer', buyer], ['seller', seller]] as const) {
    const account = exchange.exchange.core.account(daemon.identity.address);
    say(`  ${name.padEnd(6)} account: ${account?.availableSats ?? 0} sat available, ${account?.heldSats ?? 0} sat held`);
  }
}

function printGuide(exchange: RunningExchangeServer, buyer: Daemon, seller: Daemon, say: (line: string) => void): void {
  say(`
Open in a browser (the links carry each daemon's API token, which its page needs to make changes):
  buyer daemon   ${buyer.pageUrl}
  seller daemon  ${seller.pageUrl}
  exchange       ${exchange.httpUrl}/api/articles/${encodeURIComponent(TEST_HASH_ARTICLE)}/depth

Buy more work (the answer is the result; docs/daemon.md explains the API):
  curl -H 'authorization: Bearer ${buyer.apiToken}' --data-binary @some-file ${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}

Press Ctrl-C to stop.`);
}

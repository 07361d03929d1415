// `bitwrk playground` (and `npm start`): a whole market on this machine, to see BitWrk work. An
// exchange on the embedded store, a seller daemon with two built-in hash workers (and, where
// Blender is installed, a Blender worker) and sell mandates, a buyer daemon funded through the devnet and buy
// mandates; one purchase goes through end to end (and a demo frame is rendered through the
// market), then everything keeps running for the user to look at and to send more work to.
// The buyer is funded as a user would be: a deposit address from the exchange, a payment from
// the local devnet's faucet, blocks mined, the credit after its confirmations. Withdrawals are paid
// out: the exchange's payout processor batches them, a payer in this process signs (with the
// operator's key, which the exchange never has), the devnet mines a block every 10 s.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blenderPath, blenderVersion } from '../blender/blender.js';
import { makeDemoScene } from '../blender/demo.js';
import { renderScene } from '../blender/render.js';
import { renderJob } from '../blender/worker.js';
import { realClock } from '../clock.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { parseDepositKey } from '../chain/deposit-keys.js';
import { accountXpub, newPayerKey, payerIdentity, payerPass, SignedLog, type PayerKey } from '../chain/payer-agent.js';
import { floatAddress } from '../chain/payout-processor.js';
import { ExchangeClient } from '../daemon/exchange-client.js';
import { exchangeProtocol } from '../protocol/exchange.js';
import { RpcPeer } from '../transport/rpc.js';
import { connectWebSocket } from '../transport/ws-client.js';
import { DEFAULT_CONFIRMATION_POLICY, type ConfirmationPolicy } from '../chain/deposit-policy.js';
import { Devnet, devnetBackend } from '../chain/devnet.js';
import { startDevnetServer } from '../chain/devnet-server.js';
import { loadOrCreateKeyFile } from '../crypto/keyfile.js';
import type { Identity } from '../crypto/keys.js';
import { Daemon } from '../daemon/daemon.js';
import { LocalApiClient } from '../daemon/local-client.js';
import { hashWork } from '../daemon/hash-work.js';
import { startWorkerServer, type RunningWorker } from '../daemon/worker-server.js';
import { blenderArticleId } from '../market/blender-articles.js';
import { TEST_HASH_ARTICLE } from '../market/catalogue.js';
import { startExchangeServer, type RunningExchangeServer } from '../server/serve.js';
import { integerFlag, parseFlags, UsageError, type Command } from './command.js';
import { untilSignal } from './signals.js';

const EXCHANGE_ID = 'bitwrk-playground';
const BUYER_CREDIT_SATS = 1_000_000;
const SELL_PRICE_SATS = 1_000;
const BUY_PRICE_LIMIT_SATS = 1_500;
const SAMPLE_WORK = 'Hello from the BitWrk playground!\n';
const TILE_SELL_PRICE_SATS = 100;
const TILE_BUY_PRICE_LIMIT_SATS = 150;
/** The operator's float: its own coins that pay the payouts' network fees. */
const FLOAT_SATS = 1_000_000;
/** After the start, a devnet block this often (so that withdrawals confirm). */
const BLOCK_INTERVAL_MS = 10_000;

export const playgroundCommand: Command = {
  name: 'playground',
  summary: 'run a whole market on this machine and watch a trade go through (npm start)',
  usage: `usage: bitwrk playground [options]

Starts an exchange, a seller daemon with two built-in workers for the test article
${TEST_HASH_ARTICLE} and a sell mandate, a local Bitcoin test chain (the devnet), and a buyer
daemon with a buy mandate that funds its account with ${BUYER_CREDIT_SATS} satoshis through a deposit
on the devnet. One purchase goes through end to end; then everything keeps
running, with the addresses to open and a command to buy more work. Ctrl-C stops it.

options:
  --port BASE       exchange on BASE, buyer daemon on BASE+1, seller daemon on BASE+2
                    (default 8090; 0 picks free ports)
  --data-dir DIR    keep the playground's state in DIR (default: a fresh temporary folder,
                    removed on exit)
  --blender         also a Blender worker on the seller, and a demo frame rendered through the
                    market (the default where Blender is installed; an error where it is not)
  --no-blender      no Blender, even where it is installed`,
  async run(argv) {
    const { values } = parseFlags(argv, { port: { type: 'string' }, 'data-dir': { type: 'string' }, blender: { type: 'boolean' }, 'no-blender': { type: 'boolean' } });
    if (values.blender === true && values['no-blender'] === true) throw new UsageError('give --blender or --no-blender, not both');
    const version = values['no-blender'] === true ? undefined : blenderVersion(blenderPath());
    if (values.blender === true && version !== undefined && 'error' in version) throw new UsageError(`--blender: ${version.error}`);
    const blender = version === undefined || 'error' in version ? undefined : version.majorMinor;
    const basePort = integerFlag(values.port, 'port', 8090, { min: 0, max: 65533 });
    const keep = values['data-dir'] !== undefined;
    const dataDir = values['data-dir'] ?? mkdtempSync(join(tmpdir(), 'bitwrk-playground-'));
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const playground = await startPlayground(dataDir, basePort, blender, (line) => console.log(line));
    try {
      await playground.sampleTrade();
      if (blender !== undefined) await playground.sampleRender();
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
  /** Renders the demo scene's frame 1 through the market, in 4 tiles. */
  sampleRender(): Promise<void>;
  printGuide(): void;
  stop(): Promise<void>;
}

const portAt = (base: number, offset: number): number => (base === 0 ? 0 : base + offset);

async function startPlayground(dataDir: string, basePort: number, blenderVersionText: string | undefined, say: (line: string) => void): Promise<Playground> {
  const key = (name: string): Identity => loadOrCreateKeyFile(join(dataDir, 'keys', `${name}.wif`), 'testnet').identity;
  const admin = key('admin');
  const stack: Array<() => Promise<void>> = [];
  const stop = async (): Promise<void> => {
    for (const step of stack.reverse()) await step().catch((error: unknown) => say(`while stopping: ${(error as Error).message}`));
  };
  try {
    say(`BitWrk playground in ${dataDir}`);
    // The chain lives in memory: a deposit is final at N + 1 blocks, so that a playground restarted
    // with --data-dir (and a fresh devnet) never re-checks, and never reverses, its old credit.
    const devnet = new Devnet({ seed: 0 });
    const devnetServer = await startDevnetServer({ devnet });
    stack.push(() => devnetServer.close());
    const operator = operatorKey();
    const walletKey = parseDepositKey(accountXpub(operator), 'regtest');
    const exchange = await startExchangeServer({
      clock: realClock, host: '127.0.0.1', port: portAt(basePort, 0), dataDir: join(dataDir, 'exchange'), exchangeId: EXCHANGE_ID, network: 'testnet', adminAddress: admin.address, workers: 1,
      deposits: { key: walletKey, backend: devnetBackend(devnet), policy: PLAYGROUND_POLICY, pollMs: 1_000, onAlert: (message) => say(`  ALERT ${message}`) },
      payouts: { pollMs: 1_000, batchIntervalMs: 5_000, confirmations: 1 },
      payerAddress: payerIdentity(operator).address,
    });
    stack.push(() => exchange.stop());
    devnet.faucet.pay(floatAddress(walletKey), FLOAT_SATS);
    stack.push(await startPayer(exchange, operator, join(dataDir, 'payer'), say));
    say(`  exchange       ${exchange.httpUrl}  (WebSocket ${exchange.wsUrl})`);
    say(`  devnet         ${devnetServer.url}  (a local Bitcoin regtest chain, Esplora API; faucet: POST /devnet/faucet)`);
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
    const blenderArticle = blenderVersionText === undefined ? undefined : blenderArticleId(blenderVersionText, '512M');
    if (blenderArticle !== undefined) {
      // Two render slots of one thread each: the playground's tiles render side by side.
      const worker = await startWorkerServer({
        daemonUrl: seller.apiUrl,
        token: seller.apiToken,
        id: 'blender',
        article: blenderArticle,
        slots: 2,
        compute: (work, job) => renderJob(work, job.article, { blender: blenderPath(), device: 'CPU', threads: 1, timeoutMs: 230_000, fileBytes: 2 ** 31 }, job.signal),
      });
      stack.push(() => worker.stop());
    }
    const sells = (article: string): boolean => seller.mandates.list().some((mandate) => mandate.side === 'sell' && mandate.article === article);
    if (!sells(TEST_HASH_ARTICLE)) await seller.mandates.add({ side: 'sell', article: TEST_HASH_ARTICLE, priceSats: SELL_PRICE_SATS });
    if (blenderArticle !== undefined && !sells(blenderArticle)) await seller.mandates.add({ side: 'sell', article: blenderArticle, priceSats: TILE_SELL_PRICE_SATS });
    say(`  seller daemon  ${seller.apiUrl}/  ${seller.identity.address}, ${workers.length} hash workers, sells at ${SELL_PRICE_SATS} sat${blenderArticle === undefined ? '' : `; a Blender ${blenderVersionText} worker (2 slots), tiles at ${TILE_SELL_PRICE_SATS} sat`}`);
    const buyer = await daemon('buyer', 1);
    if (buyer.mandates.list().every((mandate) => mandate.side !== 'buy')) {
      await fundThroughDevnet(devnet, exchange, buyer, BUYER_CREDIT_SATS, say);
      await buyer.mandates.add({ side: 'buy', article: TEST_HASH_ARTICLE, priceSats: BUY_PRICE_LIMIT_SATS });
    }
    if (blenderArticle !== undefined && buyer.mandates.list().every((mandate) => mandate.article !== blenderArticle)) {
      await buyer.mandates.add({ side: 'buy', article: blenderArticle, priceSats: TILE_BUY_PRICE_LIMIT_SATS });
    }
    say(`  buyer daemon   ${buyer.apiUrl}/  ${buyer.identity.address}, buys up to ${BUY_PRICE_LIMIT_SATS} sat${blenderArticle === undefined ? '' : `, tiles up to ${TILE_BUY_PRICE_LIMIT_SATS} sat`}`);
    // From now on the devnet mines on its own, so that withdrawals (and new deposits) confirm.
    const mining = devnet.startMining(realClock, BLOCK_INTERVAL_MS);
    stack.push(async () => mining.stop());
    return {
      sampleTrade: () => sampleTrade(exchange, buyer, seller, say),
      sampleRender: () => (blenderArticle === undefined ? Promise.resolve() : sampleRender(dataDir, buyer, blenderArticle, say)),
      printGuide: () => printGuide(exchange, buyer, seller, blenderArticle === undefined ? undefined : join(dataDir, 'demo', 'scene.blend'), devnet.faucet.address, say),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The playground operator's wallet (elsewhere, in real life): the exchange gets only its account tpub; the payer holds the key. */
function operatorKey(): PayerKey {
  return newPayerKey('regtest', sha256(new TextEncoder().encode('bitwrk-playground-operator')));
}

/**
 * The payer, as `bitwrk payer run` does it, but in this process (in real life it runs on another
 * machine with the key): every 2 s it signs the batches waiting for it and submits them.
 */
async function startPayer(exchange: RunningExchangeServer, key: PayerKey, dir: string, say: (line: string) => void): Promise<() => Promise<void>> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const peer = new RpcPeer(await connectWebSocket(exchange.wsUrl, { clock: realClock }), exchangeProtocol, {}, { clock: realClock });
  const client = new ExchangeClient(peer, payerIdentity(key), EXCHANGE_ID, realClock);
  const log = new SignedLog(join(dir, 'signed.jsonl'));
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const pass = (): void => {
    if (stopped) return;
    running = payerPass({ key, log, nowMs: () => realClock.now(), policy: { feeCapSats: 100_000, dailyLimitSats: 100_000_000 }, exchange: { payouts: () => peer.request('payouts', {}), submitPayout: (batchId, rawHex) => client.submitPayout(batchId, rawHex) } })
      .then((report) => {
        for (const done of report.signed) say(`  [payer] signed payout batch ${done.batchId}: ${done.txid}`);
        for (const refused of report.refused) say(`  [payer] REFUSED ${refused.batchId}: ${refused.reason}`);
      }, (error: unknown) => say(`  [payer] ${(error as Error).message}`))
      .finally(() => void realClock.setTimer(pass, 2_000));
  };
  pass();
  return async () => {
    stopped = true;
    await running;
    peer.close(1000, 'done');
  };
}

const PLAYGROUND_POLICY: ConfirmationPolicy = { ...DEFAULT_CONFIRMATION_POLICY, finalConfirmations: DEFAULT_CONFIRMATION_POLICY.largeConfirmations + 1 };

/** Funds the buyer as a user would: its daemon asks for a deposit address, the faucet pays it, blocks are mined until the credit. */
async function fundThroughDevnet(devnet: Devnet, exchange: RunningExchangeServer, buyer: Daemon, amountSats: number, say: (line: string) => void): Promise<void> {
  const response = await fetch(`${buyer.apiUrl}/account/deposit-address`, {
    method: 'POST',
    headers: { authorization: `Bearer ${buyer.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ amountSats }),
  });
  const answer = (await response.json()) as { address?: string; uri?: string; error?: { message: string } };
  if (!response.ok || answer.address === undefined) throw new Error(`the buyer got no deposit address: ${answer.error?.message ?? response.status}`);
  say(`\nThe buyer funds its account in bitcoin: its daemon asked the exchange for a deposit address, ${answer.uri}`);
  const txid = devnet.faucet.pay(answer.address, amountSats);
  say(`  the devnet's faucet paid ${amountSats} sat to it in transaction ${txid}`);
  const watcher = exchange.depositWatcher!;
  const account = () => exchange.exchange.core.account(buyer.identity.address);
  await watcher.poll();
  say(`  seen in the mempool: ${account()?.depositPendingSats ?? 0} sat pending, not spendable yet`);
  let credited = false;
  for (let mined = 1; mined <= PLAYGROUND_POLICY.finalConfirmations; mined++) {
    devnet.mine(1);
    await watcher.poll();
    const now = (account()?.availableSats ?? 0) >= amountSats;
    const note = now && !credited ? `: credited, ${account()?.availableSats} sat available` : mined === PLAYGROUND_POLICY.finalConfirmations ? ': final, no longer watched for reorgs' : '';
    credited = now;
    say(`  block ${devnet.tip().height}: ${mined} confirmation${mined === 1 ? '' : 's'}${note}`);
  }
  if (!credited) throw new Error('the deposit was not credited');
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

async function sampleRender(dataDir: string, buyer: Daemon, article: string, say: (line: string) => void): Promise<void> {
  const blender = blenderPath();
  const scene = await makeDemoScene(blender, join(dataDir, 'demo'), { width: 320, height: 180, samples: 16 });
  say(`\nA Blender scene rendered through the market: bitwrk render ${scene} (4 tiles)`);
  const startNs = process.hrtime.bigint();
  const summary = await renderScene({
    scene,
    frames: [1],
    outputDir: join(dataDir, 'demo', 'render'),
    article,
    concurrency: 2,
    retries: 1,
    minTiles: 4,
    blender,
    api: new LocalApiClient(buyer.apiUrl, buyer.apiToken),
    autoexec: false,
    signal: new AbortController().signal,
    report: (event) => {
      if (event.type === 'tile' && event.state !== 'bought') say(`  tile ${event.tile.column},${event.tile.row}: ${event.state}${event.sats === undefined ? '' : `, ${event.sats} sat`}${event.message === undefined ? '' : `: ${event.message}`}`);
    },
  });
  const frame = summary.frames[0]!;
  const elapsedS = Number(process.hrtime.bigint() - startNs) / 1e9;
  say(frame.ok ? `  frame 1 after ${elapsedS.toFixed(1)} s: ${frame.paths.join(', ')} (${frame.satsSpent} sat for ${frame.purchases} tiles)` : `  frame 1 not completed: ${frame.error ?? ''}`);
}

function printGuide(exchange: RunningExchangeServer, buyer: Daemon, seller: Daemon, demoScene: string | undefined, withdrawTo: string, say: (line: string) => void): void {
  say(`
Open in a browser (the links carry each daemon's API token, which its page needs to make changes):
  buyer daemon   ${buyer.pageUrl}
  seller daemon  ${seller.pageUrl}
  exchange       ${exchange.httpUrl}/api/articles/${encodeURIComponent(TEST_HASH_ARTICLE)}/depth

Buy more work (the answer is the result; docs/daemon.md explains the API):
  curl -H 'authorization: Bearer ${buyer.apiToken}' --data-binary @some-file ${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}
${demoScene === undefined ? '' : `\nRender a Blender scene through the market (docs/blender.md):\n  npx bitwrk render ${demoScene} --frames 1-3 --daemon ${buyer.apiUrl} --token ${buyer.apiToken}\n`}
Withdraw bitcoin to an address (here the devnet faucet's; a block comes every ${BLOCK_INTERVAL_MS / 1000} s, the payer signs):
  npx bitwrk withdraw ${withdrawTo} 10000 --key my-first --daemon ${buyer.apiUrl} --token ${buyer.apiToken}

Press Ctrl-C to stop.`);
}

// The market simulator: thousands of synthetic buyers and sellers (sim/agents.ts: the daemon's trade
// machines) trade with the production exchange (sim/exchange-host.ts: signed commands, nonces,
// journal, pushes, restarts from the journal) over the in-process network (src/transport/memory.ts:
// seeded latency and loss), all on one virtual clock (sim/kernel.ts). Deterministic: every random
// draw comes from the seeded PRNG and every time from the virtual clock, so a seed reproduces a run
// byte for byte.
//
// The market's promises are checked as the run goes, twice over: by the core's own invariant
// checker (money conserved, no negative balance, holds consistent, ...) and by the auditor
// (sim/auditor.ts), which follows the events independently. A violation stops the run. The run
// ends with a liveness phase: no new work, time runs on until every transaction has retired.
import { articleWithDefaults, type ArticleSpec } from '../src/market/articles.js';
import type { CoreEvent } from '../src/market/commands.js';
import type { MarketCore } from '../src/market/core.js';
import { createPrng, type Prng } from '../src/random.js';
import { MemoryNetwork } from '../src/transport/memory.js';
import { AgentLink } from './agent-link.js';
import { BuyerAgent, SellerAgent, type AgentContext, type BuyerKind, type SellerKind } from './agents.js';
import { Auditor, InvariantViolation } from './auditor.js';
import { SimTrades } from './trades.js';
import { CoreMarket } from './core-market.js';
import { SimExchange } from './exchange-host.js';
import { agentAddress } from './identities.js';
import { Kernel } from './kernel.js';
import type { ConnectAgent, MarketPort } from './market-port.js';
import { Metrics, type MinuteRow, type VerificationTally } from './metrics.js';
import { simArticle, type Scenario } from './scenario.js';
import { SimChain } from './chain.js';
import { devnetBackend } from '../src/chain/devnet.js';
import { chainAddress } from '../src/chain/deposit-keys.js';
import type { Exchange } from '../src/server/exchange.js';

export const START_MS = 1_700_000_000_000;
const MINUTE_MS = 60_000;
/** Money each buyer starts with: enough never to run short (a short buyer is not what is studied). */
const BUYER_CREDIT_SATS = 100_000_000;
/** Each buyer's deposit with chain funding: the devnet's faucet has far fewer coins than 1 BTC per buyer, and 0.01 BTC is hundreds of purchases. */
const BUYER_DEPOSIT_SATS = 1_000_000;
/** How often the exchange's deposit watcher reads the devnet, in virtual time. */
const CHAIN_POLL_MS = 60_000;
/** Credits the admin sends per second of virtual time: within a connection's rate limit (2,000 messages per second). */
const CREDIT_BATCH = 1_000;
/** After the last new work, how long normal transactions get to finish before disputes are timed out. */
const DRAIN_MS = 30 * MINUTE_MS;
/** Withdrawals are batched every 10 minutes of market time (a block's worth). */
const PAYOUT_BATCH_INTERVAL_MS = 10 * MINUTE_MS;
/**
 * A withdrawal of a removed worker's bid takes a round trip, and on a lossy network its resends
 * (5 of 10 s at most): a match of its bid later than this after the removal is a ghost.
 */
const ghostGraceMs = (scenario: Scenario): number => (scenario.network.lossProbability > 0 ? 60_000 : 5_000);

/** The whole run's sums of the per-minute counts. */
export type Totals = Omit<MinuteRow, 'minute' | 'busySellers' | 'articles'>;

export interface SimulationResult {
  readonly scenario: Scenario;
  readonly articles: readonly string[];
  readonly minutes: readonly MinuteRow[];
  readonly totals: Totals;
  /** How checking results worked out: cheating trades paid, honest sellers penalised, the checks' cost, time held in disputes. */
  readonly verification: VerificationTally;
  /** How the agents' trades ended ("buy done", "sell failed", ...). */
  readonly ended: Readonly<Record<string, number>>;
  readonly checks: { readonly coreInvariantChecks: number; readonly auditorChecks: number; readonly eventsAudited: number };
  readonly faults: {
    readonly resentCommands: number;
    readonly orphanBids: number;
    readonly recoveredBids: number;
    readonly restarts: number;
    /** Daemon faults injected, and what the trade logic made of them. */
    readonly lateErrors: number;
    readonly workersRemoved: number;
    readonly sellerRestarts: number;
    readonly ghostBidsMatched: number;
    readonly staleFactsIgnored: number;
    /** Chain funding: reorgs injected, deposits whose credit they reversed, accounts left owing (and frozen). */
    readonly reorgs: number;
    readonly depositsReversed: number;
    readonly accountsOverdrawn: number;
    /** With withdrawals: requested, completed (each checked on chain by the auditor), batches, batches conflicted by a reorg. */
    readonly withdrawalsRequested: number;
    readonly withdrawalsCompleted: number;
    readonly payoutBatches: number;
    readonly payoutsConflicted: number;
  };
  readonly stateHash: string;
  readonly journalRecords: number;
  readonly kernelSteps: number;
}

export interface SimulateOptions {
  /** Told of progress (0..1) as simulated time passes. */
  readonly onProgress?: (fraction: number) => void;
  /**
   * Test only: a planted bug, to show that the checks catch it. 'accept-any-receipt' makes the
   * exchange accept every receipt, so forging sellers get paid without one.
   */
  readonly plant?: 'accept-any-receipt' | 'keep-ghost-bids';
}

function pickKind<K extends string>(prng: Prng, shares: ReadonlyArray<readonly [K, number]>, fallback: K): K {
  let draw = prng.nextFloat();
  for (const [kind, share] of shares) if ((draw -= share) < 0) return kind;
  return fallback;
}

export async function simulate(scenario: Scenario, options: SimulateOptions = {}): Promise<SimulationResult> {
  const kernel = new Kernel(START_MS);
  const { clock } = kernel;
  const prng = createPrng(scenario.seed);
  const network = new MemoryNetwork({ clock, prng: prng.fork(), faults: { latencyMs: { min: scenario.network.latencyMinMs, max: scenario.network.latencyMaxMs }, lossProbability: scenario.network.lossProbability } });
  const articles = Array.from({ length: scenario.articles }, (_, index) => simArticle(index));
  const articleIds = articles.map((article) => article.articleId);
  const auditor = new Auditor();
  const metrics = new Metrics(START_MS, articleIds, scenario.bidLifetimeSeconds * 1000, {
    isCheater: (address) => context.sellersByAddress.get(address)?.kind === 'cheater',
    isWitness: (txId) => context.witnessTxIds.has(txId),
  });
  let violation: unknown;
  const chainFaults = { depositsReversed: 0, accountsOverdrawn: 0, withdrawalsRequested: 0, withdrawalsCompleted: 0, payoutBatches: 0, payoutsConflicted: 0 };
  const onEvents = (events: readonly CoreEvent[]): void => {
    for (const event of events) {
      if (event.type === 'deposit' && event.change === 'reversed') chainFaults.depositsReversed++;
      if (event.type === 'accountOverdrawn') chainFaults.accountsOverdrawn++;
      if (event.type === 'withdrawal' && !event.repeated && event.state === 'requested') chainFaults.withdrawalsRequested++;
      if (event.type === 'withdrawal' && event.state === 'completed') chainFaults.withdrawalsCompleted++;
      if (event.type === 'payoutBatch' && event.change === 'created') chainFaults.payoutBatches++;
      if (event.type === 'payoutBatch' && event.change === 'CONFLICT') chainFaults.payoutsConflicted++;
    }
    try {
      auditor.observe(events);
      metrics.observe(events, clock.now());
      checkNoGhostBids(events);
    } catch (error) {
      violation ??= error; // raised by the kernel loop: this runs inside the exchange's own promise
    }
  };
  // No bid stays on the book for a worker that is gone: one matched well after its removal is a ghost.
  const checkNoGhostBids = (events: readonly CoreEvent[]): void => {
    for (const event of events) {
      if (event.type !== 'trade') continue;
      const gone = context.sellersByAddress.get(event.seller)?.workerGoneSinceMs;
      if (gone !== undefined && clock.now() - gone > ghostGraceMs(scenario)) {
        context.daemonFaults.ghostBidsMatched++;
        throw new InvariantViolation(`${event.txId}: matched the bid ${event.sellBidId} of a worker removed ${clock.now() - gone} ms before`);
      }
    }
  };
  const adminAddress = agentAddress('admin');
  const articleSpecs = articles.map(({ articleId }) => articleWithDefaults(articleId, { feeNumerator: scenario.feeNumerator, bidLifetimeMs: scenario.bidLifetimeSeconds * 1000, priceSatsMax: 10_000_000 }));
  let connect: ConnectAgent = () => {
    throw new Error('agents connect once the market is up');
  };
  const context: AgentContext = {
    scenario,
    clock,
    prng: prng.fork(),
    network,
    auditor,
    open: true,
    connect: (address, onEvent, onReconnect) => connect(address, onEvent, onReconnect),
    sellersByAddress: new Map(),
    buyersByAddress: new Map(),
    witnessTxIds: new Set(),
    ended: {},
    orphanBids: 0,
    recoveredBids: 0,
    resent: 0,
    trades: new SimTrades(clock),
    daemonFaults: { lateErrors: 0, workersRemoved: 0, sellerRestarts: 0, ghostBidsMatched: 0 },
    keepGhostBids: options.plant === 'keep-ghost-bids',
  };
  // The chain draws from its own generator, so that runs funded by credit keep their draws.
  const chain = scenario.funding === 'chain' ? new SimChain(scenario.seed, clock, scenario.buyers * BUYER_DEPOSIT_SATS) : undefined;
  const venue = await openVenue(scenario, { kernel, network, prng: prng.fork(), articles: articleSpecs, adminAddress, onEvents, context, ...(options.plant === 'accept-any-receipt' ? { plant: options.plant } : {}), ...(chain === undefined ? {} : { chain }) });
  connect = venue.connect;
  const sellers: SellerAgent[] = [];
  for (let index = 0; index < scenario.sellers; index++) {
    const kind = pickKind<SellerKind>(prng, [['adaptive', scenario.adaptiveSellers], ['flaky', scenario.flakySellers], ['cheater', scenario.cheatingSellers], ['forger', scenario.forgingSellers]], 'fixed');
    const article = articles[prng.nextInt(articles.length)]!;
    const seller = new SellerAgent(context, `S${index}`, kind, article.articleId, Math.round(article.usualPriceSats * (0.8 + 0.4 * prng.nextFloat())));
    sellers.push(seller);
    context.sellersByAddress.set(seller.address, seller);
  }
  const buyers: BuyerAgent[] = [];
  for (let index = 0; index < scenario.buyers; index++) {
    const kind = pickKind<BuyerKind>(prng, [['taker', scenario.priceTakers], ['silent', scenario.silentBuyers]], 'fixed');
    const article = articles[prng.nextInt(articles.length)]!;
    const buyer = new BuyerAgent(context, `B${index}`, kind, article.articleId, Math.round(article.usualPriceSats * (0.9 + 0.4 * prng.nextFloat())));
    buyers.push(buyer);
    context.buyersByAddress.set(buyer.address, buyer);
  }

  const raise = (): void => {
    violation ??= context.trades.violation;
    if (violation !== undefined) throw violation;
  };
  if (chain === undefined) await creditBuyers(kernel, venue.connect(adminAddress, () => undefined, () => undefined), buyers, raise);
  else await fundThroughChain(kernel, chain, venue, buyers, raise);
  if (chain !== undefined && scenario.reorgsPerHour > 0) {
    const chainPrng = createPrng((scenario.seed ^ 0x5eed_c4a1) >>> 0);
    const nextReorg = (): void => {
      clock.setTimer(() => {
        if (!context.open) return;
        chain.reorgAway(chainPrng);
        nextReorg();
      }, -Math.log(1 - chainPrng.nextFloat()) * (3_600_000 / scenario.reorgsPerHour));
    };
    nextReorg();
  }
  if (chain !== undefined && scenario.withdrawalsPerHour > 0) scheduleWithdrawals(scenario, chain, venue, sellers, () => context.open);

  // Arrivals: a Poisson process per buyer, or the same thinned to ten-minute bursts at twice the rate.
  const endMs = clock.now() + Math.round(scenario.hours * 3_600_000);
  const meanGapMs = scenario.buyerIntervalSeconds * 1000;
  const inBurst = (atMs: number): boolean => Math.floor((atMs - START_MS) / (10 * MINUTE_MS)) % 2 === 0;
  const scheduleArrival = (buyer: BuyerAgent): void => {
    const gapMs = -Math.log(1 - prng.nextFloat()) * (scenario.arrivals === 'bursts' ? meanGapMs / 2 : meanGapMs);
    clock.setTimer(() => {
      if (!context.open) return;
      if (scenario.arrivals === 'poisson' || inBurst(clock.now())) buyer.purchase();
      scheduleArrival(buyer);
    }, gapMs);
  };
  for (const buyer of buyers) scheduleArrival(buyer);
  // Daemon faults: workers removed and seller daemons restarted at random, Poisson over the market.
  const everyFault = (perHour: number, fault: (seller: SellerAgent) => void): void => {
    if (perHour <= 0) return;
    const next = (): void => {
      clock.setTimer(() => {
        if (!context.open) return;
        fault(sellers[prng.nextInt(sellers.length)]!);
        next();
      }, -Math.log(1 - prng.nextFloat()) * (3_600_000 / perHour));
    };
    next();
  };
  everyFault(scenario.workerRemovalsPerHour, (seller) => seller.removeWorker(scenario.sellerDowntimeSeconds * 1000));
  everyFault(scenario.sellerRestartsPerHour, (seller) => seller.restart(scenario.sellerDowntimeSeconds * 1000));
  for (const seller of sellers) seller.offerIn(prng.nextInt(10_000));

  // Each minute: sample the book and the sellers; every few minutes, check every invariant.
  const agents = scenario.buyers + scenario.sellers;
  const checkEveryMinutes = Math.min(15, Math.max(1, Math.ceil(agents / 2000)));
  let coreInvariantChecks = 0;
  let minute = 0;
  const everyMinute = (): void => {
    minute++;
    const core = venue.core();
    metrics.sample(clock.now(), core, sellers.reduce((busy, seller) => busy + (seller.busy ? 1 : 0), 0));
    if (minute % checkEveryMinutes === 0 && core !== undefined) {
      core.checkInvariants();
      coreInvariantChecks++;
      checkConservation(auditor, core, buyers, sellers);
      checkPayoutsRunning(venue);
    }
    clock.setTimer(everyMinute, MINUTE_MS);
  };
  clock.setTimer(everyMinute, MINUTE_MS - ((clock.now() - START_MS) % MINUTE_MS));

  const drainEndMs = endMs + DRAIN_MS;
  const progress = (nowMs: number): void => {
    raise();
    options.onProgress?.(Math.min(1, (nowMs - START_MS) / (drainEndMs - START_MS)));
  };
  // The main phase, in segments between exchange restarts.
  const restartEveryMs = scenario.restartEveryMinutes * MINUTE_MS;
  for (;;) {
    const restartAtMs = restartEveryMs > 0 ? START_MS + (Math.floor((clock.now() - START_MS) / restartEveryMs) + 1) * restartEveryMs : Number.POSITIVE_INFINITY;
    if (restartAtMs >= endMs) break;
    await kernel.runUntil(restartAtMs, progress);
    await venue.restart(() => kernel.runUntil(clock.now() + scenario.restartDowntimeSeconds * 1000, progress));
  }
  await kernel.runUntil(Math.max(endMs, clock.now()), progress);

  // Liveness: no new work; normal transactions finish; disputed results wait out their window.
  context.open = false;
  await kernel.runUntil(drainEndMs, progress);
  const finalCore = venue.core()!;
  const lastDeadlineMs = Math.max(clock.now(), ...finalCore.exportState().transactions.map((tx) => tx.deadlineMs));
  await venue.jumpTo(lastDeadlineMs + 1);
  await kernel.runUntil(clock.now() + MINUTE_MS, progress);
  raise();
  finalCore.checkInvariants();
  coreInvariantChecks++;
  checkConservation(auditor, finalCore, buyers, sellers);
  if (chain !== undefined && scenario.withdrawalsPerHour > 0) {
    checkPayoutsRunning(venue);
    auditor.checkPayouts((address) => chain.devnet.addressUtxos(address).filter((utxo) => utxo.status.confirmed));
    if (finalCore.funds.payoutBatches().length === 0) auditor.checkWallet(walletSats(chain, finalCore), finalCore.feesSats);
  }
  const active = finalCore.exportState().transactions.length;
  if (active > 0 || auditor.openTransactions > 0) throw new InvariantViolation(`liveness: ${active} transactions still active after the drain phase`);
  const stateHash = finalCore.stateHash();
  for (const agent of [...buyers, ...sellers]) agent.close();
  chain?.stop();
  await venue.stop();
  options.onProgress?.(1);
  return {
    scenario,
    articles: articleIds,
    minutes: metrics.minutes,
    totals: sumMinutes(metrics.minutes),
    verification: metrics.verification,
    ended: sortedKeys(context.ended),
    checks: { coreInvariantChecks, auditorChecks: auditor.checks + context.trades.checks, eventsAudited: auditor.eventsSeen },
    faults: { resentCommands: context.resent, orphanBids: context.orphanBids, recoveredBids: context.recoveredBids, restarts: venue.restarts(), ...context.daemonFaults, staleFactsIgnored: context.trades.staleFacts, reorgs: chain?.reorgs ?? 0, ...chainFaults },
    stateHash,
    journalRecords: venue.journalRecords(),
    kernelSteps: kernel.steps,
  };
}

/** The admin credits every buyer over its own connection, in pipelined batches, one a second. */
async function creditBuyers(kernel: Kernel, admin: MarketPort, buyers: readonly BuyerAgent[], raise: () => void): Promise<void> {
  for (let first = 0; first < buyers.length; first += CREDIT_BATCH) {
    const batchStartMs = kernel.now();
    let pending = 0;
    let failure: unknown;
    for (const buyer of buyers.slice(first, first + CREDIT_BATCH)) {
      pending++;
      admin.credit(buyer.address, BUYER_CREDIT_SATS).then(
        () => pending--,
        (error: unknown) => {
          pending--;
          failure ??= error;
        },
      );
    }
    while (pending > 0 || kernel.now() < batchStartMs + 1000) await kernel.runUntil(kernel.now() + 100);
    if (failure !== undefined) throw failure;
    raise();
  }
  admin.close();
}

/** Every buyer funded by a deposit on the devnet; returns once the watcher has credited them all. */
async function fundThroughChain(kernel: Kernel, chain: SimChain, venue: Venue, buyers: readonly BuyerAgent[], raise: () => void): Promise<void> {
  await chain.fund(() => venue.exchange!(), buyers.map((buyer) => buyer.address), BUYER_DEPOSIT_SATS);
  const credited = (): boolean => buyers.every((buyer) => (venue.core()?.account(buyer.address)?.availableSats ?? 0) >= BUYER_DEPOSIT_SATS);
  const limitMs = kernel.now() + 10 * CHAIN_POLL_MS;
  while (!credited()) {
    if (kernel.now() > limitMs) throw new InvariantViolation('the deposit watcher did not credit the buyers\' deposits');
    await kernel.runUntil(kernel.now() + 1000);
    raise();
  }
  chain.startMining(kernel.clock);
}

function checkConservation(auditor: Auditor, core: MarketCore, buyers: readonly BuyerAgent[], sellers: readonly SellerAgent[]): void {
  let balancesSats = 0;
  for (const agent of [...buyers, ...sellers]) {
    const account = core.account(agent.address);
    if (account !== undefined) balancesSats += account.availableSats + account.heldSats + account.payoutPendingSats;
  }
  auditor.checkConservation(balancesSats, core.feesSats);
}

/** The reconciliation held: the production processor never halted payouts. */
function checkPayoutsRunning(venue: Venue): void {
  const status = venue.exchange?.().payoutProcessor?.status();
  if (status?.halted === true) throw new InvariantViolation(`payouts halted: ${status.reason}`);
}

/** The wallet's confirmed coins on the devnet: every deposit address handed out, the float and every change address. */
function walletSats(chain: SimChain, core: MarketCore): number {
  const addresses = [
    ...Array.from({ length: core.funds.nextDepositIndex() }, (_, index) => chainAddress(chain.key, 0, index)),
    ...Array.from({ length: core.funds.nextPayoutBatch().changeIndex }, (_, index) => chainAddress(chain.key, 1, index)),
  ];
  return addresses.reduce((sum, address) => sum + chain.devnet.addressUtxos(address).reduce((own, utxo) => own + (utxo.status.confirmed ? utxo.valueSats : 0), 0), 0);
}

/**
 * Sellers cash out: a Poisson process of withdrawals, each of half a random seller's available
 * balance (when it is at least 2,000 sat) to a fresh address of its own, through the exchange's
 * command path (the server's address check is tested elsewhere; these destinations are valid).
 */
function scheduleWithdrawals(scenario: Scenario, chain: SimChain, venue: Venue, sellers: readonly SellerAgent[], open: () => boolean): void {
  const prng = createPrng((scenario.seed ^ 0x0d15_ba5e) >>> 0);
  const clock = chain.clock;
  let count = 0;
  const next = (): void => {
    clock.setTimer(() => {
      if (!open()) return;
      next();
      const seller = sellers[prng.nextInt(sellers.length)]!;
      let exchange: Exchange;
      try {
        exchange = venue.exchange!();
      } catch {
        return; // down for a restart: this one is skipped
      }
      const available = exchange.core.account(seller.address)?.availableSats ?? 0;
      if (available < 2_000) return;
      const n = count++;
      void exchange
        .execute(undefined, (nowMs) => ({ type: 'requestWithdrawal', nowMs, participant: seller.address, key: `sim-${n}`, destination: chain.destination(n), amountSats: Math.floor(available / 2) }))
        .catch(() => undefined); // refused (the balance moved meanwhile): nothing changed
    }, -Math.log(1 - prng.nextFloat()) * (3_600_000 / scenario.withdrawalsPerHour));
  };
  next();
}

/** Where the agents trade: the production exchange over the network, or the core directly. */
interface Venue {
  core(): MarketCore | undefined;
  /** The running exchange (the exchange connector only). */
  exchange?: () => Exchange;
  connect: ConnectAgent;
  /** Restarts the exchange from its journal (only the exchange connector has one). */
  restart(downtime: () => Promise<void>): Promise<void>;
  /** Moves the market's time to `nowMs` (the liveness phase's jump past the dispute window). */
  jumpTo(nowMs: number): Promise<void>;
  stop(): Promise<void>;
  restarts(): number;
  journalRecords(): number;
}

interface VenueParts {
  readonly kernel: Kernel;
  readonly network: MemoryNetwork;
  readonly prng: Prng;
  readonly articles: readonly ArticleSpec[];
  readonly adminAddress: string;
  readonly onEvents: (events: readonly CoreEvent[]) => void;
  readonly context: AgentContext;
  readonly plant?: 'accept-any-receipt' | 'keep-ghost-bids';
  readonly chain?: SimChain;
}

async function openVenue(scenario: Scenario, parts: VenueParts): Promise<Venue> {
  const { kernel } = parts;
  if (scenario.connector === 'core') {
    const market = new CoreMarket({ clock: kernel.clock, prng: parts.prng, articles: parts.articles, latencyMs: { min: scenario.network.latencyMinMs, max: scenario.network.latencyMaxMs }, onEvents: parts.onEvents });
    return {
      core: () => market.core,
      connect: (address, onEvent) => market.connect(address, onEvent),
      restart: () => Promise.reject(new Error('the core connector cannot restart')),
      jumpTo: async (nowMs) => void market.execute({ type: 'advanceTime', nowMs }),
      stop: async () => market.stop(),
      restarts: () => 0,
      journalRecords: () => 0,
    };
  }
  const host = new SimExchange({
    clock: kernel.clock,
    network: parts.network,
    adminAddress: parts.adminAddress,
    articles: parts.articles,
    onEvents: parts.onEvents,
    settle: () => kernel.settle(),
    ...(parts.plant === 'accept-any-receipt' ? { acceptAnyReceipt: true } : {}),
    ...(parts.chain === undefined ? {} : { deposits: { key: parts.chain.key, backend: devnetBackend(parts.chain.devnet), pollMs: CHAIN_POLL_MS } }),
    ...(parts.chain === undefined || scenario.withdrawalsPerHour === 0 ? {} : { payouts: { payerKey: parts.chain.payerKey, batchIntervalMs: PAYOUT_BATCH_INTERVAL_MS } }),
  });
  await host.start();
  return {
    core: () => host.exchange?.core,
    exchange: () => host.running,
    connect: (address, onEvent, onReconnect) => new AgentLink(parts.context, address, onEvent, onReconnect, address !== parts.adminAddress),
    restart: (downtime) => host.restart(downtime),
    jumpTo: (nowMs) => host.running.tick(nowMs),
    stop: () => host.stop().then(() => undefined),
    restarts: () => host.restarts,
    journalRecords: () => host.journalRecords,
  };
}

function sumMinutes(minutes: readonly MinuteRow[]): Totals {
  const totals: Totals = { trades: 0, volumeSats: 0, feesSats: 0, buyBids: 0, sellBids: 0, bidsExpired: 0, buyBidsMatched: 0, matchWaitMsTotal: 0, finished: 0, disputed: 0, disputesPaid: 0, forfeitedSats: 0, timedOut: 0 };
  for (const row of minutes) for (const key of Object.keys(totals) as Array<keyof Totals>) totals[key] += row[key];
  return totals;
}

function sortedKeys(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}

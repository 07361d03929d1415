// The market simulator: synthetic buyers and sellers trade on virtual time against the real market
// core (src/market/core.ts) through the same commands the exchange gives it. Deterministic: every
// random draw comes from the seeded PRNG, every time from the virtual clock, so a seed reproduces
// a run byte for byte. Invariants (money conserved, no negative balance, no double match, deadlines
// kept, receipts required) are checked by the core's own checker as the run goes.
//
// Signatures are not simulated: receipts are a stand-in "signature" derived from the buyer and the
// hash (simulation only), checked by an injected verifier, because real secp256k1 signing would cost
// more than the whole market.
import { createHash } from 'node:crypto';
import { MinHeap } from '../src/heap.js';
import { createPrng, type Prng } from '../src/random.js';
import { articleWithDefaults } from '../src/market/articles.js';
import type { CoreEvent, MarketCommand } from '../src/market/commands.js';
import { MarketCore } from '../src/market/core.js';
import type { TxMessageType } from '../src/market/tx-messages.js';
import type { Scenario } from './scenario.js';

export const SIM_ARTICLE = 'sim/work';
const START_MS = 1_700_000_000_000;
const MINUTE_MS = 60_000;

type SellerKind = 'fixed' | 'adaptive' | 'flaky' | 'cheater';
type BuyerKind = 'fixed' | 'taker' | 'silent';

interface Seller { readonly id: string; readonly kind: SellerKind; askSats: number; busy: boolean }
interface Buyer { readonly id: string; readonly kind: BuyerKind; readonly valueSats: number }

interface Wakeup { readonly atMs: number; readonly order: number; readonly run: () => void }

export interface MinuteRow {
  minute: number;
  trades: number;
  volumeSats: number;
  feesSats: number;
  bidsPlaced: number;
  bidsExpired: number;
  finished: number;
  disputed: number;
  timedOut: number;
}

export interface SimulationResult {
  readonly scenario: Scenario;
  readonly minutes: MinuteRow[];
  readonly totals: MinuteRow & { commands: number; rejected: number; invariantChecks: number };
  readonly stateHash: string;
}

function fakeSignature(buyer: string, hashHex: string): string {
  const digest = createHash('sha256').update(`${buyer}|${hashHex}`).digest();
  return Buffer.concat([digest, digest, digest.subarray(0, 1)]).toString('base64');
}

function hexOf(prng: Prng): string {
  return Buffer.from(prng.nextBytes(32)).toString('hex');
}

export function simulate(scenario: Scenario, onProgress?: (fraction: number) => void): SimulationResult {
  const prng = createPrng(scenario.seed);
  const core = new MarketCore(
    { verifyReceipt: (buyer, hashHex, signature) => signature === fakeSignature(buyer, hashHex) },
    { startMs: START_MS, articles: [articleWithDefaults(SIM_ARTICLE, { feeNumerator: scenario.feeNumerator, bidLifetimeMs: scenario.bidLifetimeSeconds * 1000, priceSatsMax: 10_000_000 })] },
  );
  const queue = new MinHeap<Wakeup>((a, b) => a.atMs < b.atMs || (a.atMs === b.atMs && a.order < b.order));
  let order = 0;
  let nowMs = START_MS;
  const at = (delayMs: number, run: () => void): void => queue.push({ atMs: nowMs + Math.max(0, Math.round(delayMs)), order: order++, run });
  const endMs = START_MS + Math.round(scenario.hours * 3_600_000);
  const minutes: MinuteRow[] = [];
  const row = (): MinuteRow => {
    // Settlements after the drain phase (disputes waiting out their window) count in the last row.
    const minute = Math.floor((Math.min(nowMs, endMs + 30 * MINUTE_MS) - START_MS) / MINUTE_MS);
    while (minutes.length <= minute) minutes.push({ minute: minutes.length, trades: 0, volumeSats: 0, feesSats: 0, bidsPlaced: 0, bidsExpired: 0, finished: 0, disputed: 0, timedOut: 0 });
    return minutes[minute]!;
  };
  // The checker walks the whole state: every 97 commands in small markets, and once per as many
  // commands as there are agents in large ones (so checking costs O(1) per command).
  const agents = scenario.buyers + scenario.sellers;
  const invariantEveryCommands = agents <= 2000 ? 97 : agents;
  let commands = 0;
  let rejected = 0;
  let invariantChecks = 0;

  const sellers = new Map<string, Seller>();
  const buyers = new Map<string, Buyer>();
  const bidOwner = new Map<string, string>();
  const exponential = (meanMs: number): number => -Math.log(1 - prng.nextFloat()) * meanMs;
  const pick = <K extends string>(shares: Array<[K, number]>, fallback: K): K => {
    let draw = prng.nextFloat();
    for (const [kind, share] of shares) if ((draw -= share) < 0) return kind;
    return fallback;
  };
  for (let index = 0; index < scenario.sellers; index++) {
    const kind = pick<SellerKind>([['adaptive', scenario.adaptiveSellers], ['flaky', scenario.flakySellers], ['cheater', scenario.cheatingSellers]], 'fixed');
    sellers.set(`S${index}`, { id: `S${index}`, kind, askSats: 800 + prng.nextInt(400), busy: false });
  }
  for (let index = 0; index < scenario.buyers; index++) {
    const kind = pick<BuyerKind>([['taker', scenario.priceTakers], ['silent', scenario.silentBuyers]], 'fixed');
    buyers.set(`B${index}`, { id: `B${index}`, kind, valueSats: 900 + prng.nextInt(400) });
  }

  const execute = (command: MarketCommand): CoreEvent[] => {
    commands += 1;
    const result = core.execute(command);
    if (result.status === 'rejected') rejected += 1;
    if (commands % invariantEveryCommands === 0) {
      core.checkInvariants();
      invariantChecks += 1;
    }
    for (const event of result.events) observe(event);
    return [...result.events];
  };
  const txMessage = (participant: string, txId: string, message: TxMessageType, fields: Record<string, string> = {}): void => {
    execute({ type: 'txMessage', nowMs, participant, txId, message, fields });
  };

  const sellerOffers = (seller: Seller): void => {
    if (seller.busy || nowMs >= endMs) return;
    const events = execute({ type: 'placeBid', nowMs, participant: seller.id, side: 'SELL', article: SIM_ARTICLE, priceSats: seller.askSats });
    for (const event of events) if (event.type === 'bidAccepted') bidOwner.set(event.bidId, seller.id);
  };
  const buyerArrives = (buyer: Buyer): void => {
    if (nowMs >= endMs) return;
    const price = buyer.kind === 'taker' ? 2 * buyer.valueSats : buyer.valueSats;
    const events = execute({ type: 'placeBid', nowMs, participant: buyer.id, side: 'BUY', article: SIM_ARTICLE, priceSats: price });
    for (const event of events) if (event.type === 'bidAccepted') bidOwner.set(event.bidId, buyer.id);
    at(exponential(scenario.buyerIntervalSeconds * 1000), () => buyerArrives(buyer));
  };

  /** Drives a matched transaction through the fair exchange, per the parties' behaviours. */
  const runTransaction = (txId: string, buyer: Buyer, seller: Seller): void => {
    const workHash = hexOf(prng);
    const secret = hexOf(prng);
    const secretHash = createHash('sha256').update(Buffer.from(workHash + secret, 'hex')).digest('hex');
    at(500 + prng.nextInt(1500), () => txMessage(buyer.id, txId, 'workhash', { workhash: workHash, worksecrethash: secretHash }));
    if (seller.kind === 'flaky' && prng.nextFloat() < 0.5) return; // vanishes: the transaction times out
    at(500 + prng.nextInt(1500), () => txMessage(seller.id, txId, 'workerurl', { workerurl: `http://${seller.id}.sim/work` }));
    at(3000 + prng.nextInt(2000), () => txMessage(seller.id, txId, 'buyersecret', { buyersecret: secret }));
    if (buyer.kind === 'silent') return; // never signs a receipt: the seller cannot reach UNVERIFIED
    const resultHash = hexOf(prng);
    at(5000 + exponential(scenario.workSeconds * 1000), () => {
      txMessage(seller.id, txId, 'encresult', { encresulthash: resultHash, encresulthashsig: fakeSignature(buyer.id, resultHash), encresultkey: hexOf(prng) });
      at(1000 + prng.nextInt(2000), () => (seller.kind === 'cheater' ? txMessage(buyer.id, txId, 'rejectresult', { reason: 'bad result' }) : txMessage(buyer.id, txId, 'acceptresult')));
    });
  };

  function observe(event: CoreEvent): void {
    const current = row();
    if (event.type === 'bidAccepted') current.bidsPlaced += 1;
    else if (event.type === 'bidExpired') {
      current.bidsExpired += 1;
      const seller = sellers.get(bidOwner.get(event.bidId) ?? '');
      if (seller !== undefined) {
        if (seller.kind === 'adaptive') seller.askSats = Math.max(100, Math.round(seller.askSats * 0.95));
        at(1000, () => sellerOffers(seller));
      }
      bidOwner.delete(event.bidId);
    } else if (event.type === 'trade') {
      current.trades += 1;
      current.volumeSats += event.priceSats;
      const seller = sellers.get(event.seller)!;
      seller.busy = true;
      if (seller.kind === 'adaptive') seller.askSats = Math.round(seller.askSats * 1.05);
      bidOwner.delete(event.buyBidId);
      bidOwner.delete(event.sellBidId);
      runTransaction(event.txId, buyers.get(event.buyer)!, seller);
    } else if (event.type === 'txRetired') {
      current.feesSats += event.feeSats;
      if (event.phase === 'FINISHED' || event.phase === 'UNVERIFIED') current.finished += 1;
      else if (event.phase === 'RESULT_DISPUTED' || event.phase === 'WORK_DISPUTED') current.disputed += 1;
      else current.timedOut += 1;
      const tx = txSellers.get(event.txId);
      if (tx !== undefined) {
        tx.busy = false;
        txSellers.delete(event.txId);
        at(1000, () => sellerOffers(tx));
      }
    }
    if (event.type === 'trade') txSellers.set(event.txId, sellers.get(event.seller)!);
  }
  const txSellers = new Map<string, Seller>();

  for (const buyer of buyers.values()) {
    execute({ type: 'credit', nowMs, participant: buyer.id, amountSats: 100_000_000 });
    at(exponential(scenario.buyerIntervalSeconds * 1000), () => buyerArrives(buyer));
  }
  for (const seller of sellers.values()) at(prng.nextInt(10_000), () => sellerOffers(seller));

  // Main loop, then a liveness phase: no new bids, time runs on until every transaction retires.
  const drainEndMs = endMs + 30 * MINUTE_MS;
  let reported = -1;
  for (let wakeup = queue.pop(); wakeup !== undefined && wakeup.atMs <= drainEndMs; wakeup = queue.pop()) {
    nowMs = wakeup.atMs;
    wakeup.run();
    const fraction = Math.floor(((nowMs - START_MS) / (drainEndMs - START_MS)) * 100);
    if (fraction !== reported) onProgress?.((reported = fraction) / 100);
  }
  nowMs = drainEndMs;
  execute({ type: 'advanceTime', nowMs });
  // Disputed results wait out their window (7 days): move time to the last deadline.
  const lastDeadlineMs = Math.max(nowMs, ...core.exportState().transactions.map((tx) => tx.deadlineMs));
  nowMs = lastDeadlineMs + 1;
  execute({ type: 'advanceTime', nowMs });
  core.checkInvariants();
  invariantChecks += 1;
  const active = core.exportState().transactions.length;
  if (active > 0) throw new Error(`liveness: ${active} transactions still active after the drain phase`);
  const totals = minutes.reduce(
    (sum, minute) => ({ ...sum, trades: sum.trades + minute.trades, volumeSats: sum.volumeSats + minute.volumeSats, feesSats: sum.feesSats + minute.feesSats, bidsPlaced: sum.bidsPlaced + minute.bidsPlaced, bidsExpired: sum.bidsExpired + minute.bidsExpired, finished: sum.finished + minute.finished, disputed: sum.disputed + minute.disputed, timedOut: sum.timedOut + minute.timedOut }),
    { minute: minutes.length, trades: 0, volumeSats: 0, feesSats: 0, bidsPlaced: 0, bidsExpired: 0, finished: 0, disputed: 0, timedOut: 0 } as MinuteRow,
  );
  return { scenario, minutes, totals: { ...totals, commands, rejected, invariantChecks }, stateHash: core.stateHash() };
}

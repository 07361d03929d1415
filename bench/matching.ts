// Matching throughput: bids per second through the full market core (machines, ledger, book,
// deadlines, events) and, in the same run on the same workload, through a bare two-heap matcher
// with the same rules (price, then earliest expiry, then arrival; trade at the resting price;
// open-bid limit; withdrawal by id). Workload per op: 60 % resting bids, 30 % crossing bids,
// 10 % withdrawals, against a book seeded with 10 k resting bids (5 k a side). Each batch
// starts from the same seeded book (rebuilt outside the timing), so the depth stays between
// 10 k and 10 k + 0.2 × batch. Also: the core stepping its machines with XState's own
// transition() instead of the compiled stepper, to show why the core does not by default.
import { benchOptions, printFigures, round } from './support.js';
import { articleWithDefaults } from '../src/market/articles.js';
import type { MarketCommand } from '../src/market/commands.js';
import { MarketCore } from '../src/market/core.js';
import type { MarketState } from '../src/market/state.js';
import { IndexedHeap } from '../src/heap.js';
import { buyBefore, crosses, sellBefore } from '../src/market/order-book.js';
import type { BookEntry } from '../src/market/order-book.js';
import { createPrng } from '../src/random.js';
import type { StepperKind } from '../src/machines/flat-machine.js';

const ARTICLE = articleWithDefaults('bench', { priceSatsMin: 1, priceSatsMax: 1_000_000 });
const PARTICIPANTS = Array.from({ length: 1_000 }, (_, index) => `1Bench${index.toString().padStart(4, '0')}`);
const SEED_BIDS_PER_SIDE = 5_000;
const START_MS = 1_700_000_000_000;
const OPEN_BIDS_MAX = 1_000;

type Op =
  | { readonly kind: 'bid'; readonly side: 'BUY' | 'SELL'; readonly priceSats: number; readonly participant: string }
  | { readonly kind: 'withdraw'; readonly bidId: string; readonly participant: string };

/** Seed bids: buys in [90 000, 99 999], sells in [100 001, 110 000]; they never cross each other. */
function seedOps(): Op[] {
  const prng = createPrng(1);
  const ops: Op[] = [];
  for (let index = 0; index < 2 * SEED_BIDS_PER_SIDE; index++) {
    const side = index % 2 === 0 ? 'BUY' : 'SELL';
    const priceSats = side === 'BUY' ? 90_000 + prng.nextInt(10_000) : 100_001 + prng.nextInt(10_000);
    ops.push({ kind: 'bid', side, priceSats, participant: PARTICIPANTS[index % PARTICIPANTS.length]! });
  }
  return ops;
}

interface DeepBid {
  readonly bidId: string;
  readonly participant: string;
}

/** Seed bids far from the spread (crossing never reaches them within a batch), by their ids. */
function deepSeedBids(seed: readonly Op[]): DeepBid[] {
  const deep: DeepBid[] = [];
  seed.forEach((op, index) => {
    if (op.kind !== 'bid') return;
    if (op.side === 'BUY' ? op.priceSats < 95_000 : op.priceSats > 105_000) deep.push({ bidId: `b${index + 1}`, participant: op.participant });
  });
  return deep;
}

/**
 * One batch: resting bids stay inside the seed bands; crossing bids take the best opposite bid;
 * withdrawals take deep seed bids (far from the spread, never reached by crossing in a batch).
 */
function batchOps(deepSeedBids: readonly DeepBid[], count: number, seedNumber: number): Op[] {
  const prng = createPrng(seedNumber);
  const deep = [...deepSeedBids];
  const ops: Op[] = [];
  for (let index = 0; index < count; index++) {
    const roll = prng.nextInt(100);
    const side = prng.nextInt(2) === 0 ? 'BUY' : 'SELL';
    const participant = PARTICIPANTS[prng.nextInt(PARTICIPANTS.length)]!;
    if (roll < 60) {
      const priceSats = side === 'BUY' ? 90_000 + prng.nextInt(10_000) : 100_001 + prng.nextInt(10_000);
      ops.push({ kind: 'bid', side, priceSats, participant });
    } else if (roll < 90) {
      ops.push({ kind: 'bid', side, priceSats: side === 'BUY' ? 200_000 : 1, participant });
    } else {
      // Swap-remove: each deep bid is withdrawn at most once per batch.
      const index = prng.nextInt(deep.length);
      const pick = deep[index]!;
      deep[index] = deep[deep.length - 1]!;
      deep.pop();
      ops.push({ kind: 'withdraw', bidId: pick.bidId, participant: pick.participant });
    }
  }
  return ops;
}

function toCommand(op: Op, nowMs: number): MarketCommand {
  return op.kind === 'bid'
    ? { type: 'placeBid', nowMs, participant: op.participant, side: op.side, article: 'bench', priceSats: op.priceSats }
    : { type: 'withdrawBid', nowMs, participant: op.participant, bidId: op.bidId };
}

const acceptAnyReceipt = (): boolean => true;

function seededCoreState(seed: readonly Op[]): MarketState {
  const core = new MarketCore({ verifyReceipt: acceptAnyReceipt }, { startMs: START_MS, articles: [ARTICLE], openBidsPerArticleMax: OPEN_BIDS_MAX });
  for (const participant of PARTICIPANTS) core.execute({ type: 'credit', nowMs: START_MS, participant, amountSats: 1e12 });
  for (const op of seed) expectAccepted(core.execute(toCommand(op, START_MS)).status);
  return core.exportState();
}

function expectAccepted(status: string): void {
  if (status !== 'accepted') throw new Error(`benchmark setup: a command was ${status}`);
}

/** Runs one batch through a core rebuilt from `state`; returns seconds spent on the ops only. */
function runCoreBatch(state: MarketState, ops: readonly Op[], stepper: StepperKind): number {
  const core = MarketCore.fromState(state, { verifyReceipt: acceptAnyReceipt, stepper });
  const commands = ops.map((op, index) => toCommand(op, START_MS + 1 + index));
  const startNs = process.hrtime.bigint();
  let rejected = 0;
  for (const command of commands) if (core.execute(command).status !== 'accepted') rejected += 1;
  const seconds = Number(process.hrtime.bigint() - startNs) / 1e9;
  if (rejected > 0) throw new Error(`${rejected} benchmark commands were rejected`);
  return seconds;
}

interface BareBid extends BookEntry {}

/** The bare matcher: two indexed heaps, an id map and the open-bid counts. No money, no events. */
class BareMatcher {
  private readonly buys = new IndexedHeap<BareBid>(buyBefore);
  private readonly sells = new IndexedHeap<BareBid>(sellBefore);
  private readonly resting = new Map<string, BareBid>();
  private readonly openBids = new Map<string, number>();
  private seq = 0;
  trades = 0;
  lastPriceSats = 0;

  place(side: 'BUY' | 'SELL', priceSats: number, participant: string, nowMs: number): boolean {
    const open = this.openBids.get(participant) ?? 0;
    if (open >= OPEN_BIDS_MAX || priceSats < ARTICLE.priceSatsMin || priceSats > ARTICLE.priceSatsMax) return false;
    const seq = ++this.seq;
    const entry: BareBid = { bidId: `b${seq}`, seq, participant, side, priceSats, expiresMs: nowMs + 120_000, heapIndex: -1 };
    const opposite = side === 'BUY' ? this.sells : this.buys;
    const best = opposite.peek();
    if (best !== undefined && crosses(side, priceSats, best)) {
      this.take(best);
      this.trades += 1;
      this.lastPriceSats = best.priceSats;
      return true;
    }
    (side === 'BUY' ? this.buys : this.sells).push(entry);
    this.resting.set(entry.bidId, entry);
    this.openBids.set(participant, open + 1);
    return true;
  }

  withdraw(bidId: string, participant: string): boolean {
    const entry = this.resting.get(bidId);
    if (entry === undefined || entry.participant !== participant) return false;
    this.take(entry);
    return true;
  }

  private take(entry: BareBid): void {
    (entry.side === 'BUY' ? this.buys : this.sells).remove(entry);
    this.resting.delete(entry.bidId);
    this.openBids.set(entry.participant, this.openBids.get(entry.participant)! - 1);
  }
}

function runBareBatch(seed: readonly Op[], ops: readonly Op[]): number {
  const matcher = new BareMatcher();
  for (const op of seed) if (op.kind === 'bid') matcher.place(op.side, op.priceSats, op.participant, START_MS);
  const startNs = process.hrtime.bigint();
  let rejected = 0;
  for (let index = 0; index < ops.length; index++) {
    const op = ops[index]!;
    const ok = op.kind === 'bid' ? matcher.place(op.side, op.priceSats, op.participant, START_MS + 1 + index) : matcher.withdraw(op.bidId, op.participant);
    if (!ok) rejected += 1;
  }
  const seconds = Number(process.hrtime.bigint() - startNs) / 1e9;
  if (rejected > 0) throw new Error(`${rejected} bare matcher ops were refused`);
  return seconds;
}

function main(): void {
  const { quick } = benchOptions();
  const batchSize = 10_000;
  const durationS = quick ? 2 : 8;
  const seed = seedOps();
  const deep = deepSeedBids(seed);
  const state = seededCoreState(seed);
  let coreSeconds = 0;
  let bareSeconds = 0;
  let coreOps = 0;
  let bareOps = 0;
  for (let batch = 0; coreSeconds < durationS || bareSeconds < durationS; batch++) {
    const ops = batchOps(deep, batchSize, 100 + batch);
    if (coreSeconds < durationS) {
      coreSeconds += runCoreBatch(state, ops, 'compiled');
      coreOps += ops.length;
    }
    if (bareSeconds < durationS) {
      bareSeconds += runBareBatch(seed, ops);
      bareOps += ops.length;
    }
  }
  const xstateOps = batchOps(deep, quick ? 1_000 : 5_000, 99);
  const xstateSeconds = runCoreBatch(state, xstateOps, 'xstate');
  const coreRate = coreOps / coreSeconds;
  const bareRate = bareOps / bareSeconds;
  printFigures('matching', {
    book_depth: `${2 * SEED_BIDS_PER_SIDE} to ${2 * SEED_BIDS_PER_SIDE + 0.2 * batchSize}`,
    mix: '60% resting, 30% crossing, 10% withdrawals',
    core_bids_per_s: round(coreRate),
    bare_bids_per_s: round(bareRate),
    core_to_bare_ratio: round(coreRate / bareRate, 3),
    core_xstate_transition_bids_per_s: round(xstateOps.length / xstateSeconds),
    goal_ratio_min: 0.1,
  });
}

main();

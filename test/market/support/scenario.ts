// Random market scenarios for the model-based tests. An "intent" is what a fast-check (or a
// seeded PRNG) draws without knowing the state ("the seller of some transaction sends a bad
// buyersecret"); `Driver` turns it into a concrete command against the current state, runs it
// through the fast core and the reference model, and checks after every step that both agree
// (same verdict, same state hash) and that the auditor's invariants hold.
import type { WithdrawalEvent } from '../../../src/machines/withdrawal.js';
import fc from 'fast-check';
import { articleWithDefaults } from '../../../src/market/articles.js';
import { TEST_HASH_ARTICLE } from '../../../src/market/catalogue.js';
import type { ArticleSpec } from '../../../src/market/articles.js';
import type { CommandResult, MarketCommand } from '../../../src/market/commands.js';
import { MarketCore } from '../../../src/market/core.js';
import { ReferenceMarket } from './reference-model.js';
import { TX_MESSAGE_FIELDS } from '../../../src/market/tx-messages.js';
import type { TxMessageType } from '../../../src/market/tx-messages.js';
import type { StepperKind } from '../../../src/machines/flat-machine.js';
import { workSecretHashOf } from '../../../src/machines/transaction.js';
import type { Prng } from '../../../src/random.js';
import { Auditor } from './auditor.js';
import { participant, sha256Hex, signText, verifyReceipt, verifyReceiptIndependently } from './participants.js';
import type { Participant } from './participants.js';

export const PARTICIPANTS: readonly Participant[] = ['alice', 'bob', 'carol', 'dave'].map(participant);
export const ARTICLES: readonly ArticleSpec[] = [
  // The test article's id: its results are replicable, so its disputes take evidence.
  articleWithDefaults(TEST_HASH_ARTICLE, { priceSatsMax: 1_000 }),
  articleWithDefaults('snafu', {
    feeNumerator: 7,
    feeDenominator: 1_000,
    priceSatsMin: 10,
    priceSatsMax: 500,
    bidLifetimeMs: 30_000,
  }),
];
const ARTICLE_IDS = [...ARTICLES.map((a) => a.articleId), 'nope'];
const MESSAGES = [...Object.keys(TX_MESSAGE_FIELDS), 'bogus'];
/** What a party following the protocol may send next, per phase (a daemon's choices). */
const NEXT_MESSAGES: Readonly<Record<string, readonly TxMessageType[]>> = {
  ESTABLISHING: ['workhash', 'workerurl'],
  BUYER_ESTABLISHED: ['workerurl', 'workerurl', 'buyersecret'],
  SELLER_ESTABLISHED: ['workhash', 'workhash', 'workhash', 'rejectwork'],
  TRANSMITTING: ['buyersecret', 'buyersecret', 'buyersecret', 'rejectwork'],
  WORKING: ['encresult', 'encresult', 'encresult', 'rejectwork'],
  UNVERIFIED: ['acceptresult', 'acceptresult', 'rejectresult'],
};
/** Time jumps that reach every deadline: bid lifetimes, tx phases, the dispute window. */
const JUMPS_MS = [1, 1_000, 29_999, 30_000, 60_000, 120_000, 300_000, 900_000, 8 * 24 * 3_600_000];

export type Intent =
  | { kind: 'credit'; who: number; amountSats: number }
  /** `avoid`: a bit mask over PARTICIPANTS, the sellers a BUY avoids (on a SELL: refused). */
  | { kind: 'bid'; who: number; side: number; article: number; priceSats: number; avoid: number }
  | { kind: 'withdraw'; who: number; pick: number }
  | { kind: 'tx'; pick: number; follow: boolean; message: number; sender: number; variant: number }
  | { kind: 'resolve'; pick: number; sellerSats: number }
  /** The picked transaction's buyer (or, for `who` ≥ 8, its seller) submits two picked witnesses. */
  | { kind: 'evidence'; pick: number; witnesses: [number, number]; who: number }
  | { kind: 'advance'; jump: number }
  | { kind: 'depositAddress'; who: number }
  /** Pays the newest address of `who` (an unknown one when it has none); `again` re-sees an old outpoint. */
  | { kind: 'deposit'; who: number; amountSats: number; again: boolean; pick: number }
  /** end: 0 confirmed, 1 dropped, 2 moved, 3 reversed, 4 final. */
  | { kind: 'depositEnd'; pick: number; end: number }
  /** A withdrawal request; `again` repeats an earlier key (the same body or, with `other`, another). */
  | { kind: 'payout'; who: number; amountSats: number; again: boolean; other: boolean; pick: number }
  /** A step of a (mostly live) withdrawal: STEPS[step]. */
  | { kind: 'payoutEnd'; pick: number; step: number }
  | { kind: 'withdrawalPolicy'; daily: number; manual: number; delay: number }
  | { kind: 'freeze'; who: number; freeze: boolean };

export type TimedIntent = Intent & { stepMs: number };

/** The driver's way forward from each state (a choice of two where there are two). */
const ONWARD: Partial<Record<string, readonly [string, string]>> = {
  requested: ['APPROVE', 'APPROVE'],
  approved: ['BATCH', 'FAIL'],
  batched: ['SIGN', 'SIGN'],
  signed: ['BROADCAST', 'BROADCAST'],
  broadcast: ['CONFIRM', 'CONFLICT'],
  confirmed: ['COMPLETE', 'REORG'],
  conflicted: ['FAIL', 'FAIL'],
  failed: ['REFUND', 'REFUND'],
};

const WITHDRAWAL_STEPS: readonly WithdrawalEvent[] = [
  { type: 'APPROVE', by: 'processor', nowMs: 0 }, // the command's time is filled in
  { type: 'BATCH', batchId: 'batch-1' },
  { type: 'SIGN', txid: 'ef'.repeat(32) },
  { type: 'BROADCAST' },
  { type: 'CONFIRM', txid: 'ef'.repeat(32), block: { height: 9, hash: '9a'.repeat(32) } },
  { type: 'REORG' },
  { type: 'COMPLETE' },
  { type: 'CONFLICT' },
  { type: 'FAIL', reason: 'test' },
  { type: 'REFUND' },
];

const who = fc.nat(PARTICIPANTS.length - 1);
const pick = fc.nat(1_000);

/** Weighted so that most steps trade and drive transactions, with money and time around them. */
export const intentArbitrary: fc.Arbitrary<TimedIntent> = fc
  .tuple(
    fc.oneof(
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('credit' as const), who, amountSats: fc.nat(3_000) }) },
      {
        weight: 10,
        arbitrary: fc.record({
          kind: fc.constant('bid' as const),
          who,
          side: fc.nat(9),
          article: fc.nat(9),
          // Mostly near one price, so that bids cross often; sometimes anywhere, even invalid.
          priceSats: fc.oneof(
            { weight: 4, arbitrary: fc.integer({ min: 90, max: 120 }) },
            { weight: 1, arbitrary: fc.integer({ min: -2, max: 1_100 }) },
          ),
          avoid: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(15) }),
        }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('withdraw' as const), who, pick }) },
      {
        weight: 14,
        arbitrary: fc.record({
          kind: fc.constant('tx' as const),
          pick,
          follow: fc.nat(9).map((n) => n < 7),
          message: fc.nat(MESSAGES.length - 1),
          sender: fc.nat(9),
          variant: fc.nat(9),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('resolve' as const), pick, sellerSats: fc.integer({ min: -1, max: 1_100 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('evidence' as const), pick, witnesses: fc.tuple(pick, pick), who: fc.nat(9) }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), jump: fc.nat(JUMPS_MS.length - 1) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('depositAddress' as const), who }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('deposit' as const), who, amountSats: fc.nat(3_000), again: fc.nat(4).map((n) => n === 0), pick }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('depositEnd' as const), pick, end: fc.nat(4) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('payout' as const), who, amountSats: fc.nat(3_000), again: fc.nat(4).map((n) => n === 0), other: fc.boolean(), pick }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('payoutEnd' as const), pick, step: fc.nat(WITHDRAWAL_STEPS.length - 1) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('withdrawalPolicy' as const), daily: fc.nat(20), manual: fc.nat(10), delay: fc.nat(30) }) },
      {
        weight: 1,
        arbitrary: fc.record({ kind: fc.constant('freeze' as const), who, freeze: fc.nat(2).map((n) => n === 0) }),
      },
    ),
    fc.nat(1_000),
  )
  .map(([intent, stepMs]) => ({ ...intent, stepMs }));

/** The same distribution from a seeded PRNG, for long runs without fast-check's overhead. */
export function randomIntent(prng: Prng): TimedIntent {
  const stepMs = prng.nextInt(1_001);
  const roll = prng.nextInt(39);
  const n = (bound: number) => prng.nextInt(bound);
  if (roll < 3) return { kind: 'credit', who: n(4), amountSats: n(3_001), stepMs };
  if (roll < 13) {
    const priceSats = n(5) < 4 ? 90 + n(31) : n(1_103) - 2;
    return { kind: 'bid', who: n(4), side: n(10), article: n(10), priceSats, avoid: n(5) === 0 ? n(16) : 0, stepMs };
  }
  if (roll < 15) return { kind: 'withdraw', who: n(4), pick: n(1_001), stepMs };
  if (roll < 29) {
    return { kind: 'tx', pick: n(1_001), follow: n(10) < 7, message: n(MESSAGES.length), sender: n(10), variant: n(10), stepMs };
  }
  if (roll < 30) return { kind: 'resolve', pick: n(1_001), sellerSats: n(1_102) - 1, stepMs };
  if (roll < 33) return { kind: 'advance', jump: n(JUMPS_MS.length), stepMs };
  if (roll < 34) return n(3) === 0 ? { kind: 'depositAddress', who: n(4), stepMs } : { kind: 'deposit', who: n(4), amountSats: n(3_001), again: n(5) === 0, pick: n(1_001), stepMs };
  if (roll < 35) return { kind: 'depositEnd', pick: n(1_001), end: n(5), stepMs };
  if (roll < 36) return { kind: 'payout', who: n(4), amountSats: n(3_001), again: n(5) === 0, other: n(2) === 0, pick: n(1_001), stepMs };
  if (roll < 37) return n(8) === 0 ? { kind: 'withdrawalPolicy', daily: n(21), manual: n(11), delay: n(31), stepMs } : { kind: 'payoutEnd', pick: n(1_001), step: n(WITHDRAWAL_STEPS.length), stepMs };
  if (roll < 38) return { kind: 'evidence', pick: n(1_001), witnesses: [n(1_001), n(1_001)], who: n(10), stepMs };
  return { kind: 'freeze', who: n(4), freeze: n(3) === 0, stepMs };
}

interface TxParties {
  readonly buyer: Participant;
  readonly seller: Participant;
}

export interface DriverOptions {
  readonly stepper?: StepperKind;
  /** Compare with the reference model every this many steps (default 1; 0 never). */
  readonly compareEvery?: number;
  /** Called with every command and the core's result (to mirror commands into another core). */
  readonly onCommand?: (command: MarketCommand, result: CommandResult) => void;
}

export class Driver {
  readonly core: MarketCore;
  readonly model: ReferenceMarket;
  readonly auditor: Auditor;
  private nowMs = 1_700_000_000_000;
  private readonly compareEvery: number;
  private readonly onCommand: DriverOptions['onCommand'];
  private readonly bidIds: string[] = [];
  private readonly txParties = new Map<string, TxParties>();
  private readonly txIds: string[] = [];
  private readonly depositIds: string[] = [];
  private readonly payoutKeys: { who: number; key: string; amountSats: number }[] = [];
  private readonly receipts = new Map<string, string>();
  steps = 0;

  constructor(options: DriverOptions = {}) {
    const config = { startMs: this.nowMs, articles: ARTICLES, openBidsPerArticleMax: 3 };
    this.core = new MarketCore({ verifyReceipt, stepper: options.stepper ?? 'compiled' }, config);
    this.model = new ReferenceMarket(verifyReceiptIndependently, config);
    this.auditor = new Auditor(new Map(ARTICLES.map((a) => [a.articleId, a])), verifyReceiptIndependently);
    this.compareEvery = options.compareEvery ?? 1;
    this.onCommand = options.onCommand;
    // Three start with some money, so that short sequences trade too; dave starts with none, so
    // that bids beyond the funds (the negative-balance path) stay common.
    for (let who = 0; who < PARTICIPANTS.length - 1; who++) this.run({ kind: 'credit', who, amountSats: 1_000, stepMs: 0 });
  }

  /** Runs one intent; throws on any disagreement or broken invariant. */
  run(intent: TimedIntent): CommandResult {
    this.nowMs += intent.stepMs;
    const command = this.commandFor(intent);
    const result = this.core.execute(command);
    this.steps += 1;
    this.remember(result);
    this.core.checkInvariants();
    const state = this.core.exportState();
    this.auditor.observe(command, result, state);
    this.onCommand?.(command, result);
    if (this.compareEvery > 0) this.compareWithModel(command, result, this.steps % this.compareEvery === 0);
    return result;
  }

  /** The verdict is compared at every step, the state hash when `compareState`. */
  private compareWithModel(command: MarketCommand, result: CommandResult, compareState: boolean): void {
    const expected = this.model.execute(command);
    const verdict = (r: { status: string; rejection?: string }) => (r.status === 'accepted' ? 'accepted' : r.rejection);
    if (verdict(expected) !== verdict(result)) {
      throw new Error(`step ${this.steps} ${JSON.stringify(command)}: core ${verdict(result)}, model ${verdict(expected)}`);
    }
    if (!compareState) return;
    const coreHash = this.core.stateHash();
    if (coreHash !== this.model.stateHash()) {
      const core = JSON.stringify(this.core.exportState());
      const model = JSON.stringify(this.model.exportState());
      throw new Error(`step ${this.steps} ${JSON.stringify(command)}: states differ\ncore  ${core}\nmodel ${model}`);
    }
  }

  private remember(result: CommandResult): void {
    for (const event of result.events) {
      if (event.type === 'bidAccepted') this.bidIds.push(event.bidId);
      if (event.type === 'trade') {
        this.txIds.push(event.txId);
        const byAddress = (address: string) => PARTICIPANTS.find((p) => p.address === address)!;
        this.txParties.set(event.txId, { buyer: byAddress(event.buyer), seller: byAddress(event.seller) });
      }
    }
  }

  private commandFor(intent: TimedIntent): MarketCommand {
    const nowMs = this.nowMs;
    const address = (index: number) => PARTICIPANTS[index]!.address;
    switch (intent.kind) {
      case 'credit':
        // Never dave (index 3): he gets money only through deposits, and often bids beyond it.
        return { type: 'credit', nowMs, participant: address(intent.who % 3), amountSats: intent.amountSats };
      case 'bid': {
        const side = intent.side < 5 ? 'BUY' : intent.side < 9 ? 'SELL' : ('HOLD' as 'BUY');
        const article = ARTICLE_IDS[intent.article < 5 ? 0 : intent.article < 9 ? 1 : 2]!;
        const avoid = PARTICIPANTS.filter((_, index) => (intent.avoid & (1 << index)) !== 0).map((p) => p.address);
        return { type: 'placeBid', nowMs, participant: address(intent.who), side, article, priceSats: intent.priceSats, ...(avoid.length === 0 ? {} : { avoid }) };
      }
      case 'withdraw': {
        const bidId = this.bidIds[intent.pick % (this.bidIds.length + 1)] ?? 'b99999';
        return { type: 'withdrawBid', nowMs, participant: address(intent.who), bidId };
      }
      case 'tx':
        return this.txCommand(intent, nowMs);
      case 'resolve':
        return { type: 'resolveDispute', nowMs, txId: this.pickTx(intent.pick), sellerSats: intent.sellerSats };
      case 'evidence': {
        // Mostly a live dispute, with its buyer's other results as witnesses (as a daemon would
        // name them); sometimes any transactions (to reach the refusals).
        const disputes = this.core.disputes();
        const aimed = intent.who < 7 && disputes.length > 0;
        const txId = aimed ? disputes[intent.pick % disputes.length]!.txId : this.pickTx(intent.pick);
        const parties = this.txParties.get(txId) ?? { buyer: PARTICIPANTS[0]!, seller: PARTICIPANTS[1]! };
        const who = intent.who < 8 ? parties.buyer : parties.seller;
        const candidates = this.core.participantView(parties.buyer.address).transactions.filter((tx) => tx.txId !== txId && (tx.phase === 'UNVERIFIED' || tx.phase === 'RESULT_DISPUTED'));
        const witnesses = aimed && candidates.length >= 2
          ? intent.witnesses.map((pick, index) => candidates[(pick + index) % candidates.length]!.txId)
          : intent.witnesses.map((pick) => this.pickTx(pick));
        return { type: 'submitEvidence', nowMs, participant: who.address, txId, witnesses };
      }
      case 'advance':
        this.nowMs += JUMPS_MS[intent.jump]!;
        return { type: 'advanceTime', nowMs: this.nowMs };
      default:
        return this.moneyCommand(intent, nowMs);
    }
  }

  private moneyCommand(intent: TimedIntent, nowMs: number): MarketCommand {
    const address = (index: number) => PARTICIPANTS[index]!.address;
    const pickId = (ids: string[], index: number) => ids[index % (ids.length + 1)] ?? 'unknown-id';
    switch (intent.kind) {
      case 'depositAddress': {
        // The address a server would derive for the next index (any unique text does for the core).
        const index = this.core.funds.nextDepositIndex();
        return { type: 'requestDepositAddress', nowMs, participant: address(intent.who), index, address: `bcrt1qdeposit${index}` };
      }
      case 'deposit': {
        const reserved = this.core.exportState().depositAddresses.filter((a) => a.participant === address(intent.who));
        const paid = reserved.at(-1)?.address ?? 'bcrt1qnobodys';
        const again = intent.again && this.depositIds.length > 0;
        const depositId = again ? pickId(this.depositIds, intent.pick) : `${'d'.repeat(63)}${this.depositIds.length % 10}:${this.depositIds.length}`;
        if (!again) this.depositIds.push(depositId);
        return { type: 'depositSeen', nowMs, depositId, address: paid, amountSats: intent.amountSats };
      }
      case 'depositEnd': {
        // Mostly a live deposit (so that credits, reversals and finals are common), sometimes any id.
        const live = this.core.exportState().deposits.map((deposit) => deposit.id);
        const depositId = intent.pick % 4 !== 0 && live.length > 0 ? live[intent.pick % live.length]! : pickId(this.depositIds, intent.pick);
        const block = { height: this.steps, hash: (this.steps % 16).toString(16).repeat(64) };
        const ends = [
          { type: 'depositConfirmed' as const, nowMs, depositId, block },
          { type: 'depositDropped' as const, nowMs, depositId },
          { type: 'depositMoved' as const, nowMs, depositId, block },
          { type: 'depositReversed' as const, nowMs, depositId },
          { type: 'depositFinal' as const, nowMs, depositId },
        ];
        return ends[intent.end % ends.length]!;
      }
      case 'payout': {
        const earlier = intent.again && this.payoutKeys.length > 0 ? this.payoutKeys[intent.pick % this.payoutKeys.length]! : undefined;
        if (earlier !== undefined) {
          const amountSats = intent.other ? earlier.amountSats + 1 : earlier.amountSats;
          return { type: 'requestWithdrawal', nowMs, participant: address(earlier.who), key: earlier.key, destination: 'bcrt1qdestination', amountSats };
        }
        const key = `pay-${this.payoutKeys.length}`;
        this.payoutKeys.push({ who: intent.who, key, amountSats: intent.amountSats });
        return { type: 'requestWithdrawal', nowMs, participant: address(intent.who), key, destination: 'bcrt1qdestination', amountSats: intent.amountSats };
      }
      case 'payoutEnd': {
        const live = this.core.exportState().withdrawals;
        const picked = live.length > 0 && intent.pick % 5 !== 0 ? live[intent.pick % live.length]! : undefined;
        // Half the steps move the withdrawal on (so that the late states are reached), half are any step.
        const onward = picked === undefined || intent.step % 2 === 1 ? undefined : ONWARD[picked.state]?.[intent.pick % 2];
        const chosen = WITHDRAWAL_STEPS.find((candidate) => candidate.type === onward) ?? WITHDRAWAL_STEPS[intent.step % WITHDRAWAL_STEPS.length]!;
        const step: WithdrawalEvent = chosen.type === 'APPROVE' ? { type: 'APPROVE', by: intent.pick % 3 === 0 ? 'admin' : 'processor', nowMs } : chosen;
        return { type: 'withdrawalStep', nowMs, withdrawalId: picked?.withdrawalId ?? `w${intent.pick}`, step };
      }
      case 'withdrawalPolicy': {
        // Small limits and delays, so that they bite; sometimes an invalid one.
        const policy = { dailyLimitSats: intent.daily * 500, manualAboveSats: intent.manual * 400, newDestinationDelayMs: intent.delay * 60_000 - (intent.daily === 0 ? 1 : 0) };
        return { type: 'setWithdrawalPolicy', nowMs, policy };
      }
      case 'freeze': {
        // Unfreeze a frozen account when there is one, so that accounts are not frozen for long.
        const frozen = this.core.exportState().accounts.find((account) => account.frozen)?.address;
        const participant = intent.freeze ? address(intent.who) : frozen ?? address(intent.who);
        return { type: intent.freeze ? 'freezeAccount' : 'unfreezeAccount', nowMs, participant };
      }
      default:
        throw new Error(`unexpected intent ${intent.kind}`);
    }
  }

  /** Live transactions most of the time, sometimes a retired or unknown one. */
  private pickTx(index: number): string {
    const live = this.core.exportState().transactions;
    if (index % 4 !== 0 && live.length > 0) return live[index % live.length]!.txId;
    return this.txIds[index % (this.txIds.length + 1)] ?? 't99999';
  }

  private txCommand(intent: Extract<TimedIntent, { kind: 'tx' }>, nowMs: number): MarketCommand {
    const txId = this.pickTx(intent.pick);
    const parties = this.txParties.get(txId) ?? { buyer: PARTICIPANTS[0]!, seller: PARTICIPANTS[1]! };
    const stranger = PARTICIPANTS.find((p) => p !== parties.buyer && p !== parties.seller)!;
    const phase = this.core.transaction(txId)?.phase;
    const next = intent.follow && phase !== undefined ? NEXT_MESSAGES[phase] ?? [] : [];
    const message = (next.length > 0 ? next[intent.message % next.length] : MESSAGES[intent.message]) as TxMessageType;
    const declared = TX_MESSAGE_FIELDS[message]?.sender ?? 'buyer';
    // Mostly the right sender; sometimes the other party or a stranger.
    const sender =
      intent.sender < 7
        ? declared === 'buyer' ? parties.buyer : parties.seller
        : intent.sender < 9
          ? declared === 'buyer' ? parties.seller : parties.buyer
          : stranger;
    const variant = intent.variant < 7 ? 'valid' : intent.variant < 9 ? 'wrong' : 'malformed';
    const fields = this.fieldsFor(message, txId, parties, variant);
    return { type: 'txMessage', nowMs, participant: sender.address, txId, message, fields };
  }

  /** Valid fields are derived from the tx id, so both parties "agree" without shared state. */
  private fieldsFor(message: string, txId: string, parties: TxParties, variant: string): Record<string, string> {
    // Two works in all, so that a buyer's transactions often share one (evidence compares them);
    // every third seller commits to a wrong result.
    const seq = Number(txId.slice(1));
    const workHash = sha256Hex(`work ${seq % 2}`);
    const secret = sha256Hex(`secret ${txId}`);
    const resultHash = sha256Hex(`result ${txId}`);
    let fields: Record<string, string>;
    switch (message) {
      case 'workhash':
        fields = { workhash: workHash, worksecrethash: workSecretHashOf(workHash, secret) };
        break;
      case 'workerurl':
        fields = { workerurl: `https://${parties.seller.name}.example/work/${txId}` };
        break;
      case 'buyersecret':
        fields = { buyersecret: variant === 'wrong' ? sha256Hex(`guess ${txId}`) : secret };
        break;
      case 'encresult': {
        const signer = variant === 'wrong' ? parties.seller : parties.buyer;
        fields = { encresulthash: resultHash, encresulthashsig: this.receipt(resultHash, signer), encresultkey: sha256Hex(`key ${txId}`), resulthash: seq % 3 === 0 ? sha256Hex(`wrong ${txId}`) : sha256Hex(`right ${seq % 2}`) };
        break;
      }
      case 'rejectwork':
      case 'rejectresult':
        fields = { reason: 'the render came back black' };
        break;
      default:
        fields = {};
    }
    if (variant === 'malformed') fields = { ...fields, extra: 'field' };
    return fields;
  }

  private receipt(hash: string, signer: Participant): string {
    const key = `${hash} ${signer.name}`;
    let signature = this.receipts.get(key);
    if (signature === undefined) {
      signature = signText(hash, signer);
      this.receipts.set(key, signature);
    }
    return signature;
  }
}

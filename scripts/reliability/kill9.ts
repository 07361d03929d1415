// kill9: acknowledged commands survive SIGKILL exactly once. A load generator sends signed
// credits (admin, to fresh addresses) and signed bids (credited participants), pipelined, as fast
// as the identities' rate allows, and logs every command answered with success, keyed by
// (address, nonce), with its exact body. At a seeded moment the exchange is SIGKILLed and
// restarted on the same data directory; commands whose outcome is unknown are resent
// byte-identical, as a client would (success or 2006 nonce_reused both mean "applied"). After the
// last kill point: a clean stop, then offline checks of the journal (hash chain; every applied
// (address, nonce) exactly once, none twice) and of the balances of the credited addresses.
import { join } from 'node:path';
import type { Identity } from '../../src/crypto/keys.js';
import type { Prng } from '../../src/random.js';
import { freshHome, type ScenarioContext } from './context.js';
import { startExchangeProcess, type ExchangeProcess } from './exchange-process.js';
import { auditJournal } from './journal-audit.js';
import { RawSocket, type Outcome } from './raw-socket.js';
import { Report, type ScenarioResult } from './report.js';
import { Nonces, nonceKey, seededAddress, seededIdentity, signedBid, signedCredit, type SignedCommand } from './signing.js';
import { percentile, round, Tally } from './stats.js';
import { nowMs, sleep } from './timing.js';

export interface Kill9Size {
  readonly killPoints: number;
  readonly participants: number;
  readonly connections: number;
}

export const KILL9_FULL: Kill9Size = { killPoints: 100, participants: 24, connections: 4 };
export const KILL9_QUICK: Kill9Size = { killPoints: 10, participants: 24, connections: 4 };

/** Commands per second each identity sends: under the exchange's 200/s per identity. */
const IDENTITY_RATE_PER_SECOND = 180;
/** Tokens an idle identity may save up: well under the exchange's burst of 400. */
const IDENTITY_BURST = 40;
/** Commands in flight at once: above the exchange's limit of 1,024, so some are refused
 * server_busy (no effect) and sent again, as a client would (the exchange reads that connection
 * again only after retryAfterMs). */
const WINDOW = 1500;
const PARTICIPANT_CREDIT_SATS = 10_000_000_000;

type State = 'queued' | 'inflight' | 'acked' | 'reused' | 'rejected' | 'unknown';

interface Tracked {
  readonly command: SignedCommand;
  readonly signer: number;
  /** A credit to a fresh address: its balance must be exactly this afterwards. */
  readonly freshCredit?: { readonly participant: string; readonly amountSats: number };
  state: State;
  /** The outcome of an earlier send was unknown (the exchange died first). */
  everUnknown: boolean;
  /** A 1007 or 9002 answer: refused without effect, so it is sent again. */
  refusedBefore: boolean;
}

interface Signer {
  readonly identity: Identity;
  readonly queue: Tracked[];
  tokens: number;
  sent: number;
}

/** The load generator: one tracked command per (address, nonce), kept across restarts. */
class Generator {
  readonly tracked: Tracked[] = [];
  readonly acked = new Map<string, Tracked>();
  readonly rejections = new Tally();
  readonly retried = new Tally();
  /** 2006 answered to a command never sent before with an unknown outcome: a nonce used by a refusal. */
  reusedOnFirstSend = 0;
  resent = 0;
  resentAcked = 0;
  resentApplied = 0;
  unexpectedCloses = 0;
  /** Per restart: ms from the sockets being connected to the first success answer (none: NaN). */
  readonly firstAckMs: number[] = [];
  private attachedMs = Number.NaN;
  private firstAckSeen = true;
  private readonly signers: Signer[];
  /** Commands whose answer the last kill cut off, in the order they were sent. */
  private readonly unknown: Tracked[] = [];
  private sockets: RawSocket[] = [];
  private inflight = 0;
  private pumping = false;
  private killing = false;
  private generateFresh = true;
  private refilledMs = nowMs();

  constructor(
    admin: Identity,
    participants: readonly Identity[],
    private readonly prng: Prng,
    private readonly nonces: Nonces,
  ) {
    this.signers = [admin, ...participants].map((identity) => ({ identity, queue: [], tokens: 0, sent: 0 }));
  }

  get outstanding(): number {
    return this.inflight + this.signers.reduce((sum, signer) => sum + signer.queue.length, 0);
  }

  async attach(wsUrl: string, connections: number): Promise<void> {
    this.killing = false;
    this.sockets = await Promise.all(Array.from({ length: connections }, () => RawSocket.connect(wsUrl)));
    if (!this.firstAckSeen) this.firstAckMs.push(Number.NaN);
    this.attachedMs = nowMs();
    this.firstAckSeen = false;
    for (const socket of this.sockets) {
      void socket.closed.then(() => {
        if (!this.killing) this.unexpectedCloses += 1;
      });
    }
    // Commands whose outcome became unknown go out first, in their order, byte-identical, as a
    // client resends.
    const unknown = this.unknown.splice(0).filter((tracked) => tracked.state === 'unknown');
    for (const signer of this.signers) signer.queue.unshift(...unknown.filter((tracked) => this.signers[tracked.signer] === signer));
    for (const tracked of unknown) tracked.state = 'queued';
    this.resent += unknown.length;
  }

  /** Queues credits of the participants and resolves when each is answered. */
  async creditParticipants(): Promise<void> {
    const admin = this.signers[0]!;
    for (const signer of this.signers.slice(1)) {
      const command = signedCredit(admin.identity, this.nonces.next(), signer.identity.address, PARTICIPANT_CREDIT_SATS);
      admin.queue.push(this.track(command, 0));
    }
    this.generateFresh = false;
    this.start();
    while (admin.queue.length > 0 || this.inflight > 0) await sleep(10);
    this.generateFresh = true;
  }

  start(): void {
    if (this.pumping) return;
    this.pumping = true;
    this.refilledMs = nowMs();
    void this.pump();
  }

  stop(): void {
    this.pumping = false;
  }

  /** From now on only queued and unknown commands are sent (the final drain). */
  drainOnly(): void {
    this.generateFresh = false;
  }

  /** The exchange is about to be killed or stopped: the closes that follow are expected. */
  expectKill(): void {
    this.killing = true;
  }

  /** Waits until every socket has closed after the kill, then stops sending. */
  async killed(): Promise<void> {
    await Promise.all(this.sockets.map((socket) => socket.closed));
    this.stop();
  }

  private async pump(): Promise<void> {
    while (this.pumping) {
      this.refill();
      for (let index = 0; index < this.signers.length; index++) this.sendFrom(index);
      await sleep(2);
    }
  }

  private refill(): void {
    const now = nowMs();
    const earned = ((now - this.refilledMs) * IDENTITY_RATE_PER_SECOND) / 1000;
    this.refilledMs = now;
    for (const signer of this.signers) signer.tokens = Math.min(IDENTITY_BURST, signer.tokens + earned);
  }

  private sendFrom(index: number): void {
    const signer = this.signers[index]!;
    const socket = this.sockets[index % this.sockets.length];
    while (signer.tokens >= 1 && this.inflight < WINDOW && socket !== undefined && socket.isOpen) {
      const tracked = signer.queue.shift() ?? (this.generateFresh ? this.fresh(index) : undefined);
      if (tracked === undefined) return;
      signer.tokens -= 1;
      signer.sent += 1;
      tracked.state = 'inflight';
      this.inflight += 1;
      void socket.requestRaw(tracked.command.type, tracked.command.body).then((outcome) => this.settle(tracked, outcome));
    }
  }

  private fresh(index: number): Tracked {
    const signer = this.signers[index]!;
    if (index === 0) {
      const participant = seededAddress(this.prng);
      const amountSats = 1000 + this.prng.nextInt(1_000_000);
      return this.track(signedCredit(signer.identity, this.nonces.next(), participant, amountSats), 0, { participant, amountSats });
    }
    // Sells at 100-150 and buys at 150-200 always cross, so the book stays shallow and every
    // participant stays far below its 1,000 open bids.
    const side = signer.sent % 2 === 0 ? 'sell' : 'buy';
    const price = side === 'sell' ? 100 + this.prng.nextInt(51) : 150 + this.prng.nextInt(51);
    return this.track(signedBid(signer.identity, this.nonces.next(), side, price), index);
  }

  private track(command: SignedCommand, signer: number, freshCredit?: Tracked['freshCredit']): Tracked {
    const tracked: Tracked = { command, signer, state: 'queued', everUnknown: false, refusedBefore: false, ...(freshCredit === undefined ? {} : { freshCredit }) };
    this.tracked.push(tracked);
    return tracked;
  }

  private settle(tracked: Tracked, outcome: Outcome): void {
    this.inflight -= 1;
    if (outcome.kind === 'closed') {
      tracked.state = 'unknown';
      tracked.everUnknown = true;
      if (this.killing) this.unknown.push(tracked);
      else this.requeue(tracked); // a drop without a kill: resend on another socket
      return;
    }
    if (outcome.kind === 'response') {
      if (!this.firstAckSeen) {
        this.firstAckSeen = true;
        this.firstAckMs.push(nowMs() - this.attachedMs);
      }
      tracked.state = 'acked';
      this.acked.set(nonceKey(tracked.command.address, tracked.command.nonce), tracked);
      if (tracked.everUnknown) this.resentAcked += 1;
      return;
    }
    if (outcome.code === 2006 && tracked.everUnknown) {
      tracked.state = 'reused';
      this.resentApplied += 1;
      return;
    }
    if (outcome.code === 2006) this.reusedOnFirstSend += 1;
    if (outcome.code === 1007 || outcome.code === 9002) {
      this.retried.add(outcome.code);
      tracked.refusedBefore = true;
      return this.requeue(tracked);
    }
    tracked.state = 'rejected';
    this.rejections.add(outcome.code);
  }

  private requeue(tracked: Tracked): void {
    tracked.state = 'queued';
    this.signers[tracked.signer]!.queue.unshift(tracked);
  }
}

export async function runKill9(context: ScenarioContext, size: Kill9Size): Promise<ScenarioResult> {
  const report = new Report('kill9');
  const prng = context.prng;
  const home = freshHome('kill9');
  const dataDir = join(home, 'exchange');
  let exchange = await startExchangeProcess({ home, dataDir });
  const participants = Array.from({ length: size.participants }, () => seededIdentity(prng));
  const generator = new Generator(exchange.admin, participants, prng.fork(), new Nonces(prng.fork()));
  const restartMs: number[] = [];
  let crashes = 0;
  await generator.attach(exchange.wsUrl, size.connections);
  await generator.creditParticipants();
  for (let point = 0; point < size.killPoints; point++) {
    generator.start();
    const delayMs = 50 + prng.nextInt(1451);
    const exitedEarly = await Promise.race([exchange.exited.then(() => true), sleep(delayMs).then(() => false)]);
    if (exitedEarly) {
      crashes += 1;
      report.note(`the exchange exited on its own before kill point ${point}: ${exchange.output.slice(-5).join(' | ')}`);
    }
    generator.expectKill();
    await exchange.kill();
    await generator.killed();
    exchange = await startExchangeProcess({ home, dataDir });
    restartMs.push(exchange.startMs);
    await generator.attach(exchange.wsUrl, size.connections);
    context.log(`kill9: point ${point + 1}/${size.killPoints} after ${delayMs} ms, ${generator.acked.size} acknowledged, restart ${Math.round(exchange.startMs)} ms`);
  }
  const balances = await drainAndCheckBalances(generator, exchange);
  generator.expectKill(); // the clean stop closes the generator's sockets too
  const exitCode = await exchange.stop();
  if (exitCode !== 0) crashes += 1;
  const audit = await auditJournal(dataDir);
  return fillKill9Report(report, { size, generator, restartMs, crashes, exitCode, balances, audit }).result();
}

/** Resends what is still unknown or refused until every command has an outcome, then checks balances. */
async function drainAndCheckBalances(generator: Generator, exchange: ExchangeProcess): Promise<{ checked: number; mismatches: string[] }> {
  generator.drainOnly();
  generator.start();
  const deadline = nowMs() + 60_000;
  while (generator.outstanding > 0 && nowMs() < deadline) await sleep(20);
  generator.stop();
  const socket = await RawSocket.connect(exchange.wsUrl);
  const credits = generator.tracked.filter((tracked) => tracked.freshCredit !== undefined && (tracked.state === 'acked' || tracked.state === 'reused'));
  const mismatches: string[] = [];
  for (let start = 0; start < credits.length; start += 500) {
    const batch = credits.slice(start, start + 500);
    const answers = await Promise.all(batch.map((tracked) => socket.request('account', { address: tracked.freshCredit!.participant })));
    answers.forEach((answer, index) => {
      const credit = batch[index]!.freshCredit!;
      const available = answer.kind === 'response' ? (answer.body as { availableSats?: unknown }).availableSats : `${answer.kind} ${answer.kind === 'error' ? answer.code : ''}`;
      if (available !== credit.amountSats) mismatches.push(`${credit.participant}: credited ${credit.amountSats}, account says ${String(available)}`);
    });
    await sleep(300); // 500 queries per 300 ms: under the connection's 2,000 per second (§7)
  }
  socket.close();
  return { checked: credits.length, mismatches };
}

interface Kill9Outcome {
  readonly size: Kill9Size;
  readonly generator: Generator;
  readonly restartMs: readonly number[];
  readonly crashes: number;
  readonly exitCode: number | null;
  readonly balances: { checked: number; mismatches: string[] };
  readonly audit: Awaited<ReturnType<typeof auditJournal>>;
}

function fillKill9Report(report: Report, outcome: Kill9Outcome): Report {
  const { generator, audit } = outcome;
  const applied = generator.tracked.filter((tracked) => tracked.state === 'acked' || tracked.state === 'reused');
  const lost = applied.filter((tracked) => (audit.nonceCounts.get(nonceKey(tracked.command.address, tracked.command.nonce)) ?? 0) === 0);
  const duplicated = applied.filter((tracked) => (audit.nonceCounts.get(nonceKey(tracked.command.address, tracked.command.nonce)) ?? 0) > 1);
  const unresolved = generator.tracked.filter((tracked) => tracked.state === 'unknown' || tracked.state === 'queued' || tracked.state === 'inflight').length;
  const twice = [...audit.nonceCounts.values()].filter((count) => count > 1).length;
  for (const tracked of [...lost, ...duplicated].slice(0, 5)) {
    report.note(`${tracked.state} ${tracked.command.type} ${nonceKey(tracked.command.address, tracked.command.nonce)} body ${Buffer.from(tracked.command.body).toString('hex')}`);
  }
  for (const mismatch of outcome.balances.mismatches.slice(0, 5)) report.note(`balance: ${mismatch}`);
  if (!audit.chainValid) report.note(`journal chain: ${audit.chainProblem}`);
  report
    .set('killPoints', outcome.size.killPoints)
    .set('commandsSent', generator.tracked.length)
    .set('acknowledged', generator.acked.size)
    .set('resent', generator.resent)
    .set('resentAcked', generator.resentAcked)
    .set('resentNonceReused', generator.resentApplied)
    .expect('unresolved', unresolved, '0', unresolved === 0)
    .expect('lost', lost.length, '0', lost.length === 0)
    .expect('duplicated', duplicated.length, '0', duplicated.length === 0)
    .expect('noncesTwiceInJournal', twice, '0', twice === 0)
    .expect('nonceReusedOnFirstSend', generator.reusedOnFirstSend, '0', generator.reusedOnFirstSend === 0)
    .set('rejected', generator.rejections.toString())
    .set('retried', generator.retried.toString())
    .set('unexpectedCloses', generator.unexpectedCloses)
    .set('restartP50Ms', round(percentile(outcome.restartMs, 0.5), 0))
    .set('restartMaxMs', round(percentile(outcome.restartMs, 1), 0))
    .set('restartFirstMs', round(outcome.restartMs[0] ?? Number.NaN, 0))
    .set('restartLastMs', round(outcome.restartMs[outcome.restartMs.length - 1] ?? Number.NaN, 0))
    // From connecting after a restart to the first success: how long clients wait in all.
    .set('firstAckAfterConnectP50Ms', round(percentile(generator.firstAckMs.filter(Number.isFinite), 0.5), 0))
    .set('firstAckAfterConnectMaxMs', round(percentile(generator.firstAckMs.filter(Number.isFinite), 1), 0))
    .set('restartsWithoutAckBeforeKill', generator.firstAckMs.filter((ms) => !Number.isFinite(ms)).length)
    .set('snapshotsInStore', audit.snapshots)
    .set('journalRecords', audit.records)
    .expect('chainValid', audit.chainValid, 'true', audit.chainValid)
    .set('balancesChecked', outcome.balances.checked)
    .expect('balanceMismatches', outcome.balances.mismatches.length, '0', outcome.balances.mismatches.length === 0)
    .expect('crashes', outcome.crashes, '0', outcome.crashes === 0)
    .expect('finalExitCode', outcome.exitCode ?? 'signal', '0', outcome.exitCode === 0);
  return report;
}

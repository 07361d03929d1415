// fuzz: a million hostile frames change nothing and crash nothing. First a little valid state
// (signed credits, bids placed and withdrawn: nothing left with a deadline, so the journal stays
// still), then bursts of fuzzed frames over several connections, pipelined, reconnecting
// whenever the server closes one (expected for malformed frames). Each frame is also judged
// against docs/protocol.md by an independent oracle (spec-oracle.ts); where the server does
// otherwise (closes when it should answer, answers when it should close, another close code, a
// request left unanswered) the frame is kept as a reproduction. Afterwards: the process is
// alive, the journal sequence and the accounts are as before, a valid query is answered.
import type { Identity } from '../../src/crypto/keys.js';
import { encode } from '../../src/transport/codec.js';
import { freshHome, type ScenarioContext } from './context.js';
import { startExchangeProcess, type ExchangeProcess } from './exchange-process.js';
import { FrameFuzzer, type BaseRequest, type FuzzFrame } from './fuzz-frames.js';
import { health } from './http-probe.js';
import { RawSocket, type Outcome } from './raw-socket.js';
import { Report, type ScenarioResult } from './report.js';
import { RssSampler, rssMiB } from './rss.js';
import { SourceAddresses } from './sources.js';
import { judgeFrame, type Verdict } from './spec-oracle.js';
import { ARTICLE, Nonces, seededIdentity, signedBid, signedCredit, signedWithdraw, type SignedCommand } from './signing.js';
import { round, Tally } from './stats.js';
import { nowMs, sleep, withTimeout } from './timing.js';

export interface FuzzSize {
  readonly frames: number;
  readonly workers: number;
}

export const FUZZ_FULL: FuzzSize = { frames: 1_000_000, workers: 6 };
export const FUZZ_QUICK: FuzzSize = { frames: 50_000, workers: 6 };

/** Frames per second one connection sends: under the exchange's 2,000 per connection. */
const FRAMES_PER_SECOND_PER_CONNECTION = 1500;
/** Frames the oracle expects to close the connection, kept to end later bursts with. */
const FATAL_POOL_MAX = 64;
/** Unexpected closes traced back to the frame that caused them (each costs a few connections). */
const REDUCTIONS_MAX = 12;

interface Judged {
  readonly frame: FuzzFrame;
  readonly verdict: Verdict;
}

interface FuzzState {
  sent: number;
  connections: number;
  connectFailures: number;
  readonly closeCodes: Tally;
  readonly answers: Tally;
  readonly categories: Tally;
  readonly mismatches: Tally;
  /** Signed commands answered with success: a replayed or mutated command changed state. */
  signedAccepted: number;
  reductions: number;
  readonly notes: string[];
}

export async function runFuzz(context: ScenarioContext, size: FuzzSize): Promise<ScenarioResult> {
  const report = new Report('fuzz');
  const exchange = await startExchangeProcess({ home: freshHome('fuzz') });
  try {
    const setup = await makeState(exchange, context);
    const before = await observeState(exchange, setup.participants);
    const rssBefore = rssMiB(exchange.pid);
    const rss = new RssSampler(exchange.pid).start(1000);
    const fuzzer = new FrameFuzzer(context.prng.fork(), setup.signed, setup.queries);
    const state: FuzzState = { sent: 0, connections: 0, connectFailures: 0, closeCodes: new Tally(), answers: new Tally(), categories: new Tally(), mismatches: new Tally(), signedAccepted: 0, reductions: 0, notes: [] };
    const started = nowMs();
    const spreader = new SourceAddresses(3, 16);
    const progress = setInterval(() => context.log(`fuzz: ${state.sent} frames, ${state.connections} connections, RSS ${round(rss.last)} MiB`), 10_000); // tidy-allow: progress of a real run
    try {
      await Promise.all(Array.from({ length: size.workers }, () => fuzzWorker(exchange, fuzzer, spreader, state, size.frames)));
    } finally {
      clearInterval(progress);
    }
    const elapsedSeconds = (nowMs() - started) / 1000;
    rss.stop();
    const alive = exchange.child.exitCode === null && exchange.child.signalCode === null;
    const after = alive ? await observeState(exchange, setup.participants).catch(() => undefined) : undefined;
    for (const note of state.notes) report.note(note);
    report
      .set('framesSent', state.sent)
      .set('connectionsOpened', state.connections)
      .set('connectFailures', state.connectFailures)
      .expect('crashes', alive ? 0 : 1, '0', alive)
      .set('rssBeforeMiB', round(rssBefore))
      .set('rssMaxMiB', round(rss.max))
      .set('rssAfterMiB', round(rssMiB(exchange.pid)))
      .expect('journalSequenceUnchanged', after?.journalSequence === before.journalSequence, 'true', after?.journalSequence === before.journalSequence)
      .expect('accountsUnchanged', after?.accounts === before.accounts, 'true', after?.accounts === before.accounts)
      .expect('queryAnswered', after?.answered === true, 'true', after?.answered === true)
      .expect('signedAccepted', state.signedAccepted, '0', state.signedAccepted === 0)
      .set('specMismatches', state.mismatches.total)
      .set('specMismatchKinds', state.mismatches.toString())
      .set('closeCodes', state.closeCodes.toString())
      .set('answerCodes', state.answers.toString())
      .set('framesPerSecond', Math.round(state.sent / elapsedSeconds))
      .set('elapsedSeconds', round(elapsedSeconds));
  } finally {
    const code = await exchange.stop();
    if (code !== 0) report.expect('exitCode', code ?? 'signal', '0', false);
  }
  return report.result();
}

interface Setup {
  readonly participants: readonly Identity[];
  readonly signed: readonly BaseRequest[];
  readonly queries: readonly BaseRequest[];
}

/** Credits three participants, who each place a sell and a buy and withdraw both. */
async function makeState(exchange: ExchangeProcess, context: ScenarioContext): Promise<Setup> {
  const socket = await RawSocket.connect(exchange.wsUrl);
  const nonces = new Nonces(context.prng.fork());
  const participants = Array.from({ length: 3 }, () => seededIdentity(context.prng));
  const signed: BaseRequest[] = [];
  const accept = async (command: SignedCommand): Promise<unknown> => {
    const outcome = await socket.requestRaw(command.type, command.body);
    if (outcome.kind !== 'response') throw new Error(`setup: ${command.type} was refused: ${JSON.stringify(outcome)}`);
    signed.push({ type: command.type, body: command.body });
    return outcome.body;
  };
  for (const participant of participants) await accept(signedCredit(exchange.admin, nonces.next(), participant.address, 1_000_000));
  const bidIds: string[] = [];
  for (const participant of participants) {
    // Sells at 1,000 and buys at 500 never cross: both rest until withdrawn.
    for (const [side, price] of [['sell', 1000], ['buy', 500]] as const) {
      const placed = (await accept(signedBid(participant, nonces.next(), side, price))) as { bidId: string };
      bidIds.push(placed.bidId);
      await accept(signedWithdraw(participant, nonces.next(), placed.bidId));
    }
  }
  socket.close();
  const body = (value: unknown): Uint8Array => encode(value);
  const queries: BaseRequest[] = [
    { type: 'info', body: body({}) },
    { type: 'depth', body: body({ article: ARTICLE }) },
    { type: 'bid', body: body({ bidId: bidIds[0] }) },
    ...participants.flatMap((participant) => [
      { type: 'account', body: body({ address: participant.address }) },
      { type: 'participant', body: body({ address: participant.address }) },
      { type: 'subscribe', body: body({ topic: `participant:${participant.address}` }) },
    ]),
  ];
  return { participants, signed, queries };
}

/** The journal sequence (GET /health) and the accounts involved, as one comparable text. */
async function observeState(exchange: ExchangeProcess, participants: readonly Identity[]): Promise<{ journalSequence: number; accounts: string; answered: boolean }> {
  const { journalSequence } = await health(exchange.httpUrl);
  const socket = await RawSocket.connect(exchange.wsUrl);
  try {
    const addresses = [exchange.admin.address, ...participants.map((participant) => participant.address)];
    const answers = await withTimeout(Promise.all(addresses.map((address) => socket.request('account', { address }))), 10_000, 'account queries');
    const info = await withTimeout(socket.request('info', {}), 10_000, 'info');
    return { journalSequence, accounts: JSON.stringify(answers), answered: info.kind === 'response' && answers.every((answer) => answer.kind === 'response') };
  } finally {
    socket.close();
  }
}

/** One connection after another, each carrying bursts until the server closes it. */
async function fuzzWorker(exchange: ExchangeProcess, fuzzer: FrameFuzzer, spreader: SourceAddresses, state: FuzzState, target: number): Promise<void> {
  const fatalPool: Judged[] = [];
  while (state.sent < target) {
    let socket: RawSocket;
    try {
      socket = await RawSocket.connect(exchange.wsUrl, { localAddress: spreader.next() });
    } catch {
      state.connectFailures += 1;
      if (exchange.child.exitCode !== null || exchange.child.signalCode !== null) return;
      await sleep(50);
      continue;
    }
    state.connections += 1;
    while (socket.isOpen && state.sent < target) await runBurst(exchange, socket, assembleBurst(fuzzer, fatalPool), state);
    socket.terminate();
  }
}

/** 5-24 frames the oracle expects to be answered or ignored, then one that may close the connection. */
function assembleBurst(fuzzer: FrameFuzzer, fatalPool: Judged[]): Judged[] {
  const burst: Judged[] = [];
  const wanted = 5 + fuzzer.prng.nextInt(20);
  while (burst.length < wanted) {
    for (const frame of fuzzer.next()) {
      const verdict = judgeFrame(frame.data, frame.binary);
      // Frames the document does not decide may close the connection: they end a burst too.
      const mayClose = verdict.kind === 'close' || verdict.kind === 'ambiguous';
      if (!mayClose) burst.push({ frame, verdict });
      else if (fatalPool.length < FATAL_POOL_MAX) fatalPool.push({ frame, verdict });
    }
  }
  const fatal = fatalPool.shift();
  if (fatal !== undefined) burst.push(fatal);
  return burst;
}

async function runBurst(exchange: ExchangeProcess, socket: RawSocket, burst: readonly Judged[], state: FuzzState): Promise<void> {
  const started = nowMs();
  const answers: Array<Promise<{ judged: Judged; outcome: Outcome }>> = [];
  const pendingIds = new Set<number>();
  for (const judged of burst) {
    state.categories.add(judged.frame.category);
    const { data, binary, reusesId } = judged.frame;
    if (judged.verdict.kind === 'answer' && reusesId !== true && !pendingIds.has(judged.verdict.id) && typeof data !== 'string') {
      pendingIds.add(judged.verdict.id);
      answers.push(socket.requestWithId(judged.verdict.id, data).then((outcome) => ({ judged, outcome })));
    } else if (!socket.send(data, binary)) {
      break;
    }
    state.sent += 1;
  }
  await sleep((burst.length * 1000) / FRAMES_PER_SECOND_PER_CONNECTION - (nowMs() - started));
  const last = burst[burst.length - 1]!;
  if (last.verdict.kind === 'close' || last.verdict.kind === 'ambiguous') {
    await judgeClosingBurst(socket, last, state);
    // Answers sent before the close still count; those cut off by it are allowed (§3).
    for (const { judged, outcome } of await Promise.all(answers)) countAnswer(judged, outcome, state);
    return;
  }
  const settled = await withTimeout(Promise.all(answers), 10_000, 'answers').catch(() => undefined);
  if (settled === undefined) {
    state.mismatches.add('unanswered');
    note(state, `no answer within 10 s to one of: ${burst.map(describe).join(', ')}`);
    return socket.terminate();
  }
  for (const { judged, outcome } of settled) countAnswer(judged, outcome, state);
  if (socket.closedWith !== undefined) {
    state.closeCodes.add(socket.closedWith.code);
    state.mismatches.add(`close-${socket.closedWith.code}-unexpected`);
    await reduce(exchange, burst, state);
  }
}

/**
 * After a frame that may close the connection, an `info` probe: answered means the connection
 * stayed open (wrong for a frame the document says closes it); otherwise the close is judged.
 */
async function judgeClosingBurst(socket: RawSocket, last: Judged, state: FuzzState): Promise<void> {
  const probe = await withTimeout(socket.request('info', {}), 5000, 'probe').catch(() => undefined);
  const closed = probe === undefined || probe.kind === 'closed' ? await withTimeout(socket.closed, 5000, 'close').catch(() => undefined) : undefined;
  if (last.verdict.kind !== 'close') {
    // Ambiguous: whatever the server did is allowed.
    if (closed !== undefined) state.closeCodes.add(closed.code);
    else if (probe === undefined) socket.terminate();
    return;
  }
  const verdict = last.verdict;
  if (closed === undefined) {
    state.mismatches.add('close-missing');
    note(state, `not closed after ${describe(last)} (the document: ${verdict.why}, close ${verdict.closeCodes.join('/')}); a later request was answered ${JSON.stringify(probe)}`);
    return socket.terminate();
  }
  state.closeCodes.add(closed.code);
  if (!verdict.closeCodes.includes(closed.code)) {
    state.mismatches.add(`close-${closed.code}-not-${verdict.closeCodes.join('/')}`);
    note(state, `closed with ${closed.code}, the document says ${verdict.closeCodes.join('/')} (${verdict.why}): ${describe(last)}`);
  }
  const frameErrors = socket.nullIdErrors.filter((code) => code !== 1012);
  if (verdict.errorCodes.length > 0 && !frameErrors.some((code) => verdict.errorCodes.includes(code))) {
    state.mismatches.add(`error-${frameErrors.join('/') || 'none'}-not-${verdict.errorCodes.join('/')}`);
    note(state, `frame-level error ${frameErrors.join('/') || 'none'}, the document says ${verdict.errorCodes.join('/')} (${verdict.why}): ${describe(last)}`);
  }
}

function countAnswer(judged: Judged, outcome: Outcome, state: FuzzState): void {
  if (outcome.kind === 'closed') return;
  state.answers.add(outcome.kind === 'response' ? 'ok' : outcome.code);
  const signedTypes = ['placeBid', 'withdrawBid', 'credit', 'txMessage', 'defineArticle'];
  const type = requestType(judged.frame.data);
  if (outcome.kind === 'response' && type !== undefined && signedTypes.includes(type)) {
    state.signedAccepted += 1;
    note(state, `a signed ${type} was ACCEPTED: ${describe(judged)}`);
  }
}

/** Replays each frame of a burst alone on a fresh connection to find the one that closed it. */
async function reduce(exchange: ExchangeProcess, burst: readonly Judged[], state: FuzzState): Promise<void> {
  if (state.reductions >= REDUCTIONS_MAX) return;
  state.reductions += 1;
  for (const judged of burst) {
    const socket = await RawSocket.connect(exchange.wsUrl, { localAddress: '127.4.0.1' }).catch(() => undefined);
    if (socket === undefined) return;
    socket.send(judged.frame.data, judged.frame.binary);
    const probe = await withTimeout(socket.request('info', {}), 5000, 'probe').catch(() => ({ kind: 'closed' as const }));
    socket.terminate();
    if (probe.kind === 'closed') {
      const why = judged.verdict.kind === 'ambiguous' ? judged.verdict.why : judged.verdict.kind;
      note(state, `closed by ${describe(judged)}; the document: ${why}, close ${socket.closedWith?.code ?? '?'}, errors ${socket.nullIdErrors.join('/') || 'none'}`);
      return;
    }
  }
  note(state, `a burst closed the connection but no single frame of it does: ${burst.map(describe).join(', ')}`);
}

function requestType(data: Uint8Array | string): string | undefined {
  if (typeof data === 'string') return undefined;
  const text = Buffer.from(data.subarray(0, 80)).toString('latin1');
  return /type.(placeBid|withdrawBid|credit|txMessage|defineArticle)/.exec(text)?.[1];
}

function describe(judged: Judged): string {
  const { data, category } = judged.frame;
  const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
  const hex = bytes.subarray(0, 160).toString('hex');
  return `[${category}, ${bytes.length} bytes${typeof data === 'string' ? ', text' : ''}] ${hex}${bytes.length > 160 ? '…' : ''}`;
}

function note(state: FuzzState, line: string): void {
  if (state.notes.length < 30) state.notes.push(line.slice(0, 900));
}

// http: abuse of the HTTP front door while a normal client (a fresh connection every 200 ms for
// GET /health and a WebSocket `info`) must keep being served. One exchange, started with
// --connections-max 2000, takes in turn: (a) slowloris, (b) idle sockets from many addresses up
// to the connection cap (and the 30 s idle close), (c) huge headers and huge bodies, (d) many
// connections from one address (429 past 64) and from many, (e) a signed bid flood far above
// capacity, which must be answered with 9002 server_busy at once rather than queued.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Identity } from '../../src/crypto/keys.js';
import type { Prng } from '../../src/random.js';
import { freshHome, type ScenarioContext } from './context.js';
import { startExchangeProcess, type ExchangeProcess } from './exchange-process.js';
import { NormalClient, type NormalClientReport } from './http-probe.js';
import { HttpRefusal, RawSocket, type Outcome } from './raw-socket.js';
import { Report, type ScenarioResult } from './report.js';
import { RssSampler } from './rss.js';
import { Nonces, seededIdentity, signedBid, type SignedCommand } from './signing.js';
import { SourceAddresses } from './sources.js';
import { percentile, round, Tally } from './stats.js';
import { openTcp, type TrackedSocket } from './tcp.js';
import { nowMs, sleep, withTimeout } from './timing.js';

export interface HttpAbuseSize {
  readonly slowloris: number;
  readonly slowlorisMs: number;
  /** Wait for the server's idle close of the idle sockets (about 30 s). */
  readonly waitForIdleClose: boolean;
  /** How long each huge upload goes on (unless the server closes it first). */
  readonly uploadMs: number;
  readonly floodPerSecond: number;
  readonly floodMs: number;
}

export const HTTP_FULL: HttpAbuseSize = { slowloris: 1000, slowlorisMs: 45_000, waitForIdleClose: true, uploadMs: 35_000, floodPerSecond: 30_000, floodMs: 10_000 };
export const HTTP_QUICK: HttpAbuseSize = { slowloris: 200, slowlorisMs: 12_000, waitForIdleClose: false, uploadMs: 2_000, floodPerSecond: 30_000, floodMs: 2_000 };

const CONNECTIONS_MAX = 2000;
/** What "reasonable" means for the normal client's p99 while the exchange is flooded. */
const NORMAL_P99_UNDER_FLOOD_MS = 1000;
/** The exchange's memory under the flood (before the fix it grew to 1.19 GiB at 32,000 bids/s). */
const FLOOD_RSS_MIB_MAX = 1024;

type Sub = (exchange: ExchangeProcess, report: Report) => Promise<void>;

/** Sub-scenarios, each with its own normal client unless it runs its own (b: below and past the cap). */
interface SubScenario {
  readonly name: string;
  readonly run: Sub;
  readonly ownNormalClient?: boolean;
}

export async function runHttpAbuse(context: ScenarioContext, size: HttpAbuseSize): Promise<ScenarioResult> {
  const report = new Report('http');
  const exchange = await startExchangeProcess({ home: freshHome('http'), args: ['--connections-max', String(CONNECTIONS_MAX)] });
  const subs: readonly SubScenario[] = [
    { name: 'a', run: (ex, r) => slowloris(ex, r, size, context.prng.fork()) },
    { name: 'b', run: (ex, r) => idleSockets(ex, r, size), ownNormalClient: true },
    { name: 'c', run: (ex, r) => hugeRequests(ex, r, size, context.prng.fork()) },
    { name: 'd', run: (ex, r) => connectionCaps(ex, r) },
    { name: 'e', run: (ex, r) => bidFlood(ex, r, size, context) },
  ];
  try {
    for (const { name, run, ownNormalClient } of subs) {
      context.log(`http: (${name}) starts`);
      const rss = new RssSampler(exchange.pid).start(500);
      const normal = ownNormalClient === true ? undefined : new NormalClient(exchange.httpUrl, exchange.wsUrl).start();
      await run(exchange, report).catch((error: unknown) => report.expect(`${name}.harnessError`, String(error), 'none', false));
      if (normal !== undefined) normalFigures(report, name, await normal.stop());
      rss.stop();
      if (name === 'e') report.expect('e.rssPeakMiB', round(rss.max), `< ${FLOOD_RSS_MIB_MAX}`, rss.max < FLOOD_RSS_MIB_MAX);
      else report.set(`${name}.rssPeakMiB`, round(rss.max));
      await sleep(500); // let the server forget the closed sockets before the next abuse
    }
    const alive = exchange.child.exitCode === null && exchange.child.signalCode === null;
    report.expect('crashes', alive ? 0 : 1, '0', alive);
  } finally {
    const code = await exchange.stop();
    report.expect('exitCode', code ?? 'signal', '0', code === 0);
  }
  return report.result();
}

function normalFigures(report: Report, sub: string, normal: NormalClientReport, goal = true): void {
  report.set(`${sub}.normalRequests`, normal.requests);
  if (goal) report.expect(`${sub}.normalFailures`, normal.failures, '0', normal.failures === 0 && normal.requests > 0);
  else report.set(`${sub}.normalFailures`, normal.failures);
  if (normal.failures > 0) report.set(`${sub}.normalFailureReasons`, normal.reasons);
  if (sub === 'e') report.expect('e.normalP99Ms', normal.p99Ms, `< ${NORMAL_P99_UNDER_FLOOD_MS}`, normal.p99Ms < NORMAL_P99_UNDER_FLOOD_MS);
  else report.set(`${sub}.normalP99Ms`, normal.p99Ms);
}

/** (a) Connections that send a request line and then one header byte every 2-3 s, forever. */
async function slowloris(exchange: ExchangeProcess, report: Report, size: HttpAbuseSize, prng: Prng): Promise<void> {
  const sources = new SourceAddresses(10, 50);
  const sockets = (await Promise.all(Array.from({ length: size.slowloris }, () => openTcp(exchange.port, sources.next()).catch(() => undefined)))).filter((socket) => socket !== undefined);
  for (const socket of sockets) socket.write('GET /health HTTP/1.1\r\nHost: bitwrk\r\nX-Slow: ');
  const endMs = nowMs() + size.slowlorisMs;
  const drips = sockets.map(async (socket) => {
    while (nowMs() < endMs && !socket.isClosed) {
      await sleep(Math.min(2000 + prng.nextInt(1000), endMs - nowMs()));
      socket.write('a');
    }
  });
  await Promise.all(drips);
  const closed = sockets.filter((socket) => socket.isClosed);
  const lifetimes = closed.map((socket) => socket.lifetimeMs);
  const statuses = new Tally();
  for (const socket of closed) statuses.add(socket.status);
  report
    .set('a.slowlorisOpened', sockets.length)
    .set('a.slowlorisSeconds', size.slowlorisMs / 1000)
    .set('a.closedByServer', closed.length)
    .set('a.closedWithin12s', lifetimes.filter((ms) => ms <= 12_000).length)
    .set('a.closeP50Ms', round(percentile(lifetimes, 0.5), 0))
    .set('a.closeMaxMs', round(percentile(lifetimes, 1), 0))
    .set('a.statuses', statuses.toString());
  for (const socket of sockets) socket.destroy();
}

/** (b) Idle TCP sockets from many addresses: first just under the cap, then past it. */
async function idleSockets(exchange: ExchangeProcess, report: Report, size: HttpAbuseSize): Promise<void> {
  const sources = new SourceAddresses(11, 40);
  const open = async (count: number): Promise<TrackedSocket[]> => {
    const opened: TrackedSocket[] = [];
    for (let start = 0; start < count; start += 200) {
      const batch = await Promise.all(Array.from({ length: Math.min(200, count - start) }, () => openTcp(exchange.port, sources.next()).catch(() => undefined)));
      for (const socket of batch) if (socket !== undefined) opened.push(socket);
    }
    return opened;
  };
  // Below the cap (leaving room for the normal client's two connections at a time).
  const normalBelow = new NormalClient(exchange.httpUrl, exchange.wsUrl).start();
  const below = await open(CONNECTIONS_MAX - 50);
  await sleep(3000);
  const belowRefused = below.filter((socket) => socket.isClosed).length;
  normalFigures(report, 'b1', await normalBelow.stop());
  // Past the cap: everyone, the normal client too, is refused with 503 until sockets close.
  const normalAt = new NormalClient(exchange.httpUrl, exchange.wsUrl).start();
  const past = await open(300);
  await sleep(2000);
  normalFigures(report, 'b2', await normalAt.stop(), false);
  const refusals = new Tally();
  for (const socket of past) if (socket.isClosed) refusals.add(socket.status);
  report
    .set('b.idleOpened', below.length + past.length)
    .set('b.sourceAddresses', sources.addressesUsed)
    .set('b.closedBelowCap', belowRefused)
    .set('b.pastCapAttempts', past.length)
    .expect('b.pastCapRefusals', refusals.toString(), '503 for those past the cap', refusals.get(503) > 0)
    .set('b.pastCapStillOpen', past.filter((socket) => !socket.isClosed).length);
  const idle = below.filter((socket) => !socket.isClosed);
  if (size.waitForIdleClose) {
    await Promise.race([Promise.all(idle.map((socket) => socket.closed)), sleep(40_000)]);
    const lifetimes = idle.filter((socket) => socket.isClosed).map((socket) => socket.lifetimeMs);
    const within = lifetimes.filter((ms) => ms <= 35_000).length;
    report
      .expect('b.idleClosedWithin35s', `${within}/${idle.length}`, 'all', within === idle.length)
      .set('b.idleCloseP50Ms', round(percentile(lifetimes, 0.5), 0))
      .set('b.idleCloseMaxMs', round(percentile(lifetimes, 1), 0));
  } else {
    report.set('b.idleClose', 'not waited for (--quick)');
  }
  for (const socket of [...below, ...past]) socket.destroy();
}

/** (c) 100 KiB headers, and bodies of many MiB to an API that takes only GET. */
async function hugeRequests(exchange: ExchangeProcess, report: Report, size: HttpAbuseSize, prng: Prng): Promise<void> {
  const sources = new SourceAddresses(12, 20);
  const bigHeader = `GET /health HTTP/1.1\r\nHost: bitwrk\r\nX-Big: ${'a'.repeat(100 * 1024)}\r\n\r\n`;
  const headerSockets = await Promise.all(Array.from({ length: 20 }, async () => {
    const socket = await openTcp(exchange.port, sources.next());
    socket.write(bigHeader);
    await Promise.race([socket.closed, sleep(15_000)]);
    return socket;
  }));
  const headerStatuses = new Tally();
  for (const socket of headerSockets) headerStatuses.add(socket.isClosed ? socket.status : 'open');
  report.set('c.hugeHeaderStatuses', headerStatuses.toString()).set('c.hugeHeaderMaxMs', round(Math.max(...headerSockets.map((socket) => socket.lifetimeMs)), 0));
  // Bodies that never end (100 GiB announced, or chunked): does the server stop reading, and when?
  const uploads = [
    ['POST', `Content-Length: ${100 * 1024 ** 3}`],
    ['PUT', 'Transfer-Encoding: chunked'],
    ['GET', `Content-Length: ${100 * 1024 ** 3}`],
  ] as const;
  const results = await Promise.all(uploads.map(async ([method, framing]) => {
    const socket = await openTcp(exchange.port, sources.next());
    const started = nowMs();
    socket.write(`${method} /health HTTP/1.1\r\nHost: bitwrk\r\n${framing}\r\n\r\n`);
    const chunk = prng.nextBytes(64 * 1024);
    const chunked = framing.startsWith('Transfer');
    while (!socket.isClosed && nowMs() - started < size.uploadMs) {
      const flushed = socket.write(chunked ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]) : chunk);
      if (!flushed) await Promise.race([new Promise((resolve) => socket.socket.once('drain', resolve)), socket.closed, sleep(5000)]);
    }
    await Promise.race([socket.closed, sleep(2000)]);
    const outcome = `${method}:${socket.status || 'none'}/${Math.round(socket.written / 1024 / 1024)}MiB/${socket.isClosed ? 'closed' : 'open'}/${Math.round(nowMs() - started)}ms`;
    socket.destroy();
    return outcome;
  }));
  // method:status/MiB the server took/closed or still open/how long
  report.set('c.uploads', results.join(' '));
}

/** (d) 100 WebSockets from one address (64 allowed), then 1,500 from 30 addresses. */
async function connectionCaps(exchange: ExchangeProcess, report: Report): Promise<void> {
  const attempt = async (localAddress: string): Promise<RawSocket | number> => {
    try {
      return await RawSocket.connect(exchange.wsUrl, { localAddress });
    } catch (error) {
      return error instanceof HttpRefusal ? error.status : -1;
    }
  };
  const single = await Promise.all(Array.from({ length: 100 }, () => attempt('127.13.0.1')));
  const singleOpen = single.filter((socket) => socket instanceof RawSocket) as RawSocket[];
  const singleRefused = new Tally();
  for (const socket of single) if (typeof socket === 'number') singleRefused.add(socket);
  report
    .set('d.oneAddressAttempts', single.length)
    .expect('d.oneAddressOpened', singleOpen.length, '64', singleOpen.length === 64)
    .expect('d.oneAddressRefusals', singleRefused.toString(), '429 past 64', singleRefused.get(429) === single.length - 64);
  for (const socket of singleOpen) socket.terminate();
  await sleep(500);
  const sources = new SourceAddresses(14, 50);
  const many: Array<RawSocket | number> = [];
  for (let start = 0; start < 1500; start += 100) many.push(...(await Promise.all(Array.from({ length: 100 }, () => attempt(sources.next())))));
  const manyOpen = many.filter((socket) => socket instanceof RawSocket) as RawSocket[];
  const answered = (await Promise.all(manyOpen.map((socket) => withTimeout(socket.request('info', {}), 10_000, 'info').catch(() => undefined)))).filter((outcome) => outcome?.kind === 'response').length;
  report
    .set('d.manyAddressesAttempts', many.length)
    .expect('d.manyAddressesOpened', manyOpen.length, String(many.length), manyOpen.length === many.length)
    .expect('d.manyAddressesAnswered', answered, String(many.length), answered === many.length);
  for (const socket of manyOpen) socket.terminate();
}

/** (e) Signed sell bids from 200 identities over 32 connections at 30,000 per second. */
async function bidFlood(exchange: ExchangeProcess, report: Report, size: HttpAbuseSize, context: ScenarioContext): Promise<void> {
  const identities = Array.from({ length: 200 }, () => seededIdentity(context.prng));
  const total = Math.round((size.floodPerSecond * size.floodMs) / 1000);
  const commands = presign(identities, total, new Nonces(context.prng.fork()), context.prng.fork());
  context.log(`http: (e) ${total} bids signed`);
  const sources = new SourceAddresses(15, 4);
  const sockets = await Promise.all(Array.from({ length: 32 }, () => RawSocket.connect(exchange.wsUrl, { localAddress: sources.next() })));
  const outcomes = new Tally();
  const busyLatencies: number[] = [];
  const allLatencies: number[] = [];
  let busyWithRetryAfter = 0;
  const answers: Array<Promise<void>> = [];
  const harnessDelay = monitorEventLoopDelay({ resolution: 10 });
  harnessDelay.enable();
  let floodEndMs = Number.POSITIVE_INFINITY;
  let acceptedWhileFlooding = 0;
  const started = nowMs();
  let sent = 0;
  while (sent < commands.length) {
    const due = Math.min(commands.length, Math.floor(((nowMs() - started) * size.floodPerSecond) / 1000));
    for (; sent < due; sent++) {
      const command = commands[sent]!;
      const sentMs = nowMs();
      const socket = sockets[sent % sockets.length]!;
      answers.push(socket.requestRaw(command.type, command.body).then((outcome: Outcome) => {
        const latency = nowMs() - sentMs;
        if (outcome.kind !== 'closed') allLatencies.push(latency);
        outcomes.add(outcome.kind === 'response' ? 'ok' : outcome.kind === 'error' ? outcome.code : 'closed');
        if (outcome.kind === 'response' && nowMs() < floodEndMs) acceptedWhileFlooding += 1;
        if (outcome.kind === 'error' && outcome.code === 9002) {
          busyLatencies.push(latency);
          if (Number.isInteger(outcome.retryAfterMs)) busyWithRetryAfter += 1;
        }
      }));
    }
    await sleep(5);
  }
  floodEndMs = nowMs();
  harnessDelay.disable();
  const offeredPerSecond = Math.round(total / ((floodEndMs - started) / 1000));
  await withTimeout(Promise.all(answers), 60_000, 'flood answers').catch(() => undefined);
  for (const socket of sockets) socket.close();
  const busy = outcomes.get(9002);
  report
    .set('e.floodSent', total)
    .set('e.floodOfferedPerSecond', offeredPerSecond)
    .set('e.floodOutcomes', outcomes.toString())
    // Accepted bids answered while the flood lasted: what the exchange still got done under overload.
    .set('e.acceptedWhileFlooding', acceptedWhileFlooding)
    .set('e.acceptedWhileFloodingPerSecond', Math.round(acceptedWhileFlooding / ((floodEndMs - started) / 1000)))
    // The load generator's own event-loop delay: latencies far above it are the exchange's.
    .set('e.harnessLoopDelayP99Ms', round(harnessDelay.percentile(99) / 1e6))
    .set('e.harnessLoopDelayMaxMs', round(harnessDelay.max / 1e6))
    .expect('e.floodAnsweredBusy', busy, '> 0', busy > 0)
    .expect('e.busyWithRetryAfterMs', busyWithRetryAfter, String(busy), busyWithRetryAfter === busy)
    // Measured from the generator's write: a connection told server_busy is not read until its
    // retryAfterMs has passed, so its later bids wait in its own socket (bounded by TCP), not in the
    // exchange's memory. A figure, not a goal: it says how long the flood queued at its own end.
    .set('e.busyP99Ms', round(percentile(busyLatencies, 0.99)))
    .set('e.floodP50Ms', round(percentile(allLatencies, 0.5)))
    .set('e.floodP99Ms', round(percentile(allLatencies, 0.99)))
    .expect('e.floodUnanswered', outcomes.get('closed'), '0', outcomes.get('closed') === 0)
    .expect('e.acceptedWhileFloodingOk', acceptedWhileFlooding > 0, 'true', acceptedWhileFlooding > 0);
}

/** `total` sell bids, round-robin over the identities (each under its 200 per second). */
function presign(identities: readonly Identity[], total: number, nonces: Nonces, prng: Prng): SignedCommand[] {
  return Array.from({ length: total }, (_, index) => signedBid(identities[index % identities.length]!, nonces.next(), 'sell', 1000 + prng.nextInt(1000)));
}

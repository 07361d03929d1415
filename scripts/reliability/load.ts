// load: many subscribed clients trading at a modest rate are all served, and memory stays flat.
// Clients spread over loopback source addresses (under the cap of 64 per address), each
// subscribed to its participant topic, each sending one command every 1-2 s: signed bids (sells
// and buys at prices that sometimes cross) and queries (account, depth). Every answer's latency
// is measured and the exchange's RSS sampled every second. The offered load is far below
// capacity, so any error (server_busy and rate_limited included) counts against the goal.
import type { Identity } from '../../src/crypto/keys.js';
import { freshHome, type ScenarioContext } from './context.js';
import { startExchangeProcess, type ExchangeProcess } from './exchange-process.js';
import { RawSocket, type Outcome } from './raw-socket.js';
import { Report, type ScenarioResult } from './report.js';
import { RssSampler } from './rss.js';
import { ARTICLE, Nonces, seededIdentity, signedBid, signedCredit } from './signing.js';
import { SourceAddresses } from './sources.js';
import { percentile, round, Tally } from './stats.js';
import type { Prng } from '../../src/random.js';
import { nowMs, sleep } from './timing.js';

export interface LoadSize {
  readonly clients: number;
  readonly durationMs: number;
}

export const LOAD_FULL: LoadSize = { clients: 1000, durationMs: 60_000 };
export const LOAD_QUICK: LoadSize = { clients: 100, durationMs: 5_000 };

/** The admin's credits per second while setting up: under its own 200/s. */
const SETUP_CREDITS_PER_SECOND = 150;

interface Client {
  readonly identity: Identity;
  readonly socket: RawSocket;
  readonly prng: Prng;
}

interface LoadTally {
  commands: number;
  matched: number;
  readonly latencies: number[];
  readonly errors: Tally;
  readonly byType: Tally;
}

export async function runLoad(context: ScenarioContext, size: LoadSize): Promise<ScenarioResult> {
  const report = new Report('load');
  const exchange = await startExchangeProcess({ home: freshHome('load') });
  try {
    const nonces = new Nonces(context.prng.fork());
    const identities = Array.from({ length: size.clients }, () => seededIdentity(context.prng));
    await creditAll(exchange, identities, nonces);
    const clients = await connectAll(exchange, identities, context.prng);
    context.log(`load: ${clients.length} clients connected and subscribed`);
    const rss = new RssSampler(exchange.pid).start(1000);
    const tally: LoadTally = { commands: 0, matched: 0, latencies: [], errors: new Tally(), byType: new Tally() };
    const endMs = nowMs() + size.durationMs;
    await Promise.all(clients.map((client) => clientLoop(client, nonces, endMs, tally)));
    rss.stop();
    const alive = exchange.child.exitCode === null;
    const warmSamples = Math.min(10, Math.floor(rss.samples.length / 5));
    const first = rss.samples[warmSamples] ?? rss.first;
    const closedClients = clients.filter((client) => !client.socket.isOpen).length;
    const pushes = clients.reduce((sum, client) => sum + client.socket.pushes, 0);
    for (const client of clients) client.socket.close();
    report
      .set('clients', clients.length)
      .set('sourceAddresses', Math.ceil(clients.length / 50))
      .set('durationSeconds', size.durationMs / 1000)
      .set('commands', tally.commands)
      .set('commandTypes', tally.byType.toString())
      .expect('errors', tally.errors.total, '0', tally.errors.total === 0)
      .set('errorCodes', tally.errors.toString())
      .expect('clientsDropped', closedClients, '0', closedClients === 0)
      .set('bidsMatched', tally.matched)
      .set('pushesReceived', pushes)
      .set('latencyP50Ms', round(percentile(tally.latencies, 0.5)))
      .set('latencyP99Ms', round(percentile(tally.latencies, 0.99)))
      .set('latencyMaxMs', round(percentile(tally.latencies, 1)))
      .set('rssFirstMiB', round(first))
      .set('rssMaxMiB', round(rss.max))
      .set('rssLastMiB', round(rss.last))
      .expect('rssFlat', rss.last <= 1.5 * first, 'last <= 1.5 x first', rss.last <= 1.5 * first)
      .expect('crashes', alive ? 0 : 1, '0', alive);
  } finally {
    const code = await exchange.stop();
    report.expect('exitCode', code ?? 'signal', '0', code === 0);
  }
  return report.result();
}

/** Credits every identity (pipelined, within the admin's rate); throws if one is refused. */
async function creditAll(exchange: ExchangeProcess, identities: readonly Identity[], nonces: Nonces): Promise<void> {
  const socket = await RawSocket.connect(exchange.wsUrl);
  const answers: Array<Promise<Outcome>> = [];
  const started = nowMs();
  for (const [index, identity] of identities.entries()) {
    await sleep(started + (index * 1000) / SETUP_CREDITS_PER_SECOND - nowMs());
    const command = signedCredit(exchange.admin, nonces.next(), identity.address, 100_000_000);
    answers.push(socket.requestRaw(command.type, command.body));
  }
  const refused = (await Promise.all(answers)).filter((answer) => answer.kind !== 'response');
  socket.close();
  if (refused.length > 0) throw new Error(`load setup: ${refused.length} credits refused, e.g. ${JSON.stringify(refused[0])}`);
}

/** Connects and subscribes every client, 50 at a time, 50 per source address. */
async function connectAll(exchange: ExchangeProcess, identities: readonly Identity[], prng: Prng): Promise<Client[]> {
  const sources = new SourceAddresses(5, 50);
  const clients: Client[] = [];
  for (let start = 0; start < identities.length; start += 50) {
    const batch = identities.slice(start, start + 50);
    const sockets = await Promise.all(batch.map(() => RawSocket.connect(exchange.wsUrl, { localAddress: sources.next() })));
    const subscribed = await Promise.all(sockets.map((socket, index) => socket.request('subscribe', { topic: `participant:${batch[index]!.address}` })));
    const refused = subscribed.find((answer) => answer.kind !== 'response');
    if (refused !== undefined) throw new Error(`load setup: a subscription was refused: ${JSON.stringify(refused)}`);
    sockets.forEach((socket, index) => clients.push({ identity: batch[index]!, socket, prng: prng.fork() }));
  }
  return clients;
}

/** One client: a command every 1-2 s (the first within 2 s, so the clients do not march in step). */
async function clientLoop(client: Client, nonces: Nonces, endMs: number, tally: LoadTally): Promise<void> {
  await sleep(client.prng.nextInt(2000));
  while (nowMs() < endMs) {
    const started = nowMs();
    const [type, outcome] = await oneCommand(client, nonces);
    tally.commands += 1;
    tally.byType.add(type);
    if (outcome.kind === 'response') {
      tally.latencies.push(nowMs() - started);
      if ((outcome.body as { matched?: unknown }).matched === true) tally.matched += 1;
    } else {
      tally.errors.add(outcome.kind === 'error' ? outcome.code : 'closed');
      if (outcome.kind === 'closed') return;
    }
    await sleep(started + 1000 + client.prng.nextInt(1000) - nowMs());
  }
}

/** Half signed bids (sells at 100-200, buys at 150-250: some cross), a quarter each account and depth. */
async function oneCommand(client: Client, nonces: Nonces): Promise<[string, Outcome]> {
  const draw = client.prng.nextInt(4);
  if (draw >= 2) {
    const side = client.prng.nextInt(2) === 0 ? 'sell' : 'buy';
    const price = side === 'sell' ? 100 + client.prng.nextInt(101) : 150 + client.prng.nextInt(101);
    const command = signedBid(client.identity, nonces.next(), side, price);
    return ['placeBid', await client.socket.requestRaw(command.type, command.body)];
  }
  if (draw === 1) return ['account', await client.socket.request('account', { address: client.identity.address })];
  return ['depth', await client.socket.request('depth', { article: ARTICLE })];
}

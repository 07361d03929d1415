// The daemon scenario: a real `bitwrk exchange`, two real `bitwrk daemon` processes and a real
// `bitwrk worker hash`, as a user runs them, with the seller's peer link running through a TCP
// proxy that records every byte. Then, as an attacker would: requests to the buyer's local API from
// another Origin, with a rebinding Host, without the token, with a form body; a stranger's hello
// on a live transaction's link; and a search of the recording for the work and the result.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { realClock } from '../../src/clock.js';
import { generatePrivateKey, identityFromPrivateKey, type Identity } from '../../src/crypto/keys.js';
import { createNonce } from '../../src/crypto/nonce.js';
import { signMessage } from '../../src/crypto/signmessage.js';
import { ExchangeClient } from '../../src/daemon/exchange-client.js';
import { hashWork } from '../../src/daemon/hash-work.js';
import { dialPeer, handshakeText } from '../../src/daemon/peer-link.js';
import { helloText, peerProtocol } from '../../src/protocol/peer.js';
import { exchangeProtocol } from '../../src/protocol/exchange.js';
import type { ProtocolError } from '../../src/transport/errors.js';
import { RpcPeer } from '../../src/transport/rpc.js';
import { generateStaticKeyPair } from '../../src/transport/secure-connection.js';
import { connectWebSocket } from '../../src/transport/ws-client.js';
import { freshHome, type ScenarioContext } from './context.js';
import { startExchangeProcess } from './exchange-process.js';
import { recordingProxy } from './recording-proxy.js';
import { Report, type ScenarioResult } from './report.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const ARTICLE = 'net.bitwrk/test/hash/0';
const EXCHANGE_ID = 'bitwrk-local';
const WORK_BYTES = 256 * 1024;

export async function runDaemon(context: ScenarioContext): Promise<ScenarioResult> {
  const report = new Report('daemon');
  const home = freshHome('daemon');
  const processes: Running[] = [];
  const exchange = await startExchangeProcess({ home });
  const peerPort = await freePort();
  const proxy = await recordingProxy(peerPort);
  try {
    const daemon = async (name: string, extra: string[]): Promise<{ api: string; token: string; running: Running }> => {
      const running = spawnBitwrk(['daemon', '--data-dir', join(home, name), '--key-file', join(home, `${name}.wif`), '--exchange', exchange.wsUrl, '--api-port', '0', '--relay', 'never', '--quiet', ...extra], home);
      processes.push(running);
      const [, api] = await running.waitFor(/API: +(http:\S+)\/ \(changes need/);
      return { api: api!, token: readFileSync(join(home, name, 'api-token'), 'utf8').trim(), running };
    };
    const seller = await daemon('seller', ['--peer-port', String(peerPort), '--peer-url', `ws://127.0.0.1:${proxy.port}/peer`]);
    const buyer = await daemon('buyer', []);
    const worker = spawnBitwrk(['worker', 'hash', '--daemon', seller.api, '--daemon-dir', join(home, 'seller'), '--id', 'reliability-1'], home);
    processes.push(worker);
    await worker.waitFor(/worker registered/);
    const buyerAddress = ((await http(buyer.api, 'GET', '/info', {})).json as { address: string }).address;
    await credit(exchange.wsUrl, exchange.admin, buyerAddress, 100_000);
    const mandate = await http(seller.api, 'POST', '/mandates', { authorization: `Bearer ${seller.token}`, 'content-type': 'application/json' }, JSON.stringify({ side: 'sell', article: ARTICLE, priceSats: 1000 }));
    if (mandate.status !== 201) throw new Error(`the seller refused its mandate: ${mandate.status} ${mandate.body}`);

    context.log('daemon: attacks on the buyer\'s local API');
    attacks(report, await attackApi(buyer.api));
    const mandates = (await http(buyer.api, 'GET', '/mandates', {})).json as unknown[];
    report.expect('buyer_mandates_after_attacks', mandates.length, '0', mandates.length === 0);

    context.log('daemon: a purchase through the recording proxy');
    const work = randomBytes(WORK_BYTES);
    const bought = await http(buyer.api, 'POST', `/buy/${ARTICLE}?price=1200`, { authorization: `Bearer ${buyer.token}` }, work);
    const result = Buffer.from(bought.raw);
    report.expect('purchase_ok', bought.status === 200 && result.equals(Buffer.from(hashWork(work))), 'true', bought.status === 200 && result.equals(Buffer.from(hashWork(work))));
    const wire = proxy.bytes();
    report.set('wire_bytes_recorded', wire.length);
    let workSlicesFound = 0;
    for (let offset = 0; offset + 32 <= work.length; offset += 1024) if (wire.includes(work.subarray(offset, offset + 32))) workSlicesFound++;
    report.expect('work_slices_on_wire', workSlicesFound, '0', workSlicesFound === 0 && wire.length > WORK_BYTES);
    const resultFound = wire.includes(result.subarray(0, 32));
    report.expect('result_on_wire', resultFound, 'false', !resultFound);

    context.log('daemon: a stranger\'s hello on a live transaction');
    const stranger = await strangerHello(exchange.wsUrl, exchange.admin);
    report.expect('stranger_hello_refused', stranger.strangerCode, '7003', stranger.strangerCode === 7003);
    report.expect('buyer_hello_accepted', stranger.buyerAccepted, 'true', stranger.buyerAccepted);
  } catch (error) {
    report.expect('scenario_completed', false, 'true', false);
    report.note((error as Error).stack ?? String(error));
  } finally {
    proxy.server.close();
    for (const running of processes.reverse()) await running.stop();
    await exchange.stop();
  }
  return report.result();
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly raw: Buffer;
  readonly json: unknown;
}

function http(base: string, method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(`${base}${path}`, { method, headers }, (response) => {
      const parts: Buffer[] = [];
      response.on('data', (part: Buffer) => parts.push(part));
      response.on('end', () => {
        const raw = Buffer.concat(parts);
        let json: unknown;
        try {
          json = JSON.parse(raw.toString('utf8'));
        } catch {
          json = undefined;
        }
        resolve({ status: response.statusCode ?? 0, body: raw.toString('utf8').slice(0, 300), raw, json });
      });
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** The attacks of docs/daemon.md ("Who may call it") and the status each must get. */
async function attackApi(api: string): Promise<Array<{ what: string; status: number; expected: number }>> {
  const port = new URL(api).port;
  const mandate = JSON.stringify({ side: 'buy', article: ARTICLE, priceSats: 100_000_000 });
  const cases: Array<[string, string, string, Record<string, string>, string | undefined, number]> = [
    ['cross-origin mandate (text/plain)', 'POST', '/mandates', { origin: 'http://evil.example', 'content-type': 'text/plain' }, mandate, 403],
    ['cross-origin form post', 'POST', '/mandates', { origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, 'side=buy', 403],
    ['cross-origin purchase', 'POST', `/buy/${ARTICLE}?price=100000000`, { origin: 'http://evil.example' }, 'work', 403],
    ['cross-origin worker pointing at the attacker', 'POST', '/workers', { origin: 'http://evil.example', 'content-type': 'application/json' }, JSON.stringify({ id: 'evil', article: ARTICLE, pushUrl: 'http://evil.example/' }), 403],
    ['DNS rebinding read', 'GET', '/trades', { host: `evil.example:${port}` }, undefined, 403],
    ['DNS rebinding mandate', 'POST', '/mandates', { host: 'evil.example', origin: 'http://evil.example', 'content-type': 'application/json' }, mandate, 403],
    ['no token', 'POST', '/mandates', { 'content-type': 'application/json' }, mandate, 401],
  ];
  const outcomes: Array<{ what: string; status: number; expected: number }> = [];
  for (const [what, method, path, headers, body, expected] of cases) {
    const answer = await http(api, method, path, headers, body);
    outcomes.push({ what, status: answer.status, expected });
  }
  return outcomes;
}

function attacks(report: Report, outcomes: Array<{ what: string; status: number; expected: number }>): void {
  const refused = outcomes.filter((outcome) => outcome.status === outcome.expected).length;
  report.expect('api_attacks_refused', `${refused}/${outcomes.length}`, `${outcomes.length}/${outcomes.length}`, refused === outcomes.length);
  for (const outcome of outcomes) if (outcome.status !== outcome.expected) report.note(`${outcome.what}: HTTP ${outcome.status}, expected ${outcome.expected}`);
}

/**
 * A fresh buyer matches the seller's next sell bid; while the transaction is live, a stranger
 * opens the seller's link and says hello for it (7003), then the buyer does (accepted).
 */
async function strangerHello(wsUrl: string, admin: Identity): Promise<{ strangerCode: number | undefined; buyerAccepted: boolean }> {
  const buyer = identityFromPrivateKey(generatePrivateKey(), 'testnet');
  const stranger = identityFromPrivateKey(generatePrivateKey(), 'testnet');
  await credit(wsUrl, admin, buyer.address, 10_000);
  const peer = new RpcPeer(await connectWebSocket(wsUrl, { clock: realClock }), exchangeProtocol, {}, { clock: realClock });
  try {
    const client = new ExchangeClient(peer, buyer, EXCHANGE_ID, realClock);
    await until(async () => (await peer.request('depth', { article: ARTICLE })).asks.length > 0, 30_000, 'the seller\'s next sell bid');
    if (!(await client.placeBid(ARTICLE, 'buy', 1200)).matched) throw new Error('the buy did not match the seller');
    const [tx] = (await peer.request('participant', { address: buyer.address })).transactions;
    let workerUrl: string | undefined;
    await until(async () => typeof (workerUrl = (await peer.request('transaction', { txId: tx!.txId }))['workerUrl'] as string | undefined) === 'string', 30_000, 'the worker URL');
    const hello = async (who: Identity): Promise<number | undefined> => {
      const link = await dialPeer({ workerUrl: workerUrl!, txId: tx!.txId, seller: String(tx!['seller']), exchangeId: EXCHANGE_ID, identity: buyer, staticKeyPair: generateStaticKeyPair(), clock: realClock, random: (count) => new Uint8Array(randomBytes(count)) });
      const rpc = new RpcPeer(link.connection, peerProtocol, {}, { clock: realClock });
      const nonce = createNonce(realClock, (count) => new Uint8Array(randomBytes(count)));
      const signature = signMessage(helloText({ exchangeId: EXCHANGE_ID, txId: tx!.txId, buyer: who.address, nonce, handshake: handshakeText(link) }), who.privateKey);
      const code = await rpc.request('peer.hello', { txId: tx!.txId, buyer: who.address, nonce, signature: new Uint8Array(Buffer.from(signature, 'base64')) }).then(() => undefined, (error: ProtocolError) => error.code);
      rpc.close(1000, 'done');
      return code;
    };
    const strangerCode = await hello(stranger);
    const buyerCode = await hello(buyer);
    return { strangerCode, buyerAccepted: buyerCode === undefined };
  } finally {
    peer.close(1000, 'done');
  }
}

async function credit(wsUrl: string, admin: Identity, address: string, amountSats: number): Promise<void> {
  const peer = new RpcPeer(await connectWebSocket(wsUrl, { clock: realClock }), exchangeProtocol, {}, { clock: realClock });
  try {
    await new ExchangeClient(peer, admin, EXCHANGE_ID, realClock).credit(address, amountSats);
  } finally {
    peer.close(1000, 'done');
  }
}

async function until(predicate: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await predicate())) {
    if (performance.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100)); // tidy-allow: real processes in real time
  }
}

interface Running {
  readonly child: ChildProcess;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(): Promise<void>;
}

function spawnBitwrk(args: readonly string[], home: string): Running {
  const child = spawn(process.execPath, [join(ROOT, 'bin/bitwrk.js'), ...args], { env: { ...process.env, BITWRK_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const listeners = new Set<(line: string) => void>();
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      for (const listener of listeners) listener(line);
    });
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    waitFor(pattern, timeoutMs = 30_000) {
      const found = lines.map((line) => pattern.exec(line)).find((match) => match !== null);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`bitwrk ${args[0]}: no ${pattern} within ${timeoutMs} ms:\n${lines.join('\n')}`)), timeoutMs); // tidy-allow: a real process
        listeners.add((line) => {
          const match = pattern.exec(line);
          if (match !== null) {
            clearTimeout(timer);
            resolve(match);
          }
        });
        void exited.then(() => reject(new Error(`bitwrk ${args[0]} exited:\n${lines.join('\n')}`)));
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

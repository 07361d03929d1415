// Exchange benchmark, end to end over loopback WebSockets against an exchange in its own process
// (journal on lmdb, signatures verified on a worker pool):
//  - intake: signed bids accepted per second from 100 pipelining clients (crossing pairs, so the
//    book stays shallow and every bid is matched);
//  - latency: with 1,000 connected, subscribed clients, time from sending a crossing bid to its
//    trade notification, p50 and p99, at a moderate rate;
//  - native libsecp256k1 verifications per second (one thread) measured in this run, and the ratio
//    intake / native (signature verification is the expected bound).
// The load generator signs with native libsecp256k1 to keep up; the exchange does not know.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { realClock } from '../src/clock.js';
import { encodeWif, generatePrivateKey, identityFromPrivateKey, type Identity } from '../src/crypto/keys.js';
import { createNonce } from '../src/crypto/nonce.js';
import { messageDigest } from '../src/crypto/signmessage.js';
import { createVerifier } from '../src/crypto/verifier.js';
import { exchangeProtocol } from '../src/protocol/exchange.js';
import { creditText, placeBidText } from '../src/protocol/signed-commands.js';
import { RpcPeer } from '../src/transport/rpc.js';
import { connectWebSocket } from '../src/transport/ws-client.js';
import { randomBytes } from 'node:crypto';
import { benchOptions, measureRate, percentile, printFigures, round } from './support.js';

type Peer = RpcPeer<typeof exchangeProtocol>;
const native = createRequire(import.meta.url)('secp256k1') as { ecdsaSign(message: Uint8Array, key: Uint8Array): { signature: Uint8Array; recid: number } };
const ARTICLE = 'bench/article';
const EXCHANGE_ID = 'bitwrk-bench';

function sign(text: string, identity: Identity): Uint8Array<ArrayBuffer> {
  const { signature, recid } = native.ecdsaSign(messageDigest(text), identity.privateKey);
  const bytes = new Uint8Array(65);
  bytes[0] = 27 + recid + 4;
  bytes.set(signature, 1);
  return bytes;
}

function bidBody(identity: Identity, side: 'buy' | 'sell', priceSats: number) {
  const unsigned = { article: ARTICLE, side, priceSats, address: identity.address, nonce: createNonce(realClock, (n) => new Uint8Array(randomBytes(n))) };
  return { ...unsigned, signature: sign(placeBidText(EXCHANGE_ID, unsigned), identity) };
}

async function connect(url: string): Promise<Peer> {
  return new RpcPeer(await connectWebSocket(url, { clock: realClock }), exchangeProtocol, {}, { clock: realClock, rateLimit: null, requestTimeoutMs: 60_000 });
}

const options = benchOptions();
const admin = identityFromPrivateKey(generatePrivateKey(), 'testnet');
const child = spawn(process.execPath, ['--import', 'tsx', 'bench/servers/exchange-server.ts'], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, BITWRK_BENCH_ADMIN_WIF: encodeWif(admin) },
});
try {
  const port = Number(await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve)));
  const url = `ws://127.0.0.1:${port}/ws`;
  const adminPeer = await connect(url);
  const participants = Array.from({ length: 1000 }, () => identityFromPrivateKey(generatePrivateKey(), 'testnet'));
  await Promise.all(participants.map((participant) => {
    const unsigned = { participant: participant.address, amountSats: 1_000_000_000, address: admin.address, nonce: createNonce(realClock, (n) => new Uint8Array(randomBytes(n))) };
    return adminPeer.request('credit', { ...unsigned, signature: sign(creditText(EXCHANGE_ID, unsigned), admin) });
  }));

  // Intake: 100 connections, 50 sellers and 50 buyers, each pipelining its pre-signed bids.
  const bidsPerConnection = options.quick ? 100 : 400;
  const intakePeers = await Promise.all(Array.from({ length: 100 }, () => connect(url)));
  const batches = intakePeers.map((_, index) => {
    const identity = participants[index]!;
    return Array.from({ length: bidsPerConnection }, () => bidBody(identity, index % 2 === 0 ? 'sell' : 'buy', 100));
  });
  const intakeStart = process.hrtime.bigint();
  let accepted = 0;
  await Promise.all(intakePeers.map(async (peer, index) => {
    const window = 32;
    const bodies = batches[index]!;
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        await peer.request('placeBid', body);
        accepted += 1;
      }
    };
    await Promise.all(Array.from({ length: window }, lane));
  }));
  const intakePerSecond = accepted / (Number(process.hrtime.bigint() - intakeStart) / 1e9);
  for (const peer of intakePeers) peer.close();

  // Latency: 1,000 subscribed clients; a seller rests a bid, then a buyer crosses it.
  const latencyPeers = await Promise.all(participants.map(() => connect(url)));
  await Promise.all(latencyPeers.map((peer, index) => peer.request('subscribe', { topic: `participant:${participants[index]!.address}` })));
  const samples: number[] = [];
  const sampleCount = options.quick ? 200 : 1000;
  for (let sample = 0; sample < sampleCount; sample++) {
    const sellerIndex = (sample * 2) % 1000;
    const buyerIndex = sellerIndex + 1;
    await latencyPeers[sellerIndex]!.request('placeBid', bidBody(participants[sellerIndex]!, 'sell', 100));
    const body = bidBody(participants[buyerIndex]!, 'buy', 100);
    const startNs = process.hrtime.bigint();
    const traded = new Promise<void>((resolve) => {
      const stop = latencyPeers[buyerIndex]!.onPush('event', ({ event }) => {
        if (event.type === 'trade') {
          stop();
          resolve();
        }
      });
    });
    await Promise.all([latencyPeers[buyerIndex]!.request('placeBid', body), traded]);
    samples.push(Number(process.hrtime.bigint() - startNs) / 1e6);
  }
  for (const peer of latencyPeers) peer.close();
  samples.sort((a, b) => a - b);

  const verifier = createVerifier('native');
  const probe = identityFromPrivateKey(generatePrivateKey(), 'testnet');
  const probeText = placeBidText(EXCHANGE_ID, { article: ARTICLE, side: 'buy', priceSats: 1, address: probe.address, nonce: '1' });
  const probeSignature = Buffer.from(sign(probeText, probe)).toString('base64');
  const nativeVerifiesPerSecond = measureRate(() => (verifier.verify(probeText, probe.address, probeSignature) ? 1 : 0), 1500);

  printFigures('exchange', {
    intakeBidsPerSecond: round(intakePerSecond),
    intakeClients: 100,
    bidsSent: accepted,
    latencyClients: 1000,
    bidToMatchP50Ms: round(percentile(samples, 0.5), 2),
    bidToMatchP99Ms: round(percentile(samples, 0.99), 2),
    nativeVerifiesPerSecond: round(nativeVerifiesPerSecond),
    ratioIntakeToNative: round(intakePerSecond / nativeVerifiesPerSecond, 3),
    goalRatio: 0.5,
    goalP99Ms: 10,
  });
  adminPeer.close();
} finally {
  child.kill('SIGTERM');
}

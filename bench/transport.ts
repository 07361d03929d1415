// Transport benchmark: request/response round trips per second over real loopback WebSockets,
// on one pipelined connection and spread over 100 connections. The server runs in its own
// process. Each round trip is two messages (request + response), so messages/s = 2 x trips/s.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { realClock } from '../src/clock.js';
import { RpcPeer } from '../src/transport/rpc.js';
import { connectWebSocket } from '../src/transport/ws-client.js';
import { testProtocol } from '../test/support/test-protocol.js';
import { benchOptions, printFigures, round } from './support.js';

type Peer = RpcPeer<typeof testProtocol>;

async function startServer(): Promise<{ port: number; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/servers/echo-server.ts'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  return { port: Number(line), stop: () => child.kill('SIGTERM') };
}

/** Keeps `window` requests in flight on each peer for `durationMs`; returns round trips/s. */
async function pipelined(peers: Peer[], window: number, durationMs: number): Promise<number> {
  let completed = 0;
  const endMs = Date.now() + durationMs;
  const startNs = process.hrtime.bigint();
  const lane = async (peer: Peer): Promise<void> => {
    while (Date.now() < endMs) {
      await peer.request('add', { a: completed, b: 1 });
      completed += 1;
    }
  };
  await Promise.all(peers.flatMap((peer) => Array.from({ length: window }, () => lane(peer))));
  return completed / (Number(process.hrtime.bigint() - startNs) / 1e9);
}

const options = benchOptions();
const durationMs = options.quick ? 3000 : 10_000;
const server = await startServer();
try {
  const url = `ws://127.0.0.1:${server.port}/ws`;
  const connect = async (): Promise<Peer> =>
    new RpcPeer(await connectWebSocket(url, { clock: realClock }), testProtocol, {}, { clock: realClock, rateLimit: null });
  const one = [await connect()];
  await pipelined(one, 64, 500); // warm up both processes
  const oneConnectionTripsPerSecond = await pipelined(one, 256, durationMs);
  const hundred = await Promise.all(Array.from({ length: 100 }, connect));
  const hundredConnectionsTripsPerSecond = await pipelined(hundred, 8, durationMs);
  for (const peer of [...one, ...hundred]) peer.close();
  printFigures('transport', {
    oneConnectionTripsPerSecond: round(oneConnectionTripsPerSecond),
    oneConnectionMessagesPerSecond: round(2 * oneConnectionTripsPerSecond),
    hundredConnectionsTripsPerSecond: round(hundredConnectionsTripsPerSecond),
    hundredConnectionsMessagesPerSecond: round(2 * hundredConnectionsTripsPerSecond),
    goalMessagesPerSecond: 50_000,
  });
} finally {
  server.stop();
}

// Two RpcPeers joined by the in-process transport on a virtual clock, for protocol tests that
// the test flushes by hand (STYLE.md example 15).
import { VirtualClock } from '../../src/clock.js';
import { createPrng } from '../../src/random.js';
import { MemoryNetwork, type NetworkFaults } from '../../src/transport/memory.js';
import { RpcPeer, type Handlers, type RpcPeerOptions } from '../../src/transport/rpc.js';
import type { ProtocolDefinition } from '../../src/transport/protocol.js';

export interface PeerPair<P extends ProtocolDefinition> {
  readonly clock: VirtualClock;
  readonly network: MemoryNetwork;
  readonly client: RpcPeer<P>;
  readonly server: RpcPeer<P>;
  /** Delivers everything in flight (advancing the clock past the latency) and lets promises settle. */
  flush(ms?: number): Promise<void>;
}

export function memoryPair<P extends ProtocolDefinition>(
  protocol: P,
  serverHandlers: Handlers<P>,
  options: { seed?: number; faults?: Partial<NetworkFaults>; serverPeer?: Omit<RpcPeerOptions, 'clock'>; clientHandlers?: Handlers<P> } = {},
): PeerPair<P> {
  const clock = new VirtualClock(1_700_000_000_000);
  const network = new MemoryNetwork({ clock, prng: createPrng(options.seed ?? 1), ...(options.faults ? { faults: options.faults } : {}) });
  let server: RpcPeer<P> | undefined;
  network.listen('server:1', (connection) => {
    server = new RpcPeer(connection, protocol, serverHandlers, { clock, ...options.serverPeer });
  });
  const connection = network.connect('client', 'server:1');
  if (connection === undefined || server === undefined) throw new Error('memory connect failed');
  const client = new RpcPeer(connection, protocol, options.clientHandlers ?? {}, { clock });
  const flush = (ms = 0): Promise<void> => flushClock(clock, ms);
  return { clock, network, client, server, flush };
}

/**
 * Moves `clock` forward by `ms`, alternating between its timers and the I/O and microtask queues
 * (at most `rounds` times) so that everything due by then has run.
 */
export async function flushClock(clock: VirtualClock, ms: number, rounds = 1000): Promise<void> {
  const targetMs = clock.now() + ms;
  for (let round = 0; round < rounds; round++) {
    await new Promise((resolve) => setImmediate(resolve));
    const due = clock.nextDueMs();
    if (due === undefined || due > targetMs) break;
    clock.advanceTo(due);
  }
  if (clock.now() < targetMs) clock.advanceTo(targetMs);
  await new Promise((resolve) => setImmediate(resolve));
}

// The in-process transport: Connections between named endpoints in one process, on the
// injected clock, with faults drawn from a seeded PRNG (latency, loss, partitions). The
// simulator and tests use it in place of WebSockets; the interface is the same.
//
// Faults are harsher than TCP on purpose: `lossProbability` drops single frames (a real socket
// would rather stall or break), which is how requests end up timing out in a simulation.
import { assert } from '../assert.js';
import type { Clock } from '../clock.js';
import { SEND_QUEUE_BYTES_MAX } from '../limits.js';
import type { Prng } from '../random.js';
import { CLOSE_CODES, type Connection, type ConnectionHandlers, type ConnectionListener } from './connection.js';

export interface NetworkFaults {
  /** One-way delivery delay, drawn uniformly per frame; frames of one connection stay in order. */
  latencyMs: { min: number; max: number };
  /** Probability that a single frame is dropped. */
  lossProbability: number;
}

export interface MemoryNetworkOptions {
  readonly clock: Clock;
  readonly prng: Prng;
  readonly faults?: Partial<NetworkFaults>;
  readonly sendQueueBytesMax?: number;
}

export class MemoryNetwork {
  readonly faults: NetworkFaults;
  private readonly listeners = new Map<string, ConnectionListener>();
  private readonly partitions = new Set<string>();
  private readonly connections = new Set<MemoryConnection>();
  private nextPort = 1;

  constructor(readonly options: MemoryNetworkOptions) {
    this.faults = { latencyMs: { min: 0, max: 0 }, lossProbability: 0, ...options.faults };
  }

  /** Accepts connections at `address` until the returned function is called. */
  listen(address: string, listener: ConnectionListener): () => void {
    assert(!this.listeners.has(address), `address ${address} is already in use`);
    this.listeners.set(address, listener);
    return () => this.listeners.delete(address);
  }

  /**
   * Opens a connection from `fromHost` to the listener at `toAddress`. Returns undefined when
   * nobody listens there or the two are partitioned (as a refused TCP connect would).
   */
  connect(fromHost: string, toAddress: string): Connection | undefined {
    const listener = this.listeners.get(toAddress);
    if (listener === undefined || this.isPartitioned(fromHost, hostOf(toAddress))) return undefined;
    const clientSide = new MemoryConnection(this, fromHost, toAddress);
    const serverSide = new MemoryConnection(this, hostOf(toAddress), `${fromHost}:${this.nextPort++}`);
    clientSide.peer = serverSide;
    serverSide.peer = clientSide;
    this.connections.add(clientSide).add(serverSide);
    listener(serverSide);
    return clientSide;
  }

  /** Cuts every connection between two hosts and refuses new ones until healed. */
  partition(hostA: string, hostB: string): void {
    this.partitions.add(partitionKey(hostA, hostB));
    for (const connection of [...this.connections]) {
      const peer = connection.peer;
      if (peer !== undefined && partitionKey(connection.localHost, peer.localHost) === partitionKey(hostA, hostB)) {
        connection.fail('network partition');
      }
    }
  }

  heal(hostA: string, hostB: string): void {
    this.partitions.delete(partitionKey(hostA, hostB));
  }

  isPartitioned(hostA: string, hostB: string): boolean {
    return this.partitions.has(partitionKey(hostA, hostB));
  }

  /** Draws the delivery delay of one frame, or undefined if the frame is lost. */
  drawDelay(): number | undefined {
    const { prng } = this.options;
    if (this.faults.lossProbability > 0 && prng.nextFloat() < this.faults.lossProbability) return undefined;
    const { min, max } = this.faults.latencyMs;
    return max > min ? min + prng.nextInt(max - min + 1) : min;
  }

  forget(connection: MemoryConnection): void {
    this.connections.delete(connection);
  }
}

class MemoryConnection implements Connection {
  peer: MemoryConnection | undefined;
  private handlers: ConnectionHandlers | undefined;
  private readonly early: Uint8Array[] = [];
  private inFlightBytes = 0;
  private lastDeliveryMs = 0;
  private open = true;

  constructor(
    private readonly network: MemoryNetwork,
    readonly localHost: string,
    readonly remoteAddress: string,
  ) {}

  get isOpen(): boolean {
    return this.open;
  }

  get bufferedBytes(): number {
    return this.inFlightBytes;
  }

  setHandlers(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
    for (const frame of this.early.splice(0)) handlers.frame(frame);
    if (!this.open) handlers.close(CLOSE_CODES.goingAway, 'closed before handlers were set');
  }

  send(frame: Uint8Array): boolean {
    const peer = this.peer;
    if (!this.open || peer === undefined) return false;
    const queueBytesMax = this.network.options.sendQueueBytesMax ?? SEND_QUEUE_BYTES_MAX;
    if (this.inFlightBytes + frame.byteLength > queueBytesMax) {
      this.close(CLOSE_CODES.slowConsumer, 'send queue full');
      return false;
    }
    const delayMs = this.network.drawDelay();
    if (delayMs === undefined) return true; // lost on the way
    const copy = new Uint8Array(frame); // a copy (Buffer#slice would be a view): the receiver must not share the sender's buffer
    const clock = this.network.options.clock;
    const deliverAtMs = Math.max(this.lastDeliveryMs, clock.now() + delayMs);
    this.lastDeliveryMs = deliverAtMs;
    this.inFlightBytes += copy.byteLength;
    clock.setTimer(() => {
      this.inFlightBytes -= copy.byteLength;
      if (this.open && peer.open) peer.receive(copy);
    }, deliverAtMs - clock.now());
    return true;
  }

  close(code: number, reason: string): void {
    if (!this.open) return;
    const peer = this.peer;
    this.finish(code, reason);
    // The other side learns of the close after the same latency as a frame would take.
    if (peer !== undefined) {
      const delayMs = this.network.faults.latencyMs.min;
      this.network.options.clock.setTimer(() => peer.finish(code, reason), delayMs);
    }
  }

  /** Both sides close at once, as when the network fails. */
  fail(reason: string): void {
    this.peer?.finish(CLOSE_CODES.networkFault, reason);
    this.finish(CLOSE_CODES.networkFault, reason);
  }

  private receive(frame: Uint8Array): void {
    if (this.handlers === undefined) this.early.push(frame);
    else this.handlers.frame(frame);
  }

  private finish(code: number, reason: string): void {
    if (!this.open) return;
    this.open = false;
    this.network.forget(this);
    this.handlers?.close(code, reason);
  }
}

function hostOf(address: string): string {
  const colon = address.lastIndexOf(':');
  return colon < 0 ? address : address.slice(0, colon);
}

function partitionKey(hostA: string, hostB: string): string {
  return hostA < hostB ? `${hostA}|${hostB}` : `${hostB}|${hostA}`;
}

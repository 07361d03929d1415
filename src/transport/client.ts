// A client that stays connected: it reconnects with exponential backoff and full jitter (drawn
// from the injected PRNG, on the injected clock), re-sends its subscriptions after every
// reconnect, and keeps push listeners across connections. Requests wait for a connection up to
// their timeout; a request in flight when the connection drops fails with connection_closed
// (the caller decides whether a retry is safe).
import { assert } from '../assert.js';
import type { Clock, TimerId } from '../clock.js';
import { RECONNECT_DELAY_MAX_MS, RECONNECT_DELAY_MIN_MS, REQUEST_TIMEOUT_MS } from '../limits.js';
import type { Prng } from '../random.js';
import { CLOSE_CODES, type Connection } from './connection.js';
import { ProtocolError } from './errors.js';
import type { ProtocolDefinition, PushBody, PushType, RequestBody, RequestType, ResponseBody } from './protocol.js';
import { RpcPeer, type Handlers, type RpcPeerOptions } from './rpc.js';

export type ClientState = 'connecting' | 'open' | 'waiting' | 'closed';

export interface ReconnectingClientOptions<P extends ProtocolDefinition> {
  readonly protocol: P;
  readonly clock: Clock;
  readonly prng: Prng;
  /** Opens one connection; rejects (or returns undefined) when that is not possible now. */
  readonly connect: () => Promise<Connection | undefined>;
  readonly handlers?: Handlers<P>;
  readonly peerOptions?: Omit<RpcPeerOptions, 'clock'>;
  readonly reconnectDelayMinMs?: number;
  readonly reconnectDelayMaxMs?: number;
  /** Told of every state change, with the reason for a drop. */
  readonly onStateChange?: (state: ClientState, detail: string) => void;
  /** Called after each (re)connect, before queued requests go out (e.g. to authenticate). */
  readonly onOpen?: (peer: RpcPeer<P>) => Promise<void> | void;
}

interface Subscription {
  readonly type: string;
  readonly body: unknown;
}

export class ReconnectingClient<P extends ProtocolDefinition> {
  private current: RpcPeer<P> | undefined;
  private stateValue: ClientState = 'closed';
  private attempt = 0;
  private reconnectTimer: TimerId | undefined;
  private stopped = true;
  private readonly waiters = new Set<(peer: RpcPeer<P> | undefined) => void>();
  private readonly subscriptions = new Set<Subscription>();
  private readonly pushListeners: Array<[string, (body: unknown) => void]> = [];

  constructor(private readonly options: ReconnectingClientOptions<P>) {}

  get state(): ClientState {
    return this.stateValue;
  }

  get peer(): RpcPeer<P> | undefined {
    return this.current?.isOpen === true ? this.current : undefined;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connectOnce();
  }

  /** Stops reconnecting and closes the current connection. */
  close(): void {
    this.stopped = true;
    if (this.reconnectTimer !== undefined) this.options.clock.clearTimer(this.reconnectTimer);
    this.current?.close(CLOSE_CODES.normal, 'client closed');
    this.setState('closed', 'closed by the client');
    for (const waiter of [...this.waiters]) waiter(undefined);
  }

  async request<T extends RequestType<P>>(
    type: T,
    body: RequestBody<P, T>,
    options: { timeoutMs?: number } = {},
  ): Promise<ResponseBody<P, T>> {
    const timeoutMs = options.timeoutMs ?? this.options.peerOptions?.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    const startMs = this.options.clock.now();
    const peer = await this.whenOpen(timeoutMs);
    const leftMs = Math.max(1, timeoutMs - (this.options.clock.now() - startMs));
    return peer.request(type, body, { timeoutMs: leftMs });
  }

  /** Resolves with an open peer, or rejects after `timeoutMs` (or when the client is closed). */
  whenOpen(timeoutMs: number): Promise<RpcPeer<P>> {
    const peer = this.peer;
    if (peer !== undefined && this.stateValue === 'open') return Promise.resolve(peer);
    if (this.stopped) return Promise.reject(ProtocolError.of('connection_closed', 'client is closed'));
    return new Promise((resolve, reject) => {
      const timer = this.options.clock.setTimer(() => {
        this.waiters.delete(waiter);
        reject(ProtocolError.of('request_timeout', `not connected within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (open: RpcPeer<P> | undefined): void => {
        this.waiters.delete(waiter);
        this.options.clock.clearTimer(timer);
        if (open === undefined) reject(ProtocolError.of('connection_closed', 'client is closed'));
        else resolve(open);
      };
      this.waiters.add(waiter);
    });
  }

  /**
   * Sends `type` with `body` now (if connected) and after every reconnect; the server answers
   * with pushes. Returns the function that stops re-sending it.
   */
  subscribe<T extends RequestType<P>>(type: T, body: RequestBody<P, T>): () => void {
    const subscription: Subscription = { type, body };
    this.subscriptions.add(subscription);
    const peer = this.peer;
    if (peer !== undefined && this.stateValue === 'open') void this.sendSubscription(peer, subscription);
    return () => this.subscriptions.delete(subscription);
  }

  onPush<T extends PushType<P>>(type: T, listener: (body: PushBody<P, T>) => void): void {
    const untyped = listener as (body: unknown) => void;
    this.pushListeners.push([type, untyped]);
    this.current?.onPush(type, untyped);
  }

  private async connectOnce(): Promise<void> {
    this.setState('connecting', `attempt ${this.attempt + 1}`);
    let connection: Connection | undefined;
    try {
      connection = await this.options.connect();
    } catch (error) {
      return this.scheduleReconnect((error as Error).message);
    }
    if (connection === undefined) return this.scheduleReconnect('connection refused');
    if (this.stopped) return connection.close(CLOSE_CODES.normal, 'client closed');
    const peer = new RpcPeer(connection, this.options.protocol, this.options.handlers ?? {}, {
      ...this.options.peerOptions,
      clock: this.options.clock,
    });
    this.current = peer;
    for (const [type, listener] of this.pushListeners) peer.onPush(type as PushType<P>, listener);
    void peer.closed.then(({ code, reason }) => {
      if (this.current === peer) this.current = undefined;
      if (!this.stopped) this.scheduleReconnect(`closed with ${code}${reason ? ` (${reason})` : ''}`);
    });
    try {
      await this.options.onOpen?.(peer);
    } catch (error) {
      return peer.close(CLOSE_CODES.normal, `setup failed: ${(error as Error).message}`);
    }
    if (!peer.isOpen) return;
    this.attempt = 0;
    this.setState('open', connection.remoteAddress);
    for (const subscription of this.subscriptions) void this.sendSubscription(peer, subscription);
    for (const waiter of [...this.waiters]) waiter(peer);
  }

  private async sendSubscription(peer: RpcPeer<P>, subscription: Subscription): Promise<void> {
    try {
      await peer.request(subscription.type as RequestType<P>, subscription.body as never);
    } catch (error) {
      // A failed subscription is retried on the next reconnect; a closed peer reconnects anyway.
      if (peer.isOpen) this.options.onStateChange?.(this.stateValue, `subscription ${subscription.type} failed: ${(error as Error).message}`);
    }
  }

  private scheduleReconnect(reason: string): void {
    if (this.stopped) return;
    const minMs = this.options.reconnectDelayMinMs ?? RECONNECT_DELAY_MIN_MS;
    const maxMs = this.options.reconnectDelayMaxMs ?? RECONNECT_DELAY_MAX_MS;
    assert(minMs > 0 && minMs <= maxMs, 'reconnect delays must be ordered');
    const ceilingMs = Math.min(maxMs, minMs * 2 ** Math.min(this.attempt, 30));
    const delayMs = minMs + this.options.prng.nextInt(Math.max(1, ceilingMs - minMs + 1));
    this.attempt += 1;
    this.setState('waiting', `${reason}; reconnecting in ${delayMs} ms`);
    this.reconnectTimer = this.options.clock.setTimer(() => {
      this.reconnectTimer = undefined;
      void this.connectOnce();
    }, delayMs);
  }

  private setState(state: ClientState, detail: string): void {
    this.stateValue = state;
    this.options.onStateChange?.(state, detail);
  }
}

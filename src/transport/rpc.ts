// Request/response and push over one Connection, with the envelope, per-type schemas, request
// timeouts on the injected clock, a per-connection rate limit and stable error codes.
// Incoming frames are checked in a fixed order: rate limit, size and structure (decode),
// version, envelope, type, body. A frame that is not a well-formed envelope closes the connection
// (one frame = one message, so there is no resynchronising); a bad body only fails its request.
import { assert } from '../assert.js';
import type { Clock, TimerId } from '../clock.js';
import {
  MESSAGES_BURST_MAX,
  MESSAGES_PER_SECOND_MAX,
  PENDING_REQUESTS_MAX,
  REQUEST_TIMEOUT_MS,
} from '../limits.js';
import { decodeUntrusted, encode, validate } from './codec.js';
import { CLOSE_CODES, type Connection } from './connection.js';
import { ProtocolError, type ErrorName } from './errors.js';
import {
  PROTOCOL_VERSION,
  envelopeSchema,
  type Envelope,
  type ProtocolDefinition,
  type PushBody,
  type PushType,
  type RequestBody,
  type RequestType,
  type ResponseBody,
  type ValidRequest,
} from './protocol.js';
import { TokenBucket, type RateLimit } from './rate-limit.js';

export interface HandlerContext<P extends ProtocolDefinition> {
  readonly peer: RpcPeer<P>;
}

export type Handlers<P extends ProtocolDefinition> = {
  readonly [T in RequestType<P>]?: (
    body: ValidRequest<P, T>,
    context: HandlerContext<P>,
  ) => ResponseBody<P, T> | Promise<ResponseBody<P, T>>;
};

export interface RpcPeerOptions {
  readonly clock: Clock;
  readonly requestTimeoutMs?: number;
  /** Incoming messages allowed per second; null turns the limit off (trusted in-process peers). */
  readonly rateLimit?: RateLimit | null;
  readonly pendingRequestsMax?: number;
  /** Told of every protocol error this side detects or sends (for metrics and logs). */
  readonly onProtocolError?: (error: ProtocolError) => void;
  /** Told of a handler that threw something other than a ProtocolError (a bug). */
  readonly onHandlerError?: (error: unknown, type: string) => void;
  /**
   * Asked before a request's body is even checked: a refusal (say, server_busy) is answered at
   * once, so shedding load costs as little as possible.
   */
  readonly admit?: (type: string) => ProtocolError | undefined;
  /**
   * Frames handled per turn of the event loop before the connection waits for the next turn
   * (servers facing many clients: one pipelining client cannot delay the others by whole
   * batches). Unset: no limit (in-process peers on a virtual clock stay deterministic).
   */
  readonly framesPerTurnMax?: number;
}

interface PendingRequest {
  readonly type: string;
  readonly timer: TimerId;
  resolve(value: unknown): void;
  reject(error: ProtocolError): void;
}

export interface PeerStats {
  framesIn: number;
  framesOut: number;
  requestsHandled: number;
  protocolErrors: number;
}

/** Frames a held connection may still deliver (what its transport had read before the pause). */
const HELD_FRAMES_MAX = 16_384;
/** Rate-limit violations within one second after which the connection is closed. */
const RATE_VIOLATIONS_MAX = 100;

export class RpcPeer<P extends ProtocolDefinition> {
  readonly stats: PeerStats = { framesIn: 0, framesOut: 0, requestsHandled: 0, protocolErrors: 0 };
  /** Resolves when the connection has closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Free slot for the owner (e.g. the authenticated identity of this connection). */
  data: Record<string, unknown> = {};

  private readonly pending = new Map<number, PendingRequest>();
  /** Ids of the peer's requests that a handler is still working on. */
  private readonly handling = new Set<number>();
  private readonly pushListeners = new Map<string, Set<(body: unknown) => void>>();
  private readonly bucket: TokenBucket | undefined;
  private readonly requestTimeoutMs: number;
  private readonly pendingRequestsMax: number;
  private nextRequestId = 1;
  private rateViolations = 0;
  private violationsSinceMs = 0;
  private open = true;
  /** While told to wait (server_busy): the timer that ends the wait, and the frames read meanwhile. */
  private heldUntil: TimerId | undefined;
  private readonly held: Uint8Array[] = [];
  /** Frames read in this turn of the event loop, and whether the connection is waiting for the next turn. */
  private turnFrames = 0;
  private yielding = false;
  /** Set by close(): nothing more is sent, even before the transport reports the close. */
  private closing = false;
  private resolveClosed!: (value: { code: number; reason: string }) => void;

  constructor(
    readonly connection: Connection,
    readonly protocol: P,
    private readonly handlers: Handlers<P>,
    private readonly options: RpcPeerOptions,
  ) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.pendingRequestsMax = options.pendingRequestsMax ?? PENDING_REQUESTS_MAX;
    const rateLimit = options.rateLimit === undefined ? { perSecond: MESSAGES_PER_SECOND_MAX, burst: MESSAGES_BURST_MAX } : options.rateLimit;
    this.bucket = rateLimit === null ? undefined : new TokenBucket(rateLimit, options.clock);
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    connection.setHandlers({
      frame: (frame) => this.receiveFrame(frame),
      close: (code, reason) => this.handleClose(code, reason),
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  get remoteAddress(): string {
    return this.connection.remoteAddress;
  }

  /** Sends a request and resolves with the validated response, or rejects with a ProtocolError. */
  request<T extends RequestType<P>>(
    type: T,
    body: RequestBody<P, T>,
    options: { timeoutMs?: number } = {},
  ): Promise<ResponseBody<P, T>> {
    assert(Object.hasOwn(this.protocol.requests, type), `unknown request type "${type}" in ${this.protocol.name}`);
    if (!this.open) return Promise.reject(ProtocolError.of('connection_closed'));
    if (this.pending.size >= this.pendingRequestsMax) return Promise.reject(ProtocolError.of('too_many_pending'));
    const id = this.nextRequestId++;
    return new Promise<ResponseBody<P, T>>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
      const timer = this.options.clock.setTimer(() => {
        this.pending.delete(id);
        reject(ProtocolError.of('request_timeout', `${type} after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { type, timer, resolve: resolve as (value: unknown) => void, reject });
      this.sendEnvelope({ v: PROTOCOL_VERSION, kind: 'request', id, type, body });
    });
  }

  /** Sends a push to the peer. Returns false when the connection is closed. */
  push<T extends PushType<P>>(type: T, body: PushBody<P, T>): boolean {
    assert(Object.hasOwn(this.protocol.pushes, type), `unknown push type "${type}" in ${this.protocol.name}`);
    return this.sendFrame(encodePush(type, body));
  }

  /** Sends a frame encoded elsewhere (a push encoded once for many subscribers). */
  sendFrame(frame: Uint8Array): boolean {
    if (!this.open || this.closing) return false;
    this.stats.framesOut += 1;
    return this.connection.send(frame);
  }

  /** Listens for pushes of one type; returns the function that stops listening. */
  onPush<T extends PushType<P>>(type: T, listener: (body: PushBody<P, T>) => void): () => void {
    assert(Object.hasOwn(this.protocol.pushes, type), `unknown push type "${type}" in ${this.protocol.name}`);
    let listeners = this.pushListeners.get(type);
    if (listeners === undefined) this.pushListeners.set(type, (listeners = new Set()));
    const untyped = listener as (body: unknown) => void;
    listeners.add(untyped);
    return () => listeners.delete(untyped);
  }

  close(code: number = CLOSE_CODES.normal, reason = 'closed'): void {
    this.closing = true;
    this.connection.close(code, reason);
  }

  private sendEnvelope(envelope: Envelope): void {
    this.sendFrame(encode(envelope));
  }

  private sendError(id: number | null, error: ProtocolError): void {
    this.stats.protocolErrors += 1;
    this.options.onProtocolError?.(error);
    const retry = error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs };
    this.sendEnvelope({ v: PROTOCOL_VERSION, kind: 'error', id, code: error.code, name: error.errorName, message: error.message.slice(0, 1024), ...retry });
  }

  /**
   * Answers a refusal. One that asks the peer to come back later (server_busy) is also enforced:
   * this connection is not read for that long, so a flood costs one refusal per connection per
   * wait instead of one per frame (its frames wait in its own socket, not in our memory).
   */
  private refuse(id: number, error: ProtocolError): void {
    this.sendError(id, error);
    if (error.retryAfterMs !== undefined && error.retryAfterMs > 0) this.holdFor(error.retryAfterMs);
  }

  private holdFor(ms: number): void {
    if (this.heldUntil !== undefined) return;
    this.yielding = false;
    this.heldUntil = this.options.clock.setTimer(() => this.release(), ms);
    this.connection.pause?.();
  }

  /** Stops reading after this turn's share of frames; the rest are read in a later turn. */
  private yieldTurn(): void {
    this.yielding = true;
    this.connection.pause?.();
    setImmediate(() => {
      if (this.yielding) this.release();
    });
  }

  private get isHolding(): boolean {
    return this.heldUntil !== undefined || this.yielding;
  }

  private release(): void {
    this.heldUntil = undefined;
    this.yielding = false;
    this.turnFrames = 0;
    this.connection.resume?.();
    while (this.held.length > 0 && !this.isHolding && this.open) this.receiveFrame(this.held.shift()!);
  }

  /** Reports a frame-level error to the peer and closes: the stream cannot be trusted further. */
  private failConnection(error: ProtocolError, closeCode: number): void {
    this.sendError(null, error);
    this.close(closeCode, error.message.slice(0, 120));
  }

  private receiveFrame(frame: Uint8Array): void {
    if (!this.open) return;
    const perTurn = this.options.framesPerTurnMax;
    if (perTurn !== undefined && !this.isHolding && ++this.turnFrames > perTurn) this.yieldTurn();
    if (perTurn !== undefined && this.turnFrames === 1) setImmediate(() => (this.turnFrames = 0));
    if (this.isHolding) {
      // Only what the transport had already read arrives while it is paused: a bounded few.
      if (this.held.length >= HELD_FRAMES_MAX) return this.failConnection(ProtocolError.of('rate_limited', 'too many frames while told to wait'), CLOSE_CODES.rateLimited);
      this.held.push(frame);
      return;
    }
    this.stats.framesIn += 1;
    const limited = this.bucket !== undefined && !this.bucket.take();
    const decoded = decodeUntrusted(frame);
    if (!decoded.ok) return this.failConnection(decoded.error, decoded.error.errorName === 'frame_too_large' ? CLOSE_CODES.messageTooBig : CLOSE_CODES.malformed);
    const version = (decoded.value as { v?: unknown } | null)?.v;
    if (version !== PROTOCOL_VERSION) {
      const error = ProtocolError.of('unsupported_version', `got ${String(version)}, this side speaks ${PROTOCOL_VERSION}`);
      return this.failConnection(error, CLOSE_CODES.unsupportedVersion);
    }
    const checked = validate(envelopeSchema, decoded.value, 'invalid_envelope');
    if (!checked.ok) return this.failConnection(checked.error, CLOSE_CODES.malformed);
    if (limited) return this.rejectRateLimited(checked.value);
    this.dispatch(checked.value);
  }

  private rejectRateLimited(envelope: Envelope): void {
    // Counted per second, not "in a row": under a sustained flood the bucket refills a token now
    // and then, which must not reset the count.
    const nowMs = this.options.clock.now();
    if (nowMs - this.violationsSinceMs >= 1000) {
      this.violationsSinceMs = nowMs;
      this.rateViolations = 0;
    }
    this.rateViolations += 1;
    if (this.rateViolations > RATE_VIOLATIONS_MAX) {
      return this.failConnection(ProtocolError.of('rate_limited', 'connection closed'), CLOSE_CODES.rateLimited);
    }
    if (envelope.kind === 'request') this.sendError(envelope.id, ProtocolError.of('rate_limited'));
  }

  private dispatch(envelope: Envelope): void {
    switch (envelope.kind) {
      case 'request':
        return void this.handleRequest(envelope.id, envelope.type, envelope.body);
      case 'response':
        return this.settle(envelope.id, (request) => {
          const definition = this.protocol.requests[request.type]!;
          const checked = validate(definition.response, envelope.body, 'invalid_response');
          if (checked.ok) request.resolve(checked.value);
          else request.reject(checked.error);
        });
      case 'error':
        if (envelope.id === null) return; // a frame-level complaint; the peer closes next
        return this.settle(envelope.id, (request) =>
          request.reject(new ProtocolError(envelope.name, envelope.code, envelope.message, envelope.retryAfterMs)),
        );
      case 'push':
        return this.deliverPush(envelope.type, envelope.body);
    }
  }

  private settle(id: number, action: (request: PendingRequest) => void): void {
    const request = this.pending.get(id);
    if (request === undefined) return; // timed out already; the late answer is dropped
    this.pending.delete(id);
    this.options.clock.clearTimer(request.timer);
    action(request);
  }

  private async handleRequest(id: number, type: string, body: unknown): Promise<void> {
    // An id still in use cannot be answered by id (the real answer will carry it): id null.
    if (this.handling.has(id)) return this.sendError(null, ProtocolError.of('duplicate_request_id', `id ${id} is still being handled; this request was dropped`));
    const definition = Object.hasOwn(this.protocol.requests, type) ? this.protocol.requests[type] : undefined;
    const handler = Object.hasOwn(this.handlers, type) ? (this.handlers as Record<string, Function>)[type] : undefined;
    if (definition === undefined || handler === undefined) {
      return this.sendError(id, ProtocolError.of('unknown_type', `"${type}" is not a request of ${this.protocol.name}`));
    }
    const refused = this.options.admit?.(type);
    if (refused !== undefined) return this.refuse(id, refused);
    const checked = validate(definition.request, body, 'invalid_body');
    if (!checked.ok) return this.sendError(id, bigIntegerError(body) ?? checked.error);
    if (this.handling.size >= this.pendingRequestsMax) return this.sendError(id, ProtocolError.of('too_many_pending'));
    this.handling.add(id);
    this.stats.requestsHandled += 1;
    try {
      const response: unknown = await handler(checked.value, { peer: this });
      if (this.open) this.sendEnvelope({ v: PROTOCOL_VERSION, kind: 'response', id, body: response });
    } catch (error) {
      if (!this.open) return;
      if (error instanceof ProtocolError) return this.refuse(id, error);
      this.options.onHandlerError?.(error, type);
      this.sendError(id, ProtocolError.of('internal'));
    } finally {
      this.handling.delete(id);
    }
  }

  private deliverPush(type: string, body: unknown): void {
    const schema = Object.hasOwn(this.protocol.pushes, type) ? this.protocol.pushes[type] : undefined;
    if (schema === undefined) return this.countError('unknown_type', `push "${type}"`);
    const checked = validate(schema, body, 'invalid_body');
    if (!checked.ok) return this.countError('invalid_body', checked.error.message);
    for (const listener of this.pushListeners.get(type) ?? []) listener(checked.value);
  }

  private countError(name: ErrorName, detail: string): void {
    this.stats.protocolErrors += 1;
    this.options.onProtocolError?.(ProtocolError.of(name, detail));
  }

  private handleClose(code: number, reason: string): void {
    if (!this.open) return;
    this.open = false;
    if (this.heldUntil !== undefined) this.options.clock.clearTimer(this.heldUntil);
    this.held.length = 0;
    for (const [id, request] of this.pending) {
      this.options.clock.clearTimer(request.timer);
      request.reject(ProtocolError.of('connection_closed', `code ${code}${reason ? `: ${reason}` : ''}`));
      this.pending.delete(id);
    }
    this.resolveClosed({ code, reason });
  }
}

/**
 * 1014 for a body that carries an integer beyond 2^53 - 1 (decoded as a bigint): no schema takes
 * one, and this names the field instead of a generic 1006. Runs only after validation failed.
 */
function bigIntegerError(body: unknown): ProtocolError | undefined {
  const pending: Array<[unknown, string]> = [[body, 'body']];
  for (let visited = 0; pending.length > 0 && visited < 100_000; visited++) {
    const [value, path] = pending.pop()!;
    if (typeof value === 'bigint') return ProtocolError.of('integer_out_of_range', `${path} is ${value}`);
    if (value === null || typeof value !== 'object' || value instanceof Uint8Array) continue;
    for (const [key, entry] of Object.entries(value)) pending.push([entry, `${path}.${key}`]);
  }
  return undefined;
}

/** Encodes a push once, for sending to many peers with sendFrame. */
export function encodePush(type: string, body: unknown): Uint8Array {
  return encode({ v: PROTOCOL_VERSION, kind: 'push', type, body });
}

// A bare WebSocket client of the exchange for the reliability suite: pipelined requests matched
// by id, raw frames (valid or not), pushes counted, the close code kept, and a source address to
// bind to. None of the project's RPC layer is used on this side, so its bugs cannot hide the
// server's; only the codec decodes answers.
import WebSocket from 'ws';
import { decodeUntrusted, encode } from '../../src/transport/codec.js';
import { requestFrame } from './envelope.js';
import { withTimeout } from './timing.js';

/** How a request ended: an answer, or the connection closed first (outcome unknown). */
export type Outcome =
  | { readonly kind: 'response'; readonly body: unknown }
  | { readonly kind: 'error'; readonly code: number; readonly name: string; readonly message: string; readonly retryAfterMs?: unknown }
  | { readonly kind: 'closed' };

export interface RawSocketOptions {
  readonly localAddress?: string;
  /** Give up on the handshake after this long (default 10 s). */
  readonly connectTimeoutMs?: number;
}

interface Envelope {
  readonly kind?: unknown;
  readonly id?: unknown;
  readonly body?: unknown;
  readonly code?: unknown;
  readonly name?: unknown;
  readonly message?: unknown;
  readonly retryAfterMs?: unknown;
}

export class RawSocket {
  /** Pushes received. */
  pushes = 0;
  /** Error envelopes with id nil (frame-level complaints, 1012 duplicates), by code. */
  readonly nullIdErrors: number[] = [];
  /** Answers whose id matched no pending request (late, or to a frame we did not track). */
  strayAnswers = 0;
  /** Frames that did not decode (the server should never send one). */
  undecodable = 0;
  closedWith: { code: number; reason: string } | undefined;
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly pending = new Map<number, (outcome: Outcome) => void>();
  private readonly frameListeners = new Set<(envelope: Envelope) => void>();
  private nextId = 1;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => this.receive(data));
    this.closed = new Promise((resolve) => {
      socket.on('close', (code: number, reason: Buffer) => {
        this.closedWith = { code, reason: reason.toString() };
        for (const settle of this.pending.values()) settle({ kind: 'closed' });
        this.pending.clear();
        resolve(this.closedWith);
      });
    });
    socket.on('error', () => undefined); // always followed by 'close'
  }

  static async connect(url: string, options: RawSocketOptions = {}): Promise<RawSocket> {
    const socket = new WebSocket(url, {
      perMessageDeflate: false,
      maxPayload: 64 * 1024 * 1024,
      handshakeTimeout: options.connectTimeoutMs ?? 10_000,
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    });
    const opened = new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_request, response) => {
        reject(new HttpRefusal(response.statusCode ?? 0));
        socket.terminate();
      });
    });
    try {
      await withTimeout(opened, (options.connectTimeoutMs ?? 10_000) + 1000, `no WebSocket handshake with ${url}`);
    } catch (error) {
      socket.terminate();
      throw error;
    }
    return new RawSocket(socket);
  }

  get isOpen(): boolean {
    return this.closedWith === undefined && this.socket.readyState === WebSocket.OPEN;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Sends a request with a body encoded here; resolves with how it ended. */
  request(type: string, body: unknown): Promise<Outcome> {
    return this.requestRaw(type, encode(body));
  }

  /** Sends a request around body bytes encoded elsewhere (kept byte-identical for resends). */
  requestRaw(type: string, body: Uint8Array): Promise<Outcome> {
    const id = this.nextId++;
    return this.requestWithId(id, requestFrame(id, type, body));
  }

  /** Sends a whole frame whose envelope carries `id` and waits for the answer with that id. */
  requestWithId(id: number, frame: Uint8Array): Promise<Outcome> {
    if (!this.isOpen) return Promise.resolve({ kind: 'closed' });
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.socket.send(frame, { binary: true });
    });
  }

  /** A fresh request id (for frames built by the caller). */
  takeId(): number {
    return this.nextId++;
  }

  /** Sends any bytes or text as one WebSocket message; false when the socket is not open. */
  send(frame: Uint8Array | string, binary = typeof frame !== 'string'): boolean {
    if (!this.isOpen) return false;
    this.socket.send(frame, { binary });
    return true;
  }

  /** Calls `listener` with every decoded frame; returns the function that stops it. */
  onFrame(listener: (envelope: Envelope) => void): () => void {
    this.frameListeners.add(listener);
    return () => this.frameListeners.delete(listener);
  }

  close(): void {
    if (this.closedWith === undefined) this.socket.close();
  }

  terminate(): void {
    this.socket.terminate();
  }

  private receive(data: Buffer): void {
    const decoded = decodeUntrusted(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (!decoded.ok || decoded.value === null || typeof decoded.value !== 'object') {
      this.undecodable += 1;
      return;
    }
    const envelope = decoded.value as Envelope;
    for (const listener of this.frameListeners) listener(envelope);
    if (envelope.kind === 'push') {
      this.pushes += 1;
      return;
    }
    if (envelope.kind === 'error' && envelope.id === null) {
      this.nullIdErrors.push(Number(envelope.code));
      return;
    }
    const settle = typeof envelope.id === 'number' ? this.pending.get(envelope.id) : undefined;
    if (settle === undefined) {
      this.strayAnswers += 1;
      return;
    }
    this.pending.delete(envelope.id as number);
    settle(toOutcome(envelope));
  }
}

function toOutcome(envelope: Envelope): Outcome {
  if (envelope.kind === 'response') return { kind: 'response', body: envelope.body };
  return {
    kind: 'error',
    code: Number(envelope.code),
    name: String(envelope.name),
    message: String(envelope.message),
    ...(envelope.retryAfterMs === undefined ? {} : { retryAfterMs: envelope.retryAfterMs }),
  };
}

/** The server refused the WebSocket upgrade with an HTTP status (429, 503, 404). */
export class HttpRefusal extends Error {
  override name = 'HttpRefusal';

  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

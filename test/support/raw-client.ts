// A bare WebSocket client for black-box tests: sends hand-built envelopes (or any bytes) and
// collects what comes back, decoded, by request id; also records the close code. Nothing of the
// project's RPC layer is used on this side, so its bugs cannot hide the server's.
import WebSocket from 'ws';
import { decodeUntrusted, encode } from '../../src/transport/codec.js';

export interface RawAnswer {
  readonly kind: string;
  readonly id: number | null;
  readonly body?: unknown;
  readonly code?: number;
  readonly name?: string;
  readonly message?: string;
  readonly retryAfterMs?: number;
  readonly [field: string]: unknown;
}

export class RawClient {
  readonly answers: RawAnswer[] = [];
  readonly frames: Buffer[] = [];
  closed: { code: number; reason: string } | undefined;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      this.frames.push(data);
      const decoded = decodeUntrusted(new Uint8Array(data));
      if (decoded.ok) this.answers.push(decoded.value as RawAnswer);
      this.wake();
    });
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static async connect(url: string, options: WebSocket.ClientOptions = {}): Promise<RawClient> {
    const socket = new WebSocket(url, { perMessageDeflate: false, ...options });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
    });
    return new RawClient(socket);
  }

  request(id: number, type: string, body: unknown): void {
    this.send(encode({ v: 1, kind: 'request', id, type, body }));
  }

  send(frame: Uint8Array | string): void {
    this.socket.send(frame, { binary: typeof frame !== 'string' });
  }

  /** The answer (response or error) to request `id`. */
  async answer(id: number, timeoutMs = 10_000): Promise<RawAnswer> {
    await this.until(() => this.answers.some((answer) => answer.id === id) || this.closed !== undefined, timeoutMs, `an answer to ${id}`);
    const found = this.answers.find((answer) => answer.id === id);
    if (found === undefined) throw new Error(`closed (${this.closed?.code} ${this.closed?.reason}) before an answer to ${id}`);
    return found;
  }

  async closedWith(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    await this.until(() => this.closed !== undefined, timeoutMs, 'the close');
    return this.closed!;
  }

  async until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!predicate()) {
      if (performance.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 20); // tidy-allow: a real socket in real time
        this.waiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.close();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
    this.waiters.clear();
  }
}

// Raw TCP clients for the HTTP abuse scenario: sockets that say nothing, say very little, or say
// far too much, each remembering when it opened, what the server answered and when it closed.
import { connect, type Socket } from 'node:net';
import { nowMs, withTimeout } from './timing.js';

export class TrackedSocket {
  readonly openedMs: number;
  closedMs: number | undefined;
  /** The first bytes the server sent (its status line, for a refusal). */
  received = '';
  /** Bytes this side managed to write before the server stopped reading or closed. */
  written = 0;
  readonly closed: Promise<void>;

  constructor(readonly socket: Socket) {
    this.openedMs = nowMs();
    socket.on('data', (chunk: Buffer) => {
      if (this.received.length < 512) this.received += chunk.toString('latin1').slice(0, 512 - this.received.length);
    });
    socket.on('error', () => undefined); // a reset by the server is an outcome, not a failure here
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.closedMs = nowMs();
      resolve();
    }));
  }

  /** The HTTP status the server sent, or 0 if none (yet). */
  get status(): number {
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(this.received);
    return match === null ? 0 : Number(match[1]);
  }

  get isClosed(): boolean {
    return this.closedMs !== undefined;
  }

  /** Milliseconds it was open (until now while it still is). */
  get lifetimeMs(): number {
    return (this.closedMs ?? nowMs()) - this.openedMs;
  }

  write(data: string | Uint8Array): boolean {
    if (this.isClosed || this.socket.destroyed) return false;
    this.written += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    return this.socket.write(data);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Opens a TCP connection to 127.0.0.1:`port` from `localAddress`; rejects if it cannot. */
export async function openTcp(port: number, localAddress: string, timeoutMs = 5000): Promise<TrackedSocket> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  try {
    await withTimeout(connected, timeoutMs, `no TCP connection from ${localAddress}`);
  } catch (error) {
    socket.destroy();
    throw error;
  }
  return new TrackedSocket(socket);
}

// A Connection over one `ws` WebSocket, used on both sides. Binary frames only; a bounded
// send queue (the socket's bufferedAmount); heartbeats on the injected clock: the server side
// pings, the client side expects those pings, and either side drops a silent peer.
import type { WebSocket } from 'ws';
import type { Clock, TimerId } from '../clock.js';
import { HEARTBEAT_INTERVAL_MS, HEARTBEAT_TIMEOUT_MS, SEND_QUEUE_BYTES_MAX } from '../limits.js';
import { CLOSE_CODES, type Connection, type ConnectionHandlers } from './connection.js';

export interface WsConnectionOptions {
  readonly clock: Clock;
  readonly role: 'server' | 'client';
  readonly remoteAddress: string;
  readonly sendQueueBytesMax?: number;
  readonly heartbeatIntervalMs?: number;
  readonly heartbeatTimeoutMs?: number;
}

/** How long a dropped peer's socket may take to finish its close before it is cut. */
const TERMINATE_AFTER_MS = 1_000;
/** Frames held while no handlers are set yet. */
const EARLY_FRAMES_MAX = 64;

export class WsConnection implements Connection {
  readonly remoteAddress: string;
  private handlers: ConnectionHandlers | undefined;
  private readonly early: Uint8Array[] = [];
  private closedWith: { code: number; reason: string } | undefined;
  private localCloseCode: number | undefined;
  private lastHeardMs: number;
  private heartbeatTimer: TimerId | undefined;
  private readonly sendQueueBytesMax: number;

  constructor(
    private readonly socket: WebSocket,
    private readonly options: WsConnectionOptions,
  ) {
    this.remoteAddress = options.remoteAddress;
    this.sendQueueBytesMax = options.sendQueueBytesMax ?? SEND_QUEUE_BYTES_MAX;
    this.lastHeardMs = options.clock.now();
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data: Buffer, isBinary: boolean) => this.receive(data, isBinary));
    socket.on('ping', () => this.heard());
    socket.on('pong', () => this.heard());
    // 'error' is always followed by 'close'; the handler only keeps the process alive.
    socket.on('error', () => {});
    socket.on('close', (code: number, reason: Buffer) => this.finish(code, reason.toString('utf8')));
    this.scheduleHeartbeat();
  }

  get isOpen(): boolean {
    return this.closedWith === undefined && this.socket.readyState === 1;
  }

  get bufferedBytes(): number {
    return this.socket.bufferedAmount;
  }

  setHandlers(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
    for (const frame of this.early.splice(0)) handlers.frame(frame);
    if (this.closedWith !== undefined) handlers.close(this.closedWith.code, this.closedWith.reason);
  }

  send(frame: Uint8Array): boolean {
    if (!this.isOpen) return false;
    if (this.socket.bufferedAmount + frame.byteLength > this.sendQueueBytesMax) {
      this.close(CLOSE_CODES.slowConsumer, 'slow consumer: send queue full');
      return false;
    }
    this.socket.send(frame, { binary: true });
    return true;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(code: number, reason: string): void {
    if (this.closedWith !== undefined || this.localCloseCode !== undefined) return;
    this.localCloseCode = code;
    if (code === CLOSE_CODES.slowConsumer || code === CLOSE_CODES.heartbeatTimeout) {
      // The peer is not reading (or gone): send the close frame so a live peer learns why, but
      // do not wait for the closing handshake, which could queue behind the backlog forever.
      this.socket.close(code, reason.slice(0, 120));
      setTimeout(() => this.socket.terminate(), TERMINATE_AFTER_MS).unref(); // tidy-allow: a real socket's last resort
      this.finish(code, reason);
      return;
    }
    this.socket.close(code, reason.slice(0, 120));
  }

  private receive(data: Buffer, isBinary: boolean): void {
    this.heard();
    if (!isBinary) return this.close(CLOSE_CODES.malformed, 'text frames are not accepted');
    const frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (this.handlers !== undefined) return this.handlers.frame(frame);
    if (this.early.length >= EARLY_FRAMES_MAX) return this.close(CLOSE_CODES.slowConsumer, 'too many early frames');
    this.early.push(frame);
  }

  private heard(): void {
    this.lastHeardMs = this.options.clock.now();
  }

  private scheduleHeartbeat(): void {
    const clock = this.options.clock;
    const intervalMs = this.options.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS;
    const timeoutMs = this.options.heartbeatTimeoutMs ?? HEARTBEAT_TIMEOUT_MS;
    this.heartbeatTimer = clock.setTimer(() => {
      this.heartbeatTimer = undefined;
      if (!this.isOpen) return;
      if (clock.now() - this.lastHeardMs >= timeoutMs) {
        return this.close(CLOSE_CODES.heartbeatTimeout, `no sign of life for ${timeoutMs} ms`);
      }
      if (this.options.role === 'server') this.socket.ping();
      this.scheduleHeartbeat();
    }, intervalMs);
  }

  private finish(code: number, reason: string): void {
    if (this.closedWith !== undefined) return;
    if (this.heartbeatTimer !== undefined) this.options.clock.clearTimer(this.heartbeatTimer);
    // Report the code this side chose (ws reports 1006 after terminate()).
    this.closedWith = { code: this.localCloseCode ?? code, reason };
    this.handlers?.close(this.closedWith.code, reason);
  }
}

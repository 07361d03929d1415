// Limits on the TCP connections an HTTP server (and the WebSocket endpoints on it) accepts, so an
// attacker cannot use up the process's file descriptors or hold sockets open forever: a cap on
// connections in all and per remote address, counted for every TCP connection (not only for
// WebSocket upgrades); an idle timeout for sockets that say nothing (before a request, between
// keep-alive requests); and short header and request timeouts against slowloris. An upgraded
// WebSocket leaves the HTTP timeouts (ws clears them) and is watched by its heartbeat instead.
import { readFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionGuardOptions {
  /** TCP connections open at once; more are answered 503 and closed. */
  readonly connectionsMax?: number;
  /** TCP connections from one remote address; more are answered 429 and closed. */
  readonly connectionsPerAddressMax?: number;
  /** A socket that sends nothing for this long is closed (before a request, or between requests). */
  readonly idleTimeoutMs?: number;
  /** A request's headers must arrive within this. */
  readonly headersTimeoutMs?: number;
  /** A whole request (headers and body) must arrive within this; 0 for none (long uploads). */
  readonly requestTimeoutMs?: number;
}

export interface ConnectionGuard {
  readonly connections: number;
  /** Refusals so far, by reason (for metrics and tests). */
  readonly refused: { readonly total: number; readonly perAddress: number };
}

export const CONNECTIONS_PER_ADDRESS_MAX = 64;
export const IDLE_TIMEOUT_MS = 30_000;
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS_HTTP = 30_000;
/** File descriptors kept free for the store, worker threads and outgoing connections. */
const DESCRIPTORS_RESERVED = 256;

/**
 * The default cap on connections: what the process's file-descriptor limit leaves after a reserve,
 * and at most 10,000 (Linux: read from /proc/self/limits; elsewhere 4,096 is assumed).
 */
export function defaultConnectionsMax(): number {
  let descriptors = 4096;
  try {
    const match = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (match !== null) descriptors = Number(match[1]);
  } catch {
    // Not Linux: keep the assumption.
  }
  return Math.max(64, Math.min(10_000, descriptors - DESCRIPTORS_RESERVED));
}

/** How often Node checks the header and request timeouts (its default, 30 s, would let them run long). */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/** An HTTP server with its connections guarded (the usual way to make one). */
export function createGuardedServer(handler: RequestListener, options: ConnectionGuardOptions = {}): { server: Server; guard: ConnectionGuard } {
  const server = createServer({ connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS }, handler);
  return { server, guard: guardConnections(server, options) };
}

export function guardConnections(server: Server, options: ConnectionGuardOptions = {}): ConnectionGuard {
  const connectionsMax = options.connectionsMax ?? defaultConnectionsMax();
  const perAddressMax = options.connectionsPerAddressMax ?? CONNECTIONS_PER_ADDRESS_MAX;
  const perAddress = new Map<string, number>();
  const refused = { total: 0, perAddress: 0 };
  let connections = 0;
  server.timeout = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
  server.keepAliveTimeout = Math.min(5_000, server.timeout);
  server.headersTimeout = options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
  server.requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_HTTP;
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const fromAddress = perAddress.get(address) ?? 0;
    if (connections >= connectionsMax || fromAddress >= perAddressMax) {
      const total = connections >= connectionsMax;
      if (total) refused.total += 1;
      else refused.perAddress += 1;
      return refuseSocket(socket, total ? '503 Service Unavailable' : '429 Too Many Requests');
    }
    connections += 1;
    perAddress.set(address, fromAddress + 1);
    socket.once('close', () => {
      connections -= 1;
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left === 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
  });
  return {
    get connections() {
      return connections;
    },
    refused,
  };
}

function refuseSocket(socket: Socket, status: string): void {
  socket.on('error', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroySoon();
}

// WebSocket endpoint that shares an http.Server (so the HTTP API and WebSockets use one port).
// Limits: frame size (ws maxPayload), connections per remote IP, a send queue per connection.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Clock } from '../clock.js';
import { FRAME_BYTES_MAX } from '../limits.js';
import { CLOSE_CODES, type ConnectionListener } from './connection.js';
import { WsConnection } from './ws-connection.js';

export interface WebSocketEndpointOptions {
  readonly clock: Clock;
  readonly onConnection: ConnectionListener;
  /** URL path that upgrades; other paths are refused with 404. */
  readonly path?: string;
  readonly frameBytesMax?: number;
  readonly sendQueueBytesMax?: number;
  readonly connectionsPerAddressMax?: number;
  readonly heartbeatIntervalMs?: number;
  readonly heartbeatTimeoutMs?: number;
}

export interface WebSocketEndpoint {
  readonly connectionCount: number;
  /** Closes every connection with 1001 (going away) and stops accepting upgrades. */
  close(): Promise<void>;
}

export const DEFAULT_WS_PATH = '/ws';
const CONNECTIONS_PER_ADDRESS_MAX = 64;

export function attachWebSocketServer(httpServer: Server, options: WebSocketEndpointOptions): WebSocketEndpoint {
  const path = options.path ?? DEFAULT_WS_PATH;
  const perAddressMax = options.connectionsPerAddressMax ?? CONNECTIONS_PER_ADDRESS_MAX;
  const perAddress = new Map<string, number>();
  const sockets = new Set<WebSocket>();
  const server = new WebSocketServer({
    noServer: true,
    maxPayload: options.frameBytesMax ?? FRAME_BYTES_MAX,
    perMessageDeflate: false,
    clientTracking: false,
  });
  server.on('error', () => {}); // errors surface per socket

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const address = request.socket.remoteAddress ?? 'unknown';
    const requestPath = (request.url ?? '/').split('?')[0];
    if (requestPath !== path) return refuse(socket, 404, 'Not Found');
    if ((perAddress.get(address) ?? 0) >= perAddressMax) return refuse(socket, 429, 'Too Many Connections');
    perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
    server.handleUpgrade(request, socket, head, (webSocket) => {
      sockets.add(webSocket);
      webSocket.once('close', () => {
        sockets.delete(webSocket);
        const remaining = (perAddress.get(address) ?? 1) - 1;
        if (remaining === 0) perAddress.delete(address);
        else perAddress.set(address, remaining);
      });
      const connection = new WsConnection(webSocket, {
        clock: options.clock,
        role: 'server',
        remoteAddress: `${address}:${request.socket.remotePort ?? 0}`,
        ...pick(options, ['sendQueueBytesMax', 'heartbeatIntervalMs', 'heartbeatTimeoutMs']),
      });
      options.onConnection(connection);
    });
  };
  httpServer.on('upgrade', onUpgrade);

  return {
    get connectionCount() {
      return sockets.size;
    },
    async close() {
      httpServer.off('upgrade', onUpgrade);
      const closing = [...sockets].map(
        (socket) => new Promise<void>((resolve) => {
          socket.once('close', () => resolve());
          socket.close(CLOSE_CODES.goingAway, 'server shutting down');
          setTimeout(() => socket.terminate(), 1000).unref(); // tidy-allow: real-socket shutdown fallback
        }),
      );
      await Promise.all(closing);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Copies the named options that are set (exactOptionalPropertyTypes forbids passing undefined). */
export function pick<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const result: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) result[key] = source[key];
  return result;
}

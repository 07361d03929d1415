// WebSocket endpoint that shares an http.Server (so the HTTP API and WebSockets use one port).
// Limits: frame size (ws maxPayload), connections per remote IP, a send queue per connection.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Clock } from '../clock.js';
import { FRAME_BYTES_MAX } from '../limits.js';
import { CLOSE_CODES, type Connection } from './connection.js';
import { WsConnection } from './ws-connection.js';

export interface WebSocketEndpointOptions {
  readonly clock: Clock;
  readonly onConnection: (connection: Connection, request: { readonly path: string; readonly query: URLSearchParams }) => void;
  /** URL path that upgrades. Several endpoints may share one server; a path none takes gets 404. */
  readonly path?: string;
  /** Also take every path below `path` ("/relay" takes "/relay/dial/x"); onConnection sees which. */
  readonly prefix?: boolean;
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

  const matches = (requestPath: string): boolean => requestPath === path || (options.prefix === true && requestPath.startsWith(`${path}/`));
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer, requestPath: string, query: URLSearchParams): void => {
    const address = request.socket.remoteAddress ?? 'unknown';
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
      options.onConnection(connection, { path: requestPath, query });
    });
  };
  const route: UpgradeRoute = { matches, upgrade: onUpgrade };
  const stopRouting = addRoute(httpServer, route);

  return {
    get connectionCount() {
      return sockets.size;
    },
    async close() {
      stopRouting();
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

interface UpgradeRoute {
  matches(path: string): boolean;
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer, path: string, query: URLSearchParams): void;
}

/** The endpoints on each server; one 'upgrade' listener per server picks the endpoint by path. */
const routers = new WeakMap<Server, { routes: Set<UpgradeRoute>; dispatch: (request: IncomingMessage, socket: Duplex, head: Buffer) => void }>();

function addRoute(httpServer: Server, route: UpgradeRoute): () => void {
  let router = routers.get(httpServer);
  if (router === undefined) {
    const routes = new Set<UpgradeRoute>();
    const dispatch = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
      socket.on('error', () => socket.destroy());
      const [requestPath = '/', search = ''] = (request.url ?? '/').split('?', 2);
      const target = [...routes].find((candidate) => candidate.matches(requestPath));
      if (target === undefined) return refuse(socket, 404, 'Not Found');
      target.upgrade(request, socket, head, requestPath, new URLSearchParams(search.slice(0, 2048)));
    };
    router = { routes, dispatch };
    routers.set(httpServer, router);
    httpServer.on('upgrade', dispatch);
  }
  const { routes, dispatch } = router;
  routes.add(route);
  return () => {
    routes.delete(route);
    if (routes.size > 0) return;
    httpServer.off('upgrade', dispatch);
    routers.delete(httpServer);
  };
}

export function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Copies the named options that are set (exactOptionalPropertyTypes forbids passing undefined). */
export function pick<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const result: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) result[key] = source[key];
  return result;
}

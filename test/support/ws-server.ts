// Starts an http server on a free loopback port with the WebSocket endpoint attached and an
// RpcPeer per connection, for tests over real sockets.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../src/clock.js';
import { RpcPeer, type Handlers, type RpcPeerOptions } from '../../src/transport/rpc.js';
import type { ProtocolDefinition } from '../../src/transport/protocol.js';
import { attachWebSocketServer, type WebSocketEndpoint, type WebSocketEndpointOptions } from '../../src/transport/ws-server.js';

export interface TestServer<P extends ProtocolDefinition> {
  readonly url: string;
  readonly port: number;
  readonly peers: RpcPeer<P>[];
  readonly endpoint: WebSocketEndpoint;
  stop(): Promise<void>;
}

export async function startTestServer<P extends ProtocolDefinition>(
  protocol: P,
  handlers: Handlers<P>,
  options: {
    clock: Clock;
    port?: number;
    endpoint?: Partial<Omit<WebSocketEndpointOptions, 'clock' | 'onConnection'>>;
    peer?: Omit<RpcPeerOptions, 'clock'>;
  },
): Promise<TestServer<P>> {
  const httpServer: Server = createServer((_request, response) => response.writeHead(404).end());
  const peers: RpcPeer<P>[] = [];
  const endpoint = attachWebSocketServer(httpServer, {
    clock: options.clock,
    ...options.endpoint,
    onConnection: (connection) => peers.push(new RpcPeer(connection, protocol, handlers, { clock: options.clock, ...options.peer })),
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    port,
    peers,
    endpoint,
    async stop() {
      await endpoint.close();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}

/** Waits (on real I/O) until `predicate` holds, advancing a virtual clock by `stepMs` between looks. */
export async function waitFor(
  predicate: () => boolean,
  options: { advance?: (ms: number) => void; stepMs?: number; attemptsMax?: number } = {},
): Promise<void> {
  const attemptsMax = options.attemptsMax ?? 2000;
  for (let attempt = 0; attempt < attemptsMax; attempt++) {
    if (predicate()) return;
    options.advance?.(options.stepMs ?? 10);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error('condition not reached');
}

// A WebSocket server for the transport benchmark, run as a separate process so that client and
// server each have a core. Prints its port on stdout, serves the test protocol until killed.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { realClock } from '../../src/clock.js';
import { RpcPeer } from '../../src/transport/rpc.js';
import { attachWebSocketServer } from '../../src/transport/ws-server.js';
import { testHandlers, testProtocol } from '../../test/support/test-protocol.js';

const handlers = testHandlers();
const httpServer = createServer((_request, response) => response.writeHead(404).end());
attachWebSocketServer(httpServer, {
  clock: realClock,
  connectionsPerAddressMax: 1000,
  onConnection: (connection) => new RpcPeer(connection, testProtocol, handlers, { clock: realClock, rateLimit: null }),
});
httpServer.listen(0, '127.0.0.1', () => console.log((httpServer.address() as AddressInfo).port));

// Opens a WebSocket Connection to a server, with the same limits as the server side.
import { WebSocket } from 'ws';
import type { Clock } from '../clock.js';
import { FRAME_BYTES_MAX } from '../limits.js';
import type { Connection } from './connection.js';
import { WsConnection } from './ws-connection.js';
import { pick } from './ws-server.js';

export interface WebSocketConnectOptions {
  readonly clock: Clock;
  readonly frameBytesMax?: number;
  readonly sendQueueBytesMax?: number;
  readonly heartbeatIntervalMs?: number;
  readonly heartbeatTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
}

export class ConnectError extends Error {
  override name = 'ConnectError';
}

export function connectWebSocket(url: string, options: WebSocketConnectOptions): Promise<Connection> {
  return new Promise((resolve, reject) => {
    let socket: WebSocket;
    try {
      socket = new WebSocket(url, {
        maxPayload: options.frameBytesMax ?? FRAME_BYTES_MAX,
        perMessageDeflate: false,
        handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
      });
    } catch (error) {
      return reject(new ConnectError(`cannot connect to ${url}: ${(error as Error).message}`));
    }
    const fail = (detail: string): void => reject(new ConnectError(`cannot connect to ${url}: ${detail}`));
    socket.once('error', (error) => fail(error.message));
    socket.once('unexpected-response', (_request, response) => {
      fail(`server answered HTTP ${response.statusCode}`);
      socket.terminate();
    });
    socket.once('open', () => {
      socket.removeAllListeners('error');
      resolve(
        new WsConnection(socket, {
          clock: options.clock,
          role: 'client',
          remoteAddress: url,
          ...pick(options, ['sendQueueBytesMax', 'heartbeatIntervalMs', 'heartbeatTimeoutMs']),
        }),
      );
    });
  });
}

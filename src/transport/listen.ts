// Starts an HTTP server listening, and turns the usual failures (port taken, no such interface)
// into one clear error instead of an unhandled 'error' event.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Resolves with the port actually taken (useful with port 0). `what` names the server in errors. */
export function listen(server: Server, port: number, host: string, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException): void => {
      const detail = error.code === 'EADDRINUSE' ? 'the port is already in use' : error.code === 'EADDRNOTAVAIL' ? 'no such interface here' : error.message;
      reject(new Error(`${what}: cannot listen on ${host}:${port}: ${detail}`));
    };
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

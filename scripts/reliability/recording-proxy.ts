// A TCP proxy that records every byte it forwards, both ways: the stand-in for someone on the
// network path between two daemons (the daemon scenario, and test/daemon/peer-link.test.ts).
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export interface RecordingProxy {
  readonly server: Server;
  readonly port: number;
  /** Everything forwarded so far, both directions, in arrival order. */
  bytes(): Buffer;
}

/** A TCP proxy to 127.0.0.1:`targetPort` that keeps every byte it forwards, both ways. */
export async function recordingProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<RecordingProxy> {
  const recorded: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect(targetPort, targetHost);
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => sockets.delete(socket));
    }
    inbound.on('data', (data: Buffer) => (recorded.push(data), outbound.write(data)));
    outbound.on('data', (data: Buffer) => (recorded.push(data), inbound.write(data)));
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  server.on('close', () => sockets.forEach((socket) => socket.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, port: (server.address() as AddressInfo).port, bytes: () => Buffer.concat(recorded) };
}

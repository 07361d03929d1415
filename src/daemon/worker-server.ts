// A worker program's side of the worker protocol, for workers written in TypeScript: an HTTP
// server that takes work on POST /work and answers with the result, registered with a daemon.
// `bitwrk worker hash` runs it with the test article's work; any program in any language can do
// the same with two HTTP calls (docs/daemon.md, "Selling: workers").
import { createServer, type Server } from 'node:http';
import { listen } from '../transport/listen.js';

/** How long the registration may take before the worker gives up. */
const REGISTER_TIMEOUT_MS = 10_000;

/** fetch says "fetch failed"; its cause says what happened (ECONNREFUSED, a timeout). */
function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code === 'ECONNREFUSED') return 'nothing listens there (is the daemon running?)';
  const message = cause?.message ?? (error as Error).message;
  // fetch refuses the ports browsers block (1, 9, 25, 6000, …) with just "bad port".
  if (message === 'bad port') return 'fetch refuses to connect to that port (one browsers block); give the daemon another --api-port';
  if ((error as Error).name === 'TimeoutError') return `no answer within ${REGISTER_TIMEOUT_MS / 1000} s`;
  return message;
}

/** Work larger than this is refused with 413 (the daemon sends at most one trade's work). */
const WORK_BYTES_MAX = 1024 * 1024 * 1024;

export interface WorkerServerOptions {
  /** The daemon's local API, e.g. http://127.0.0.1:8091. */
  readonly daemonUrl: string;
  readonly id: string;
  readonly article: string;
  readonly compute: (work: Uint8Array) => Uint8Array | Promise<Uint8Array>;
  /** The daemon's API token (its data directory's api-token file): registering is a change. */
  readonly token: string;
  readonly host?: string;
  readonly port?: number;
  readonly log?: (line: string) => void;
}

export interface RunningWorker {
  readonly pushUrl: string;
  readonly jobs: number;
  stop(): Promise<void>;
}

export async function startWorkerServer(options: WorkerServerOptions): Promise<RunningWorker> {
  let jobs = 0;
  const server: Server = createServer((request, response) => {
    if (request.method !== 'POST' || request.url !== '/work') return void response.writeHead(404).end('POST /work');
    const parts: Buffer[] = [];
    let size = 0;
    request.on('data', (part: Buffer) => {
      size += part.length;
      if (size > WORK_BYTES_MAX) return void response.writeHead(413).end('work too large');
      parts.push(part);
    });
    request.on('error', () => response.destroy());
    request.on('end', () => {
      if (response.headersSent) return;
      // A compute that throws at once is a failed job (500), not a crash of the worker.
      Promise.resolve()
        .then(() => options.compute(new Uint8Array(Buffer.concat(parts))))
        .then((result) => {
          jobs++;
          options.log?.(`job ${jobs}: ${size} bytes in, ${result.length} bytes out`);
          response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(result.length) }).end(result);
        })
        .catch((error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(String((error as Error).message)));
    });
  });
  const port = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1', `worker ${options.id}`);
  const pushUrl = `http://${options.host ?? '127.0.0.1'}:${port}/work`;
  const authorization = { authorization: `Bearer ${options.token}` };
  try {
    const registered = await fetch(`${options.daemonUrl}/workers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authorization },
      body: JSON.stringify({ id: options.id, article: options.article, pushUrl }),
      signal: AbortSignal.timeout(REGISTER_TIMEOUT_MS),
    });
    if (!registered.ok) throw new Error(`the daemon refused the registration: HTTP ${registered.status} ${await registered.text()}`);
  } catch (error) {
    server.closeAllConnections();
    server.close();
    throw new Error(`cannot register with the daemon at ${options.daemonUrl}: ${describeFetchError(error)}`);
  }
  return {
    pushUrl,
    get jobs() {
      return jobs;
    },
    async stop() {
      await fetch(`${options.daemonUrl}/workers/${encodeURIComponent(options.id)}`, { method: 'DELETE', headers: authorization }).catch(() => undefined);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

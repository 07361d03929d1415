// A worker program's side of the worker protocol, for workers written in TypeScript: an HTTP
// server that takes work on POST /work and answers with the result, registered with a daemon.
// `bitwrk worker hash` runs it with the test article's work; any program in any language can do
// the same with two HTTP calls (docs/daemon.md, "Selling: workers").
import { createServer, type Server } from 'node:http';
import { listen } from '../transport/listen.js';

/** How long the registration may take before the worker gives up. */
const REGISTER_TIMEOUT_MS = 10_000;

/** fetch says "fetch failed"; its cause says what happened (ECONNREFUSED, a timeout). */
export function describeFetchError(error: unknown): string {
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
  /** The job's result; `signal` aborts when the daemon gives up on it (the push's request closes). */
  readonly compute: (work: Uint8Array, job: { readonly article: string; readonly signal: AbortSignal }) => Uint8Array | Promise<Uint8Array>;
  /**
   * Jobs at once (default 1). Each slot is registered as its own worker (`ID-1`, `ID-2`, …, with
   * its own push URL), so the daemon never gives one slot a second job.
   */
  readonly slots?: number;
  /** The daemon's API token (its data directory's api-token file): registering is a change. */
  readonly token: string;
  readonly host?: string;
  readonly port?: number;
  readonly log?: (line: string) => void;
}

export interface RunningWorker {
  /** The first slot's push URL. */
  readonly pushUrl: string;
  /** The ids registered with the daemon, one per slot. */
  readonly ids: readonly string[];
  readonly jobs: number;
  stop(): Promise<void>;
}

export async function startWorkerServer(options: WorkerServerOptions): Promise<RunningWorker> {
  let jobs = 0;
  const slots = options.slots ?? 1;
  const ids = slots === 1 ? [options.id] : Array.from({ length: slots }, (_, i) => `${options.id}-${i + 1}`);
  const server: Server = createServer((request, response) => {
    if (request.method !== 'POST' || !/^\/work(\/\d{1,3})?$/.test(request.url ?? '')) return void response.writeHead(404).end('POST /work');
    // The daemon closes the push when it gives up (a cancelled trade, its own timeout).
    const gaveUp = new AbortController();
    response.on('close', () => {
      if (!response.writableFinished) gaveUp.abort(new Error('the daemon closed the request'));
    });
    const article = String(request.headers['x-bitwrk-article'] ?? options.article);
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
        .then(() => options.compute(new Uint8Array(Buffer.concat(parts)), { article, signal: gaveUp.signal }))
        .then((result) => {
          jobs++;
          options.log?.(`job ${jobs}: ${size} bytes in, ${result.length} bytes out`);
          response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(result.length) }).end(result);
        })
        .catch((error: unknown) => {
          options.log?.(`job failed: ${(error as Error).message}`);
          if (!response.destroyed) response.writeHead(500, { 'content-type': 'text/plain' }).end(String((error as Error).message));
        });
    });
  });
  const port = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1', `worker ${options.id}`);
  const base = `http://${options.host ?? '127.0.0.1'}:${port}/work`;
  const pushUrl = slots === 1 ? base : `${base}/1`;
  const authorization = { authorization: `Bearer ${options.token}` };
  const unregister = (id: string): Promise<unknown> =>
    fetch(`${options.daemonUrl}/workers/${encodeURIComponent(id)}`, { method: 'DELETE', headers: authorization, signal: AbortSignal.timeout(REGISTER_TIMEOUT_MS) }).catch(() => undefined);
  try {
    for (const [i, id] of ids.entries()) {
      const registered = await fetch(`${options.daemonUrl}/workers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...authorization },
        body: JSON.stringify({ id, article: options.article, pushUrl: slots === 1 ? base : `${base}/${i + 1}` }),
        signal: AbortSignal.timeout(REGISTER_TIMEOUT_MS),
      });
      if (!registered.ok) throw new Error(`the daemon refused the registration: HTTP ${registered.status} ${await registered.text()}`);
    }
  } catch (error) {
    await Promise.all(ids.map(unregister));
    server.closeAllConnections();
    server.close();
    throw new Error(`cannot register with the daemon at ${options.daemonUrl}: ${describeFetchError(error)}`);
  }
  return {
    pushUrl,
    ids,
    get jobs() {
      return jobs;
    },
    async stop() {
      await Promise.all(ids.map(unregister));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

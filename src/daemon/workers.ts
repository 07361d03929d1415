// Worker programs that sell through this daemon (reference §1.4). A worker is any HTTP server:
// it registers with the daemon (id, article, push URL), the daemon POSTs work to the push URL and
// the response body is the result. Registering again with a known id means "I am idle"; a worker
// is also idle again as soon as it has answered. Each worker is a worker machine
// (src/machines/worker.ts); a worker that failed is left alone for a while before it gets work again.
// Registrations are saved, so a restarted daemon still knows its workers (a gone one fails its
// next push and backs off until it registers again or is unregistered).
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { FileSource } from '../cafs/files.js';
import type { WorkerState } from '../machines/worker.js';
import { workerMachine } from '../machines/worker.js';
import { ARTICLE_ID_PATTERN } from '../market/articles.js';
import type { DaemonStore } from './daemon-store.js';

/** Workers one daemon keeps registered (registrations are saved; each is a local program). */
export const WORKERS_MAX = 256;
/** The result a worker may return. */
export const RESULT_BYTES_MAX = 256 * 1024 * 1024;
/** A worker that failed gets no work for this long (the original's 20 s). */
export const WORKER_BACKOFF_MS = 20_000;
/** How long one piece of work may take (the exchange grants 5 min in WORKING). */
export const WORK_TIMEOUT_MS = 4 * 60_000;

export const workerRegistration = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9._:@-]{1,64}$/, 'letters, digits and . _ : @ - (at most 64)'),
  article: z.string().min(1).max(128).regex(ARTICLE_ID_PATTERN, 'not an article id'),
  pushUrl: z.url({ protocol: /^https?$/ }).max(512),
});
export type WorkerRegistration = z.output<typeof workerRegistration>;

export class WorkerFailedError extends Error {
  override name = 'WorkerFailedError';
}

interface WorkerEntry {
  readonly registration: WorkerRegistration;
  state: WorkerState;
  blockedUntilMs: number;
  lastError: string | null;
}

export interface WorkerView {
  readonly id: string;
  readonly article: string;
  readonly pushUrl: string;
  readonly state: string;
  readonly blockedUntilMs: number;
  readonly lastError: string | null;
}

export class WorkerRegistry {
  private readonly workers = new Map<string, WorkerEntry>();
  private readonly listeners = new Set<() => void>();
  private readonly step = workerMachine.compiled.step;

  constructor(
    private readonly clock: Clock,
    private readonly store: DaemonStore,
  ) {}

  async load(): Promise<void> {
    for (const registration of await this.store.loadWorkers()) await this.register(registration, false);
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Registers a worker, or marks a known one idle (a changed article or URL replaces it); 'full'
   * for a new id when WORKERS_MAX are registered.
   */
  async register(registration: WorkerRegistration, save = true): Promise<WorkerView | 'full'> {
    const nowMs = this.clock.now();
    const known = this.workers.get(registration.id);
    if (known === undefined && this.workers.size >= WORKERS_MAX) return 'full';
    if (known !== undefined && known.state.value === 'busy') return view(known); // it answers the push first
    if (known === undefined || known.registration.article !== registration.article || known.registration.pushUrl !== registration.pushUrl) {
      const state = this.step(workerMachine.compiled.initial({ workerId: registration.id, article: registration.article, nowMs }), { type: 'READY', nowMs });
      this.workers.set(registration.id, { registration, state, blockedUntilMs: 0, lastError: null });
      if (save) await this.store.saveWorker(registration);
    } else if (known.state.value === 'offline') {
      known.state = this.step(this.step(known.state, { type: 'REGISTER', nowMs, article: registration.article }), { type: 'READY', nowMs });
    }
    this.changed();
    return view(this.workers.get(registration.id)!);
  }

  async unregister(id: string): Promise<boolean> {
    const entry = this.workers.get(id);
    if (entry === undefined) return false;
    this.workers.delete(id);
    await this.store.deleteWorker(id);
    this.changed();
    return true;
  }

  list(): WorkerView[] {
    return [...this.workers.values()].map(view);
  }

  get(id: string): WorkerView | undefined {
    const entry = this.workers.get(id);
    return entry === undefined ? undefined : view(entry);
  }

  /** Idle workers for `article` that are not backing off after a failure. */
  available(article?: string): WorkerView[] {
    const nowMs = this.clock.now();
    return [...this.workers.values()]
      .filter((entry) => entry.state.value === 'idle' && entry.blockedUntilMs <= nowMs && (article === undefined || entry.registration.article === article))
      .map(view);
  }

  /** Marks a worker as failed outside a run (e.g. its sell failed): it backs off. */
  block(id: string, reason: string): void {
    const entry = this.workers.get(id);
    if (entry === undefined) return;
    entry.blockedUntilMs = this.clock.now() + WORKER_BACKOFF_MS;
    entry.lastError = reason;
    this.clock.setTimer(() => this.changed(), WORKER_BACKOFF_MS);
    this.changed();
  }

  /** Pushes work to the worker and returns its result; the worker is busy meanwhile. */
  async run(id: string, work: FileSource, jobId: string, signal?: AbortSignal): Promise<Uint8Array> {
    const entry = this.workers.get(id);
    if (entry === undefined) throw new WorkerFailedError(`worker ${id} is not registered`);
    if (entry.state.value !== 'idle') throw new WorkerFailedError(`worker ${id} is ${entry.state.value}, not idle`);
    entry.state = this.step(entry.state, { type: 'ASSIGN', nowMs: this.clock.now(), txId: jobId });
    this.changed();
    try {
      const result = await push(entry.registration, work, this.clock, signal);
      entry.state = this.step(entry.state, { type: 'DONE', nowMs: this.clock.now() });
      entry.lastError = null;
      return result;
    } catch (error) {
      if (signal?.aborted === true) {
        // Called off (a cancelled sale, the daemon stopping): the worker did nothing wrong.
        entry.state = this.step(entry.state, { type: 'DONE', nowMs: this.clock.now() });
        throw new WorkerFailedError(`worker ${id}: the job was called off`);
      }
      entry.state = this.step(entry.state, { type: 'FAILED', nowMs: this.clock.now() });
      entry.lastError = (error as Error).message;
      entry.blockedUntilMs = this.clock.now() + WORKER_BACKOFF_MS;
      this.clock.setTimer(() => this.changed(), WORKER_BACKOFF_MS);
      throw error instanceof WorkerFailedError ? error : new WorkerFailedError(`worker ${id}: ${(error as Error).message}`);
    } finally {
      this.changed();
    }
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

function view(entry: WorkerEntry): WorkerView {
  return {
    id: entry.registration.id,
    article: entry.registration.article,
    pushUrl: entry.registration.pushUrl,
    state: entry.state.value,
    blockedUntilMs: entry.blockedUntilMs,
    lastError: entry.lastError,
  };
}

async function push(registration: WorkerRegistration, work: FileSource, clock: Clock, signal?: AbortSignal): Promise<Uint8Array> {
  const controller = new AbortController();
  const timer = clock.setTimer(() => controller.abort(new Error(`no answer within ${WORK_TIMEOUT_MS / 1000} s`)), WORK_TIMEOUT_MS);
  const forward = (): void => controller.abort(signal?.reason);
  signal?.addEventListener('abort', forward);
  try {
    // Streamed from the store with its length declared: the work need not fit in memory, and
    // workers that read Content-Length (most HTTP servers) get it.
    const response = await fetch(registration.pushUrl, {
      method: 'POST',
      body: ReadableStream.from(work.read()),
      duplex: 'half',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(work.size), 'x-bitwrk-article': registration.article },
      signal: controller.signal,
    });
    if (response.status !== 200) throw new WorkerFailedError(`worker ${registration.id} answered HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > RESULT_BYTES_MAX) throw new WorkerFailedError(`worker ${registration.id} returned ${declared} bytes, more than ${RESULT_BYTES_MAX}`);
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const part of response.body ?? []) {
      size += part.length;
      if (size > RESULT_BYTES_MAX) throw new WorkerFailedError(`worker ${registration.id} returned more than ${RESULT_BYTES_MAX} bytes`);
      parts.push(part);
    }
    return new Uint8Array(Buffer.concat(parts));
  } catch (error) {
    if (controller.signal.aborted) throw new WorkerFailedError(`worker ${registration.id}: ${String((controller.signal.reason as Error)?.message ?? controller.signal.reason)}`);
    throw error;
  } finally {
    clock.clearTimer(timer);
    signal?.removeEventListener('abort', forward);
  }
}

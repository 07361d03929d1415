// Plain HTTP requests to the exchange on fresh connections (no keep-alive agent), with a source
// address and a deadline, and the "normal client" that keeps probing while a scenario abuses
// the server: every 200 ms one GET /health and one WebSocket `info`, each on a new connection.
import { request } from 'node:http';
import { percentile, round, Tally } from './stats.js';
import { HttpRefusal, RawSocket } from './raw-socket.js';
import { nowMs, sleep } from './timing.js';

export interface HttpResult {
  readonly status: number;
  readonly body: string;
  readonly ms: number;
}

/** GET `url` on a fresh connection; rejects on a socket error or after `timeoutMs`. */
export function httpGet(url: string, options: { localAddress?: string; timeoutMs?: number } = {}): Promise<HttpResult> {
  const started = nowMs();
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: nowMs() - started }));
      response.on('error', reject);
    });
    req.setTimeout(options.timeoutMs ?? 5000, () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 5000} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** The exchange's /health: its journal sequence and whether it says it is healthy. */
export async function health(httpUrl: string): Promise<{ ok: boolean; journalSequence: number; connections: number }> {
  const result = await httpGet(`${httpUrl}/health`, { timeoutMs: 10_000 });
  const parsed = JSON.parse(result.body) as { ok: boolean; journalSequence: number; connections: number };
  return { ok: result.status === 200 && parsed.ok, journalSequence: parsed.journalSequence, connections: parsed.connections };
}

export interface NormalClientReport {
  readonly requests: number;
  readonly failures: number;
  /** Why requests failed, by reason. */
  readonly reasons: string;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** The normal client: probes until stopped, from 127.0.0.1 (no abuser uses that address). */
export class NormalClient {
  private readonly latencies: number[] = [];
  private readonly reasons = new Tally();
  private requests = 0;
  private running = true;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly httpUrl: string,
    private readonly wsUrl: string,
    private readonly timeoutMs = 5000,
  ) {}

  start(): this {
    this.loop = this.run();
    return this;
  }

  async stop(): Promise<NormalClientReport> {
    this.running = false;
    await this.loop;
    return {
      requests: this.requests,
      failures: this.reasons.total,
      reasons: this.reasons.toString(),
      p50Ms: round(percentile(this.latencies, 0.5)),
      p99Ms: round(percentile(this.latencies, 0.99)),
      maxMs: round(percentile(this.latencies, 1)),
    };
  }

  private async run(): Promise<void> {
    while (this.running) {
      const started = nowMs();
      await Promise.all([this.probeHttp(), this.probeWebSocket()]);
      await sleep(200 - (nowMs() - started));
    }
  }

  private async probeHttp(): Promise<void> {
    this.requests += 1;
    try {
      const result = await httpGet(`${this.httpUrl}/health`, { localAddress: '127.0.0.1', timeoutMs: this.timeoutMs });
      if (result.status !== 200) return this.reasons.add(`http-${result.status}`);
      this.latencies.push(result.ms);
    } catch (error) {
      this.reasons.add(`http-${reasonOf(error)}`);
    }
  }

  private async probeWebSocket(): Promise<void> {
    this.requests += 1;
    const started = nowMs();
    let socket: RawSocket | undefined;
    try {
      socket = await RawSocket.connect(this.wsUrl, { localAddress: '127.0.0.1', connectTimeoutMs: this.timeoutMs }).catch((error: unknown) => {
        throw Object.assign(new Error('connect failed'), { code: `connect-${reasonOf(error)}` });
      });
      const outcome = await Promise.race([socket.request('info', {}), sleep(this.timeoutMs).then(() => ({ kind: 'timeout' as const }))]);
      if (outcome.kind !== 'response') return this.reasons.add(`ws-${outcome.kind === 'error' ? outcome.code : outcome.kind}`);
      this.latencies.push(nowMs() - started);
    } catch (error) {
      this.reasons.add(`ws-${reasonOf(error)}`);
    } finally {
      socket?.terminate();
    }
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof HttpRefusal) return String(error.status);
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  return /within|handshake|timed out/i.test(String((error as Error).message)) ? 'timeout' : 'error';
}

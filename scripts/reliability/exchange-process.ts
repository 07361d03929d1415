// A real `bitwrk exchange` process for the reliability suite and the tests that treat the exchange
// as a black box: started in its own BITWRK_HOME on a free loopback port, its admin key read from
// the key file it created, its output kept, and stopped by SIGTERM or killed with SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { loadKeyFile } from '../../src/crypto/keyfile.js';
import type { Identity } from '../../src/crypto/keys.js';

const ROOT = new URL('../../', import.meta.url).pathname;

export interface ExchangeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly wsUrl: string;
  readonly httpUrl: string;
  readonly port: number;
  readonly admin: Identity;
  /** Every line it printed (stdout and stderr), in order. */
  readonly output: string[];
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Milliseconds from spawn until it printed its WebSocket URL. */
  readonly startMs: number;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, then wait for the exit. */
  kill(): Promise<void>;
}

export interface ExchangeProcessOptions {
  /** BITWRK_HOME of the process (its key file lives there). */
  readonly home: string;
  /** --data-dir (default HOME/exchange). */
  readonly dataDir?: string;
  /** --port (default 0: a free one). */
  readonly port?: number;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Give up waiting for the start after this many ms (default 30 s). */
  readonly startTimeoutMs?: number;
}

export async function startExchangeProcess(options: ExchangeProcessOptions): Promise<ExchangeProcess> {
  mkdirSync(options.home, { recursive: true });
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin/bitwrk.js'), 'exchange', '--port', String(options.port ?? 0), '--data-dir', options.dataDir ?? join(options.home, 'exchange'), ...(options.args ?? [])],
    { env: { ...process.env, BITWRK_HOME: options.home, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', (line) => output.push(line));
  const wsUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the exchange did not start within ${options.startTimeoutMs ?? 30_000} ms:\n${output.join('\n')}`)), options.startTimeoutMs ?? 30_000); // tidy-allow: a real process starts in real time
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /WebSocket: (\S+)/.exec(line);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the exchange exited (${code ?? signal}) before it started:\n${output.join('\n')}`));
    });
  });
  const startMs = performance.now() - started;
  const url = new URL(wsUrl);
  return {
    child,
    pid: child.pid!,
    wsUrl,
    httpUrl: `http://${url.host}`,
    port: Number(url.port),
    admin: loadKeyFile(join(options.home, 'key.wif'), 'testnet'),
    output,
    exited,
    startMs,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return (await exited).code;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

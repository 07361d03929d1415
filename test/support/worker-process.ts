// A real worker program in its own process: `bitwrk worker hash` (or `blender`) registered with a
// daemon, as a user would run it. Resolves once the worker says it is registered; stop() sends SIGTERM (the
// worker unregisters) and waits for the process to exit.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/bitwrk.js', import.meta.url));

export interface WorkerProcess {
  readonly pid: number;
  /** Lines the worker printed, e.g. "job 1: 17 bytes in, 65 bytes out". */
  readonly lines: readonly string[];
  stop(): Promise<void>;
}

export interface WorkerProcessOptions {
  readonly kind?: 'hash' | 'blender';
  /** More flags, e.g. ['--jobs', '2']. */
  readonly args?: readonly string[];
  readonly cwd?: string;
  /** Variables to set (e.g. HOME) on top of this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
}

export function startWorkerProcess(daemonUrl: string, token: string, id: string, options: WorkerProcessOptions = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [BIN, 'worker', options.kind ?? 'hash', '--daemon', daemonUrl, '--id', id, ...(options.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env, BITWRK_API_TOKEN: token },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  const lines: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.once('exit', (code) => reject(new Error(`worker ${id} exited with ${code} before registering: ${stderr}`)));
    let pending = '';
    child.stdout.on('data', (data: Buffer) => {
      pending += data.toString();
      const complete = pending.split('\n');
      pending = complete.pop()!;
      for (const line of complete) {
        lines.push(line);
        if (line.startsWith('worker registered')) {
          resolve({
            pid: child.pid!,
            lines,
            async stop() {
              if (child.exitCode === null) child.kill('SIGTERM');
              await exited;
            },
          });
        }
      }
    });
  });
}

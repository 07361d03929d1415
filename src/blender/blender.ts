// Running Blender: finding it, its version, and one background process with our script. Blender
// always starts with factory settings (no add-ons or preferences of the user running it) and, for
// scenes that are not the caller's own, with autoexec off. Each run is its own process group, so a
// kill (timeout, cancel) takes Blender and anything it started; limits on memory and file size
// are set with prlimit where the system has it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The Python scripts that run inside Blender (blender/scripts/ in the project). */
export const SCRIPTS_DIR = fileURLToPath(new URL('../../blender/scripts/', import.meta.url));

export function scriptPath(name: 'pack.py' | 'render_tile.py' | 'stitch.py' | 'compare.py' | 'probe.py' | 'demo_scene.py'): string {
  return SCRIPTS_DIR + name;
}

/** The Blender to run: the option, else $BITWRK_BLENDER, else `blender` on the PATH. */
export function blenderPath(option?: string): string {
  return option ?? process.env['BITWRK_BLENDER'] ?? 'blender';
}

export interface BlenderVersion {
  /** e.g. "3.4" (what articles name). */
  readonly majorMinor: string;
  /** e.g. "3.4.1". */
  readonly full: string;
}

/** `blender --version`'s first line, or undefined with the reason when Blender cannot be run. */
export function blenderVersion(path: string): BlenderVersion | { readonly error: string } {
  const run = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 30_000, env: blenderEnv() });
  if (run.error !== undefined) return { error: `cannot run ${path}: ${(run.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found (install Blender or pass --blender PATH)' : run.error.message}` };
  const match = /^Blender (\d+)\.(\d+)(?:\.(\d+))?/m.exec(run.stdout);
  if (match === null) return { error: `${path} --version did not name a Blender version` };
  return { majorMinor: `${match[1]}.${match[2]}`, full: `${match[1]}.${match[2]}.${match[3] ?? '0'}` };
}

/** Whether Blender can run here (for tests and benchmarks that skip, saying why). */
export function blenderMissing(path = blenderPath()): string | undefined {
  const version = blenderVersion(path);
  return 'error' in version ? version.error : undefined;
}

/** Blender's environment: the caller's, without a user profile that could add scripts. */
function blenderEnv(home?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('BLENDER_') || name === 'PYTHONPATH' || name === 'PYTHONSTARTUP' || name === 'PYTHONHOME') delete env[name];
  if (home !== undefined) {
    env['HOME'] = home;
    // Blender's user folders inside the job's directory: empty, so no add-ons or startup scripts.
    env['BLENDER_USER_CONFIG'] = `${home}/config`;
    env['BLENDER_USER_SCRIPTS'] = `${home}/scripts`;
    env['BLENDER_USER_DATAFILES'] = `${home}/datafiles`;
  }
  return env;
}

export interface BlenderRun {
  /** The Blender executable. */
  readonly blender: string;
  /** The .blend to open, or none. */
  readonly file?: string;
  readonly script: string;
  /** Arguments after `--`, for the script. */
  readonly scriptArgs: readonly string[];
  /** Autoexec off (-Y) unless this is the caller's own scene and it says so. */
  readonly autoexec?: boolean;
  readonly cwd?: string;
  /** HOME and Blender's user folders (for a stranger's scene: an empty folder of the job). */
  readonly home?: string;
  readonly timeoutMs?: number;
  /** Address space limit in bytes (prlimit --as). */
  readonly memoryBytes?: number;
  /** Largest file Blender may write, in bytes (prlimit --fsize). */
  readonly fileBytes?: number;
  readonly signal?: AbortSignal;
  readonly onOutput?: (line: string) => void;
  /** Render with Cycles' pinned CPU kernel (PINNED_KERNEL_ENV): a seller's tiles. */
  readonly pinnedKernel?: boolean;
}

/**
 * Cycles picks its CPU kernel by the processor (AVX2, else SSE4.1, …), and the kernels differ in
 * the last bits of some pixels (measured here: 33% of values, by at most 8.5e-5). Every seller
 * renders with the kernel these switches leave, which every x86-64 processor runs the same way,
 * so two honest sellers' tiles of the same work are equal byte for byte (their result hashes can
 * be compared; disputes end by evidence) and a frame's tiles from different machines match. The
 * thread count does not change a pixel. Measured: no slower than AVX2 on this machine.
 */
export const PINNED_KERNEL_ENV: Readonly<Record<string, string>> = { CYCLES_CPU_NO_AVX2: '1', CYCLES_CPU_NO_AVX: '1', CYCLES_CPU_NO_SSE41: '1', CYCLES_CPU_NO_SSE3: '1' };

export interface BlenderOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last lines of Blender's output, for error messages. */
  readonly tail: string;
  /** Why it was stopped: 'timeout', 'aborted', or null when it ended by itself. */
  readonly stopped: 'timeout' | 'aborted' | null;
}

const HAS_PRLIMIT = existsSync('/usr/bin/prlimit');
const TAIL_LINES = 40;

/** Runs Blender in the background with one script; resolves when the whole process group is gone. */
export function runBlender(run: BlenderRun): Promise<BlenderOutcome> {
  const args = ['-b', '--factory-startup', run.autoexec === true ? '--enable-autoexec' : '--disable-autoexec', '-noaudio'];
  if (run.file !== undefined) args.push(run.file);
  args.push('--python-exit-code', '3', '-P', run.script, '--', ...run.scriptArgs);
  const limits = HAS_PRLIMIT && (run.memoryBytes !== undefined || run.fileBytes !== undefined)
    ? ['/usr/bin/prlimit', ...(run.memoryBytes === undefined ? [] : [`--as=${run.memoryBytes}`]), ...(run.fileBytes === undefined ? [] : [`--fsize=${run.fileBytes}`]), '--']
    : [];
  const [command, ...rest] = [...limits, run.blender, ...args];
  return new Promise((resolve, reject) => {
    if (run.signal?.aborted) return reject(run.signal.reason as Error);
    const env = run.pinnedKernel === true ? { ...blenderEnv(run.home), ...PINNED_KERNEL_ENV } : blenderEnv(run.home);
    const child = spawn(command!, rest, { cwd: run.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stopped: BlenderOutcome['stopped'] = null;
    const lines: string[] = [];
    const collect = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        run.onOutput?.(line);
        lines.push(line);
        if (lines.length > TAIL_LINES) lines.shift();
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const killGroup = (why: 'timeout' | 'aborted'): void => {
      stopped ??= why;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = run.timeoutMs === undefined ? undefined : setTimeout(() => killGroup('timeout'), run.timeoutMs);  // tidy-allow: a real process gets a wall-clock limit
    const onAbort = (): void => killGroup('aborted');
    run.signal?.addEventListener('abort', onAbort);
    child.on('error', (error) => {
      clearTimeout(timer);
      run.signal?.removeEventListener('abort', onAbort);
      reject(new Error(`cannot run ${run.blender}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      run.signal?.removeEventListener('abort', onAbort);
      // Blender may have started children of its own; none outlives the run.
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is gone
      }
      resolve({ code, signal, tail: lines.join('\n'), stopped });
    });
  });
}

// `bitwrk worker hash|blender`: a worker program, run as its own process. It serves POST /work,
// registers with a daemon, does each piece of work (the test article's hash rounds, or a Blender
// tile) and unregisters on SIGTERM or Ctrl-C. The hash worker is also the model for workers in
// other languages: the whole protocol is one registration call and one HTTP endpoint
// (docs/daemon.md, "Selling").
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { blenderPath, blenderVersion, runBlender, scriptPath } from '../blender/blender.js';
import { renderJob } from '../blender/worker.js';
import { hashWork } from '../daemon/hash-work.js';
import { startWorkerServer } from '../daemon/worker-server.js';
import { BLENDER_COST_CLASSES, blenderArticleId, isBlenderCostClass } from '../market/blender-articles.js';
import { TEST_HASH_ARTICLE } from '../market/catalogue.js';
import { integerFlag, parseFlags, UsageError, type Command } from './command.js';
import { bitwrkHome } from './paths.js';
import { untilSignal } from './signals.js';

export const DEFAULT_DAEMON_URL = 'http://127.0.0.1:8091';

/** The daemon's api-token file, or a usage error that says where to find the token. */
export function readToken(daemonDir: string): string {
  const path = join(daemonDir, 'api-token');
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    throw new UsageError(`no API token: ${path} cannot be read; pass --token, set $BITWRK_API_TOKEN or --daemon-dir`);
  }
}

const COST_CLASSES = Object.keys(BLENDER_COST_CLASSES).join(', ');

export const workerCommand: Command = {
  name: 'worker',
  summary: 'run a worker program that sells through a daemon (hash: the test article; blender: Blender tiles)',
  usage: `usage: bitwrk worker hash|blender [options]

  hash     the test article ${TEST_HASH_ARTICLE}: each piece of work is answered with SHA-256
           applied 100,000 times, as lowercase hex
  blender  renders tiles of Blender scenes with this machine's Blender, for the article
           net.bitwrk/blender/VERSION/cycles/CLASS (VERSION from \`blender --version\`); each job
           runs in a fresh folder, with factory settings and autoexec off (docs/blender.md)

The worker registers with the daemon, which keeps it busy while a sell mandate allows; it
unregisters on SIGTERM or Ctrl-C.

options:
  --daemon URL     the daemon's local API (default ${DEFAULT_DAEMON_URL})
  --id ID          the worker's name at the daemon (default hash-<process id> or blender-<process id>)
  --host HOST      interface the worker listens on (default 127.0.0.1)
  --port PORT      port (default 0: a free one)
  --token TOKEN    the daemon's API token (registering is a change, so it is needed); also
                   read from $BITWRK_API_TOKEN, else from DAEMON-DIR/api-token
  --daemon-dir DIR the daemon's data directory, where its api-token file is (default
                   ${join(bitwrkHome(), 'daemon')})

blender options:
  --blender PATH   the Blender to run (default $BITWRK_BLENDER, else blender on the PATH)
  --cost CLASS     the largest job it takes: ${COST_CLASSES} rays (default 512M)
  --jobs N         renders at once, each registered as its own worker (default 1)
  --osl            serve net.bitwrk/blender/VERSION/cycles-osl/CLASS instead: scenes with Open
                   Shading Language (only where this Blender is built with OSL; run a second
                   worker to serve both)
  --device D       CPU or GPU (default CPU)
  --threads N      render threads per job (default 0: all cores)
  --timeout S      a render that takes longer is killed (default 230; the daemon allows 240)
  --memory MIB     address space per render (default 8192; 0: no limit)`,
  async run(argv) {
    const { values, positionals } = parseFlags(
      argv,
      {
        daemon: { type: 'string' }, id: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, token: { type: 'string' }, 'daemon-dir': { type: 'string' },
        blender: { type: 'string' }, cost: { type: 'string' }, osl: { type: 'boolean' }, jobs: { type: 'string' }, device: { type: 'string' }, threads: { type: 'string' }, timeout: { type: 'string' }, memory: { type: 'string' },
      },
      1,
    );
    const kind = positionals[0];
    if (kind !== 'hash' && kind !== 'blender') throw new UsageError(kind === undefined ? 'name the kind of worker: hash or blender' : `unknown worker "${kind}" (known: hash, blender)`);
    const daemonUrl = values.daemon ?? DEFAULT_DAEMON_URL;
    if (!/^https?:\/\/[^\s/]+/.test(daemonUrl)) throw new UsageError(`--daemon expects an http:// URL, got "${daemonUrl}"`);
    const blenderOnly = (['blender', 'cost', 'osl', 'jobs', 'device', 'threads', 'timeout', 'memory'] as const).filter((flag) => values[flag] !== undefined);
    if (kind === 'hash' && blenderOnly.length > 0) throw new UsageError(`--${blenderOnly[0]} is an option of the blender worker`);
    const port = integerFlag(values.port, 'port', 0, { min: 0, max: 65535 });
    const common = { daemonUrl: daemonUrl.replace(/\/+$/, ''), host: values.host ?? '127.0.0.1', port, log: (line: string) => console.log(line) };
    let worker;
    if (kind === 'hash') {
      const token = values.token ?? process.env['BITWRK_API_TOKEN'] ?? readToken(values['daemon-dir'] ?? join(bitwrkHome(), 'daemon'));
      worker = await startWorkerServer({ ...common, token, id: values.id ?? `hash-${process.pid}`, article: TEST_HASH_ARTICLE, compute: (work) => hashWork(work) });
    } else {
      const cost = values.cost ?? '512M';
      if (!isBlenderCostClass(cost)) throw new UsageError(`--cost must be one of ${COST_CLASSES}, got "${cost}"`);
      const device = (values.device ?? 'CPU').toUpperCase();
      if (device !== 'CPU' && device !== 'GPU') throw new UsageError(`--device must be CPU or GPU, got "${values.device}"`);
      const jobs = integerFlag(values.jobs, 'jobs', 1, { min: 1, max: 64 });
      const threads = integerFlag(values.threads, 'threads', 0, { min: 0, max: 1024 });
      const timeoutSeconds = integerFlag(values.timeout, 'timeout', 230, { min: 1, max: 86_400 });
      const memoryMiB = integerFlag(values.memory, 'memory', 8192, { min: 0, max: 1 << 24 });
      const blender = blenderPath(values.blender);
      const version = blenderVersion(blender);
      if ('error' in version) throw new UsageError(version.error);
      const token = values.token ?? process.env['BITWRK_API_TOKEN'] ?? readToken(values['daemon-dir'] ?? join(bitwrkHome(), 'daemon'));
      const probe = await probeBlender(blender);
      console.log(`Blender ${version.full}: ${'error' in probe ? `capabilities unknown (${probe.error})` : describeProbe(probe)}`);
      // Only a Blender with OSL serves the OSL articles, so no OSL scene reaches a worker that would refuse it.
      if (values.osl === true && ('error' in probe || !probe.osl)) throw new UsageError(`--osl: this Blender (${blender}) is built without Open Shading Language`);
      if (!('error' in probe) && !probe.formats.includes('OPEN_EXR')) throw new UsageError(`this Blender (${blender}) cannot write OpenEXR, in which tiles travel`);
      const article = blenderArticleId(version.majorMinor, cost, values.osl === true);
      const options = { blender, device, threads, timeoutMs: timeoutSeconds * 1000, fileBytes: 8 * 2 ** 30, ...(memoryMiB === 0 ? {} : { memoryBytes: memoryMiB * 2 ** 20 }), log: common.log } as const;
      worker = await startWorkerServer({
        ...common,
        token,
        id: values.id ?? `blender-${process.pid}`,
        article,
        slots: jobs,
        compute: (work, job) => renderJob(work, job.article, options, job.signal),
      });
      console.log(`serving ${article} with ${jobs} render slot(s)`);
    }
    const signalled = untilSignal(); // before saying so: a supervisor may stop us right after
    console.log(`worker registered with ${daemonUrl}: push URL ${worker.pushUrl}`);
    console.log(`${await signalled}: unregistering`);
    await worker.stop();
    return 0;
  },
};

const blenderProbe = z.object({ denoiser: z.boolean(), osl: z.boolean(), cpuCapabilities: z.array(z.string()), devices: z.array(z.string()), formats: z.array(z.string()) });
type BlenderProbe = z.output<typeof blenderProbe>;

/** What this Blender can do (blender/scripts/probe.py), or why that is unknown. */
async function probeBlender(blender: string): Promise<BlenderProbe | { readonly error: string }> {
  const folder = mkdtempSync(join(tmpdir(), 'bitwrk-probe-'));
  try {
    const out = join(folder, 'probe.json');
    await runBlender({ blender, script: scriptPath('probe.py'), scriptArgs: [out], timeoutMs: 60_000 });
    const parsed = blenderProbe.safeParse(JSON.parse(readFileSync(out, 'utf8')));
    return parsed.success ? parsed.data : { error: `probe.py answered ${parsed.error.issues[0]?.message ?? 'nonsense'}` };
  } catch (error) {
    return { error: (error as Error).message };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

function describeProbe(probe: BlenderProbe): string {
  return `devices ${probe.devices.join(', ')}; CPU ${probe.cpuCapabilities.join(' ') || 'unknown'}; denoiser ${probe.denoiser ? 'yes' : 'no (tiles render without denoising)'}; OSL ${probe.osl ? 'yes' : 'no'}`;
}

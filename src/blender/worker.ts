// The seller's side of a Blender job: unpack it into a fresh folder, render the tile with the
// packed scene in a Blender that runs none of the scene's scripts, and return the tile as float EXR.
// A job that costs more than the article's class, names a rectangle outside its frame or would run
// the scene's code is refused (the daemon then rejects the work, and the buyer is refunded).
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { parseBlenderArticle } from '../market/blender-articles.js';
import { runBlender, scriptPath } from './blender.js';
import { decodeJob } from './job.js';
import { normalizeExr } from './exr-check.js';

export interface BlenderWorkerOptions {
  readonly blender: string;
  /** CPU or GPU (Cycles' device). */
  readonly device: 'CPU' | 'GPU';
  /** Render threads (0: Blender's choice, all cores). */
  readonly threads: number;
  /** A render that runs longer is killed (the daemon's own limit on a job is 4 minutes). */
  readonly timeoutMs: number;
  /** Address space for Blender, in bytes (undefined: no limit). */
  readonly memoryBytes?: number;
  /** Largest file Blender may write, in bytes. */
  readonly fileBytes: number;
  /** Where job folders are made (default: the system's temporary folder). */
  readonly tmpRoot?: string;
  readonly log?: (line: string) => void;
}

/** Why a job was refused, as the worker answers it (the daemon passes it on in its rejection). */
export class JobRefusedError extends Error {
  override name = 'JobRefusedError';
}

const tileStatus = z.object({ ok: z.boolean(), error: z.string().nullable(), warnings: z.array(z.string()) });

/** Renders one job (the work of a trade for `article`); resolves to the tile's EXR bytes. */
export async function renderJob(work: Uint8Array, article: string, options: BlenderWorkerOptions, signal: AbortSignal): Promise<Uint8Array> {
  const parsed = parseBlenderArticle(article);
  if (parsed === undefined) throw new JobRefusedError(`${article} is not a Blender article`);
  const job = decodeJob(work);
  const folder = await mkdtemp(join(options.tmpRoot ?? tmpdir(), 'bitwrk-job-'));
  try {
    const sceneDir = join(folder, 'scene');
    const home = join(folder, 'home');
    await mkdir(join(sceneDir, 'rsrc'), { recursive: true });
    await mkdir(home);
    for (const [name, bytes] of job.resources) {
      const path = join(sceneDir, 'rsrc', name); // names are checked: 40 hex digits, an extension, or one folder of them
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, bytes);
    }
    const blendPath = join(sceneDir, 'scene.blend');
    await writeFile(blendPath, job.blend);
    const output = join(folder, 'tile.exr');
    const statusPath = join(folder, 'status.json');
    const tileJob = { frame: job.header.frame, width: job.header.width, height: job.header.height, rect: job.header.rendered, maxRays: parsed.maxRays, output, status: statusPath, device: options.device, threads: options.threads };
    const tilePath = join(folder, 'tile.json');
    await writeFile(tilePath, JSON.stringify(tileJob));
    const outcome = await runBlender({
      blender: options.blender,
      file: blendPath,
      script: scriptPath('render_tile.py'),
      scriptArgs: [tilePath],
      autoexec: false,
      cwd: sceneDir,
      home,
      timeoutMs: options.timeoutMs,
      fileBytes: options.fileBytes,
      signal,
      pinnedKernel: true,
      ...(options.memoryBytes === undefined ? {} : { memoryBytes: options.memoryBytes }),
    });
    if (outcome.stopped === 'timeout') throw new JobRefusedError(`the render took longer than ${options.timeoutMs / 1000} s and was stopped`);
    if (outcome.stopped === 'aborted') throw new JobRefusedError('the render was cancelled');
    const status = tileStatus.safeParse(await readFile(statusPath, 'utf8').then(JSON.parse, () => undefined));
    if (!status.success) throw new JobRefusedError(`Blender failed (exit ${outcome.code ?? outcome.signal}): ${outcome.tail.split('\n').slice(-5).join(' | ')}`);
    for (const warning of status.data.warnings) options.log?.(`warning: ${warning}`);
    if (!status.data.ok) throw new JobRefusedError(status.data.error ?? 'refused');
    // Only the pixels and the attributes OpenEXR needs: nothing of this machine reaches the buyer.
    try {
      return normalizeExr(new Uint8Array(await readFile(output)));
    } catch (error) {
      throw new JobRefusedError(`Blender wrote no tile this worker can send: ${(error as Error).message}`);
    }
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

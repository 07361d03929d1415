// The buyer's side of packing: a Blender process opens the buyer's scene and writes a
// self-contained copy (blender/scripts/pack.py); this reads what it wrote and lays the job's
// shared payload out (resources, then the .blend) for every tile of every frame.
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { runBlender, scriptPath } from './blender.js';

export const packFacts = z.object({
  blender: z.string(),
  engine: z.literal('cycles'),
  width: z.int().min(1),
  height: z.int().min(1),
  frameStart: z.int(),
  frameEnd: z.int(),
  frameCurrent: z.int(),
  samples: z.int().min(1),
  maxBounces: z.int().min(0),
  viewLayers: z.int().min(1),
  adaptiveSampling: z.boolean(),
  filmTransparent: z.boolean(),
  outputFormat: z.string(),
  outputExtension: z.string(),
  compositing: z.boolean(),
  /** The scene shades with Open Shading Language: only the cycles-osl articles serve it. */
  osl: z.boolean(),
  resources: z.array(z.object({ name: z.string(), size: z.int().min(0), source: z.string() })),
  warnings: z.array(z.string()),
});
export type PackFacts = z.output<typeof packFacts>;

export interface PackedScene {
  /** The folder pack.py wrote: scene.blend, rsrc/, pack.json. */
  readonly dir: string;
  readonly facts: PackFacts;
  readonly blendPath: string;
  readonly blendSize: number;
  /** Bytes of resources and the .blend: the part every job shares. */
  readonly payloadBytes: number;
}

export class PackError extends Error {
  override name = 'PackError';
}

/**
 * Packs `scenePath` into a new folder (under `tmpRoot`). With `autoexec` the scene's scripts run
 * while packing (its Python drivers are then frozen at their evaluated values), as they would in
 * the buyer's Blender with "Auto Run Python Scripts" on.
 */
export async function packScene(blender: string, scenePath: string, options: { readonly autoexec: boolean; readonly tmpRoot?: string; readonly signal?: AbortSignal }): Promise<PackedScene> {
  const dir = await mkdtemp(join(options.tmpRoot ?? tmpdir(), 'bitwrk-pack-'));
  const outcome = await runBlender({ blender, file: scenePath, script: scriptPath('pack.py'), scriptArgs: [dir], autoexec: options.autoexec, timeoutMs: 10 * 60_000, ...(options.signal === undefined ? {} : { signal: options.signal }) });
  const facts = packFacts.safeParse(await readFile(join(dir, 'pack.json'), 'utf8').then(JSON.parse, () => undefined));
  if (outcome.code !== 0 || !facts.success) {
    throw new PackError(`packing ${scenePath} failed (Blender exit ${outcome.code ?? outcome.signal}): ${outcome.tail.split('\n').filter((line) => /error|Traceback|not|cannot/i.test(line)).slice(-5).join(' | ') || outcome.tail.split('\n').slice(-3).join(' | ')}`);
  }
  const blendPath = join(dir, 'scene.blend');
  const blendSize = (await stat(blendPath)).size;
  return { dir, facts: facts.data, blendPath, blendSize, payloadBytes: blendSize + facts.data.resources.reduce((sum, resource) => sum + resource.size, 0) };
}

/** The shared payload: each resource's bytes in the header's order, then the .blend. */
export async function readPayload(packed: PackedScene): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = [];
  for (const resource of packed.facts.resources) parts.push(await readFile(join(packed.dir, 'rsrc', resource.name)));
  parts.push(await readFile(packed.blendPath));
  return parts;
}

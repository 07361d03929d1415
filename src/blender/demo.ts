// The demo scene (blender/scripts/demo_scene.py): a few objects, an external image texture, an
// object linked from a second file and an animated sphere, with the deterministic settings a tile
// render needs. The playground renders it through the market; the tests and the benchmark compare
// it with direct renders.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runBlender, scriptPath } from './blender.js';

export interface DemoSceneOptions {
  readonly width?: number;
  readonly height?: number;
  readonly samples?: number;
  readonly adaptive?: boolean;
  readonly denoise?: boolean;
  /** An image texture path instead of the generated one (e.g. one that does not exist). */
  readonly texture?: string;
  /** Scripts that write `marker`.text and `marker`.driver when run: a registered text block and a Python driver. */
  readonly hostile?: boolean;
  readonly marker?: string;
  readonly freestyle_script?: boolean;
  /** A compositor that needs the whole frame (glare, colour balance), writing 8-bit PNG through Filmic. */
  readonly compositor?: boolean;
  /** Shade with Open Shading Language (Cycles' shading_system). */
  readonly osl?: boolean;
}

/** Writes the scene into `dir` (scene.blend, library.blend, textures/); resolves to the scene's path. */
export async function makeDemoScene(blender: string, dir: string, options: DemoSceneOptions = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  const outcome = await runBlender({ blender, script: scriptPath('demo_scene.py'), scriptArgs: [dir, JSON.stringify(options)], timeoutMs: 120_000 });
  if (outcome.code !== 0) throw new Error(`making the demo scene failed (Blender exit ${outcome.code ?? outcome.signal}): ${outcome.tail.split('\n').slice(-5).join(' | ')}`);
  return join(dir, 'scene.blend');
}

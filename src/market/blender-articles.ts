// Blender articles: net.bitwrk/blender/<major.minor>/<engine>/<cost class>, the engine `cycles` or
// `cycles-osl` (Cycles with Open Shading Language: only sellers whose Blender has OSL serve it, so
// a scene with OSL shaders never reaches one that would refuse it). A cost class bounds the
// rays one job may cost (pixels x samples x max bounces x view layers, the original's model), so a
// price per job means something; the buyer tiles a frame to fit the class and the seller's worker
// re-checks the cost from the scene before it renders.

/** Rays per job of each class; binary multiples, as the original's 512M/2G/8G/32G. */
export const BLENDER_COST_CLASSES = {
  '512M': 512 * 2 ** 20,
  '2G': 2 * 2 ** 30,
  '8G': 8 * 2 ** 30,
  '32G': 32 * 2 ** 30,
} as const;
export type BlenderCostClass = keyof typeof BLENDER_COST_CLASSES;

/** The Blender versions the exchange lists by default: Debian's (tested) and the LTS lines after it. */
export const BLENDER_VERSIONS_LISTED = ['3.4', '3.6', '4.2'] as const;

export interface BlenderArticle {
  readonly articleId: string;
  /** major.minor, e.g. "3.4": Cycles changes its sampling between versions. */
  readonly version: string;
  readonly engine: 'cycles';
  /** The scene may use Open Shading Language (the seller's Blender has it). */
  readonly osl: boolean;
  readonly costClass: BlenderCostClass;
  readonly maxRays: number;
}

const BLENDER_ARTICLE = /^net\.bitwrk\/blender\/(\d{1,2}\.\d{1,3})\/cycles(-osl)?\/(512M|2G|8G|32G)$/;

export function blenderArticleId(version: string, costClass: BlenderCostClass, osl = false): string {
  return `net.bitwrk/blender/${version}/cycles${osl ? '-osl' : ''}/${costClass}`;
}

/** The article's parts, or undefined when it is not a Blender article. */
export function parseBlenderArticle(articleId: string): BlenderArticle | undefined {
  const match = BLENDER_ARTICLE.exec(articleId);
  if (match === null) return undefined;
  const costClass = match[3] as BlenderCostClass;
  return { articleId, version: match[1]!, engine: 'cycles', osl: match[2] !== undefined, costClass, maxRays: BLENDER_COST_CLASSES[costClass] };
}

export function isBlenderCostClass(value: string): value is BlenderCostClass {
  return Object.hasOwn(BLENDER_COST_CLASSES, value);
}

// The articles a new exchange starts with (journalled at first start; later changes are
// admin commands). Prices are in satoshis; fees and bid lifetimes are the original's.
import { articleWithDefaults, type ArticleSpec } from './articles.js';
import { BLENDER_COST_CLASSES, BLENDER_VERSIONS_LISTED, blenderArticleId, type BlenderCostClass } from './blender-articles.js';

export const TEST_HASH_ARTICLE = 'net.bitwrk/test/hash/0';

export const DEFAULT_ARTICLES: readonly ArticleSpec[] = [
  articleWithDefaults(TEST_HASH_ARTICLE, { description: 'Test work: SHA-256 of the work, iterated N rounds', priceSatsMax: 1_000_000 }),
  ...BLENDER_VERSIONS_LISTED.flatMap((version) =>
    [false, true].flatMap((osl) =>
      (Object.keys(BLENDER_COST_CLASSES) as BlenderCostClass[]).map((costClass) =>
        articleWithDefaults(blenderArticleId(version, costClass, osl), { description: `Blender ${version} Cycles${osl ? ' with Open Shading Language' : ''} render of one tile, up to ${costClass} rays` }),
      ),
    ),
  ),
];

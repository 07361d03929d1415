// The articles a new exchange starts with (journalled at first start; later changes are
// admin commands). Prices are in satoshis; fees and bid lifetimes are the original's.
import { articleWithDefaults, type ArticleSpec } from './articles.js';

export const TEST_HASH_ARTICLE = 'net.bitwrk/test/hash/0';

export const DEFAULT_ARTICLES: readonly ArticleSpec[] = [
  articleWithDefaults(TEST_HASH_ARTICLE, { description: 'Test work: SHA-256 of the work, iterated N rounds', priceSatsMax: 1_000_000 }),
  articleWithDefaults('net.bitwrk/blender/0/3.4/512M', { description: 'Blender 3.4 Cycles render, up to 512 M rays' }),
  articleWithDefaults('net.bitwrk/blender/0/3.4/2G', { description: 'Blender 3.4 Cycles render, up to 2 G rays' }),
];

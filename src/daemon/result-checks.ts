// The result checks the buyer's daemon runs before it accepts a result (and so signs the payment),
// one per kind of article: the test article's result is recomputed; a Blender tile is checked for
// its form (src/blender/exr-check.ts). A result that fails is rejected on the exchange.
import { checkBlenderTile } from '../blender/exr-check.js';
import { parseBlenderArticle } from '../market/blender-articles.js';
import { TEST_HASH_ARTICLE } from '../market/catalogue.js';
import { hashWork } from './hash-work.js';

/**
 * A result check the buyer runs before it accepts (and so pays): why the result is wrong, or null.
 * The test article's result is recomputed; a Blender tile is checked for its form (exr-check.ts).
 */
export type ResultVerifier = (work: Uint8Array, result: Uint8Array) => string | null;

/** The check for `article`: every article the daemon knows has one; an unknown article has none. */
export type ResultVerifiers = (article: string) => ResultVerifier | undefined;

export const BUILT_IN_VERIFIERS: ResultVerifiers = (article) => {
  if (article === TEST_HASH_ARTICLE) return (work, result) => (Buffer.from(hashWork(work)).equals(Buffer.from(result)) ? null : 'the hash differs from the work\'s');
  if (parseBlenderArticle(article) !== undefined) return checkBlenderTile;
  return undefined;
};

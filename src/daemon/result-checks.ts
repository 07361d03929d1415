// The result checks the buyer's daemon runs before it accepts a result (and so signs the payment),
// one per kind of article: the test article's result is recomputed; a Blender tile is checked for
// its form (src/blender/exr-check.ts). A result that fails is rejected on the exchange.
import { checkBlenderTile } from '../blender/exr-check.js';
import { parseBlenderArticle } from '../market/blender-articles.js';
import { TEST_HASH_ARTICLE } from '../market/catalogue.js';
import { hashWorkStream } from './hash-work.js';
import { readHead, type FileSource } from '../cafs/files.js';
import { JOB_HEAD_BYTES_MAX } from '../blender/job.js';

/**
 * A result check the buyer runs before it accepts (and so pays): why the result is wrong, or null.
 * The work is streamed from the store (it may be larger than memory): a check reads what it needs.
 */
export type ResultVerifier = (work: FileSource, result: Uint8Array) => Promise<string | null>;

/** The check for `article`: every article the daemon knows has one; an unknown article has none. */
export type ResultVerifiers = (article: string) => ResultVerifier | undefined;

export const BUILT_IN_VERIFIERS: ResultVerifiers = (article) => {
  if (article === TEST_HASH_ARTICLE) return async (work, result) => (Buffer.from(await hashWorkStream(work.read())).equals(Buffer.from(result)) ? null : 'the hash differs from the work\'s');
  // A tile's check needs the job's header only, never its scene.
  if (parseBlenderArticle(article) !== undefined) return async (work, result) => checkBlenderTile(await readHead(work.read(), JOB_HEAD_BYTES_MAX), result, work.size);
  return undefined;
};

// The test article's work (net.bitwrk/test/hash/0): the result is SHA-256 applied ROUNDS times to
// the work (H¹ = SHA-256(work), Hᵏ = SHA-256(Hᵏ⁻¹)) as lowercase hex and a newline. Cheap enough to
// run anywhere, costly enough to be real work, and a buyer can check a result by redoing it.
import { createHash } from 'node:crypto';
import { checkBlenderTile } from '../blender/exr-check.js';
import { parseBlenderArticle } from '../market/blender-articles.js';
import { TEST_HASH_ARTICLE } from '../market/catalogue.js';

export const HASH_ROUNDS = 100_000;

export function hashWork(work: Uint8Array, rounds = HASH_ROUNDS): Uint8Array {
  let digest = createHash('sha256').update(work).digest();
  for (let round = 1; round < rounds; round++) digest = createHash('sha256').update(digest).digest();
  return new TextEncoder().encode(`${digest.toString('hex')}\n`);
}

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

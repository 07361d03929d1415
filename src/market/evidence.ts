// Evidence the exchange judges without a person (docs/market-rules.md §6, "Evidence"): for an
// article whose work is deterministic, every honest seller's result is the same bytes, so the
// sellers' signed commitments to the result's hash can be compared. The exchange settles a
// dispute by the majority of independent results; the buyer's daemon uses the same rule to decide
// which result to accept. One implementation for both.
import { createHash } from 'node:crypto';
import { parseBlenderArticle } from './blender-articles.js';
import { TEST_HASH_ARTICLE } from './catalogue.js';

/** Witnesses an evidence command may name: enough for a majority of three to five results. */
export const EVIDENCE_WITNESSES_MIN = 2;
export const EVIDENCE_WITNESSES_MAX = 4;

/** The seller's commitment: SHA-256 of the plain result, lowercase hex (the `resulthash` field). */
export function resultHashOf(result: Uint8Array): string {
  return createHash('sha256').update(result).digest('hex');
}

/** One seller's result for the work, as its signed `encresult` committed it. */
export interface ResultVote {
  readonly seller: string;
  readonly resultHash: string;
}

/**
 * The result hash a strict majority of the claims agree on, where at least two agree; null when
 * there is none. Each seller counts once (a seller's second claim cannot outvote another).
 */
export function majorityResult(claims: readonly ResultVote[]): string | null {
  const { votes, voters } = sellerVotes(claims);
  for (const [hash, count] of votes) if (count >= 2 && 2 * count > voters) return hash;
  return null;
}

/** Votes per result hash, one per seller (its first claim), and how many sellers voted. */
export function sellerVotes(claims: readonly ResultVote[]): { readonly votes: ReadonlyMap<string, number>; readonly voters: number } {
  const bySeller = new Map<string, string>();
  for (const claim of claims) if (!bySeller.has(claim.seller)) bySeller.set(claim.seller, claim.resultHash);
  const votes = new Map<string, number>();
  for (const hash of bySeller.values()) votes.set(hash, (votes.get(hash) ?? 0) + 1);
  return { votes, voters: bySeller.size };
}

/**
 * How an article's results are checked. `replicable`: the work is deterministic, byte for byte,
 * so the exchange takes evidence by majority. `localCheck`: what the buyer's own check proves
 * (full: it recomputes the result; form: only its form, so a wrong result of the right form
 * passes). `spotCheckPercent`: the share of purchases the buyer's daemon buys again from another
 * seller to compare (for sellers with an established history; newer ones are checked always).
 */
export interface VerificationPolicy {
  readonly replicable: boolean;
  readonly localCheck: 'full' | 'form' | 'none';
  readonly spotCheckPercent: number;
}

/** The test article's family (`net.bitwrk/test/hash/0`, and the simulator's articles): deterministic hash work. */
export const TEST_HASH_FAMILY = TEST_HASH_ARTICLE.slice(0, TEST_HASH_ARTICLE.lastIndexOf('/') + 1);

/** Sellers with fewer finished sales than this have little history: every replicable sale of theirs is checked. */
export const ESTABLISHED_SALES = 10;

/** The share (0-1) of a seller's results the buyer checks against another seller's. */
export function spotCheckRate(policy: VerificationPolicy, finishedSales: number): number {
  if (!policy.replicable || policy.spotCheckPercent === 0) return 0;
  return finishedSales < ESTABLISHED_SALES ? 1 : policy.spotCheckPercent / 100;
}

const NONE: VerificationPolicy = { replicable: false, localCheck: 'none', spotCheckPercent: 0 };

/**
 * The policy of each article family. The test family is recomputed by the buyer and replicable.
 * Blender tiles are replicable too: every seller renders with the pinned CPU kernel and sends the
 * tile with only the attributes OpenEXR requires (src/blender/blender.ts, exr-check.ts), so two
 * honest sellers' tiles are equal byte for byte; the buyer checks a tile's form, and one that
 * fails it is bought from other sellers, whose agreeing results are the evidence.
 */
export function verificationOf(articleId: string): VerificationPolicy {
  if (articleId.startsWith(TEST_HASH_FAMILY)) return { replicable: true, localCheck: 'full', spotCheckPercent: 0 };
  if (parseBlenderArticle(articleId) !== undefined) return { replicable: true, localCheck: 'form', spotCheckPercent: 0 };
  return NONE;
}

// The article catalogue: what can be traded, at what fee, within what prices, for how long a bid
// rests. An article is immutable once defined: a bid's hold is computed with the article's fee,
// and a later change could make a trade's price + fee exceed what was held. A new fee means a
// new article id (e.g. a version suffix).
import {
  ARTICLE_DESCRIPTION_CHARS_MAX,
  ARTICLE_ID_CHARS_MAX,
  BID_LIFETIME_MS_DEFAULT,
  BID_LIFETIME_MS_MAX,
  BID_LIFETIME_MS_MIN,
  FEE_DENOMINATOR_MAX,
  MONEY_SATS_MAX,
} from './limits.js';
import { isSats } from './money.js';
import type { FeeRatio } from './money.js';

export interface ArticleSpec extends FeeRatio {
  /** e.g. "net.bitwrk/blender/3.4/cycles/512M"; see ARTICLE_ID_PATTERN. */
  readonly articleId: string;
  readonly description: string;
  readonly priceSatsMin: number;
  readonly priceSatsMax: number;
  readonly bidLifetimeMs: number;
}

/** Printable, URL- and path-safe: letters, digits and . _ / ~ : + - */
export const ARTICLE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._/~:+-]*$/;

/** The original's fee (3 %, rounded up) and lifetime (2 min), with the given id and bounds. */
export function articleWithDefaults(
  articleId: string,
  overrides: Partial<Omit<ArticleSpec, 'articleId'>> = {},
): ArticleSpec {
  return {
    articleId,
    description: overrides.description ?? articleId,
    feeNumerator: overrides.feeNumerator ?? 3,
    feeDenominator: overrides.feeDenominator ?? 100,
    priceSatsMin: overrides.priceSatsMin ?? 0,
    priceSatsMax: overrides.priceSatsMax ?? 100_000_000,
    bidLifetimeMs: overrides.bidLifetimeMs ?? BID_LIFETIME_MS_DEFAULT,
  };
}

/** Null when the spec is well formed; otherwise the first problem found, for logs. */
export function articleProblem(spec: ArticleSpec): string | null {
  if (typeof spec.articleId !== 'string' || !ARTICLE_ID_PATTERN.test(spec.articleId)) return 'articleId';
  if (spec.articleId.length > ARTICLE_ID_CHARS_MAX) return 'articleId length';
  if (typeof spec.description !== 'string' || spec.description.length > ARTICLE_DESCRIPTION_CHARS_MAX) {
    return 'description';
  }
  const { feeNumerator, feeDenominator } = spec;
  if (!Number.isSafeInteger(feeDenominator) || feeDenominator < 1 || feeDenominator > FEE_DENOMINATOR_MAX) {
    return 'feeDenominator';
  }
  if (!Number.isSafeInteger(feeNumerator) || feeNumerator < 0 || feeNumerator > feeDenominator) return 'feeNumerator';
  if (!isSats(spec.priceSatsMin) || !isSats(spec.priceSatsMax)) return 'price bounds';
  if (spec.priceSatsMin > spec.priceSatsMax || spec.priceSatsMax > MONEY_SATS_MAX) return 'price bounds order';
  if (!Number.isSafeInteger(spec.priceSatsMax * feeNumerator)) return 'priceSatsMax × feeNumerator';
  const lifetime = spec.bidLifetimeMs;
  if (!Number.isSafeInteger(lifetime) || lifetime < BID_LIFETIME_MS_MIN || lifetime > BID_LIFETIME_MS_MAX) {
    return 'bidLifetimeMs';
  }
  return null;
}

/** A plain copy with exactly the spec's fields (commands may carry extra keys). */
export function copyArticle(spec: ArticleSpec): ArticleSpec {
  return {
    articleId: spec.articleId,
    description: spec.description,
    feeNumerator: spec.feeNumerator,
    feeDenominator: spec.feeDenominator,
    priceSatsMin: spec.priceSatsMin,
    priceSatsMax: spec.priceSatsMax,
    bidLifetimeMs: spec.bidLifetimeMs,
  };
}

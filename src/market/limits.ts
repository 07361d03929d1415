// Limits of the market core (TigerStyle: a limit on everything). Names end in MAX/MIN and carry
// their unit; relationships are asserted at load time.
import { assert } from '../assert.js';

/** All bitcoin there will ever be, in satoshis: no amount or balance can exceed it. */
export const MONEY_SATS_MAX = 21_000_000 * 100_000_000;

/** Bid lifetime: the default (the original's 120 s) and the bounds an article may choose. */
export const BID_LIFETIME_MS_DEFAULT = 120_000;
export const BID_LIFETIME_MS_MIN = 1_000;
export const BID_LIFETIME_MS_MAX = 60 * 60_000;

/** Open (resting) bids one participant may have in one article, whatever the core's setting. */
export const OPEN_BIDS_PER_ARTICLE_MAX = 10_000;
/** The core's default for that limit (a seller daemon keeps about one bid per idle worker). */
export const OPEN_BIDS_PER_ARTICLE_DEFAULT = 1_000;

/**
 * Resting bids in all the books together. The open-bid limit bounds one participant, but keys are
 * free: without this, fresh keys could fill the books until memory ran out (a resting bid costs a
 * few KiB with its indexes). Past it a new bid is refused with bid_book_full.
 */
export const OPEN_BIDS_MAX = 500_000;
/** Articles in the catalogue, and the sizes of their fields. */
export const ARTICLES_MAX = 4_096;
export const ARTICLE_ID_CHARS_MAX = 128;
export const ARTICLE_DESCRIPTION_CHARS_MAX = 512;
/** Largest fee denominator (fees are exact fractions numerator/denominator, at most 1). */
export const FEE_DENOMINATOR_MAX = 1_000_000;

/** Accounts the core keeps (each is created by its first bid, credit or deposit). */
export const ACCOUNTS_MAX = 10_000_000;
/** Participant addresses are authenticated before the core; this only bounds their size. */
export const ADDRESS_CHARS_MAX = 100;
/** Deposit and payout ids (from the payment processor): length bound. */
export const REFERENCE_CHARS_MAX = 100;
/** Deposits and payouts awaiting confirmation, for the whole exchange. */
export const PENDING_DEPOSITS_MAX = 1_000_000;
export const PENDING_PAYOUTS_MAX = 1_000_000;
/** Deposit addresses the exchange reserves in all (each costs a derivation and a watched address). */
export const DEPOSIT_ADDRESSES_MAX = 10_000_000;
/**
 * Reserved, never-paid addresses one participant may hold: past it a request returns its newest
 * unused one again, so nobody can widen the wallet's gap of unused addresses at will.
 */
export const DEPOSIT_ADDRESSES_UNUSED_MAX = 3;
/** Deposits below this are recorded but not credited: sweeping them would cost about what they are worth. */
export const DEPOSIT_SATS_MIN = 1_000;

/** Sellers one BUY bid may name as not to be matched with (a buyer retrying work elsewhere). */
export const AVOID_SELLERS_MAX = 8;

/** Price levels a depth query returns at most, per side. */
export const DEPTH_LEVELS_MAX = 1_000;

/** Transaction message fields. */
export const WORKER_URL_CHARS_MAX = 255;
export const REASON_CHARS_MAX = 256;

assert(Number.isSafeInteger(2 * MONEY_SATS_MAX), 'a price plus a fee of at most the price must be a safe integer');
assert(OPEN_BIDS_PER_ARTICLE_DEFAULT <= OPEN_BIDS_PER_ARTICLE_MAX, 'the default bid limit must be within the cap');
assert(BID_LIFETIME_MS_MIN <= BID_LIFETIME_MS_DEFAULT, 'the default lifetime must be allowed');
assert(BID_LIFETIME_MS_DEFAULT <= BID_LIFETIME_MS_MAX, 'the default lifetime must be allowed');

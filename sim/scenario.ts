// A simulation scenario: how many synthetic traders of which kinds, on how many articles, for how
// long, over what network, with which market parameters and faults. Validated with zod, so that a
// scenario file with a mistake gets an error naming the field; every field has a default.
import { z } from 'zod';
import { TEST_HASH_FAMILY } from '../src/market/evidence.js';

const share = z.number().min(0).max(1);
/** Shares are written in decimal; their float sum may exceed 1 by a rounding error (0.3 + 0.2 + 0.3 + 0.2). */
const SHARE_ROUNDING = 1e-9;

export const networkSchema = z.strictObject({
  /** One-way delay of every frame, drawn uniformly from [min, max] milliseconds. */
  latencyMinMs: z.number().int().min(0).max(10_000).default(5),
  latencyMaxMs: z.number().int().min(0).max(10_000).default(40),
  /** Probability that one frame is lost (requests then time out and are sent again). */
  lossProbability: z.number().min(0).max(0.2).default(0),
});

export const scenarioSchema = z
  .strictObject({
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(1),
    buyers: z.number().int().min(1).max(100_000).default(1000),
    sellers: z.number().int().min(1).max(100_000).default(1000),
    hours: z.number().min(0.01).max(24 * 7).default(1),
    /** Articles traded (each agent trades one); article k's usual price is 1000 × (1 + k/2) sat. */
    articles: z.number().int().min(1).max(20).default(1),
    /** How buyers arrive: a Poisson process, or in bursts (ten minutes on, ten off, twice the rate). */
    arrivals: z.enum(['poisson', 'bursts']).default('poisson'),
    /** Mean time between one buyer's purchases, and a seller's mean work time, in seconds. */
    buyerIntervalSeconds: z.number().min(1).max(86_400).default(600),
    workSeconds: z.number().min(1).max(3600).default(60),
    /** Size of one purchase's work and the peers' bandwidth (the transfer takes size / bandwidth). */
    workMiB: z.number().min(0).max(1024).default(4),
    bandwidthMiBPerSecond: z.number().min(0.01).max(10_000).default(20),
    /** The fee (numerator over 100) and the bid lifetime the exchange applies. */
    feeNumerator: z.number().int().min(0).max(100).default(3),
    bidLifetimeSeconds: z.number().int().min(1).max(3600).default(120),
    /** Bids one purchase may place before the buyer gives up. */
    attemptsMax: z.number().int().min(1).max(20).default(3),
    /** Shares of seller behaviours; the rest are honest sellers with a fixed ask. */
    adaptiveSellers: share.default(0.3),
    flakySellers: share.default(0.05),
    cheatingSellers: share.default(0.02),
    /** The share of a cheater's wrong results that pass the buyer's own check (a render with fewer samples passes a form check). */
    cheatsPassCheck: share.default(0),
    /**
     * The buyer daemon's spot-check rate in percent: null, the article's own policy (the test
     * article: none, the buyer recomputes every result); a number makes the simulated article one
     * whose own check sees only the form, spot-checked at that rate (sellers with little history always).
     */
    spotCheckPercent: z.number().int().min(0).max(100).nullable().default(null),
    /** Sellers that publish a forged receipt instead of delivering (the exchange must refuse it). */
    forgingSellers: share.default(0.01),
    /** Shares of buyer behaviours; the rest bid their fixed valuation. */
    priceTakers: share.default(0.2),
    silentBuyers: share.default(0.02),
    network: networkSchema.default({ latencyMinMs: 5, latencyMaxMs: 40, lossProbability: 0 }),
    /**
     * How agents reach the market: 'exchange', the production exchange over the in-process
     * network (the default); or 'core', straight into the market core, much faster for large
     * markets, without the wire, signatures, journal, restarts or lost frames.
     */
    connector: z.enum(['exchange', 'core']).default('exchange'),
    /** The exchange restarts from its journal every N simulated minutes (0: never), down this long. */
    restartEveryMinutes: z.number().min(0).max(10_000).default(0),
    restartDowntimeSeconds: z.number().min(0).max(600).default(5),
    /** Daemon faults. The chance that a failed transaction's dead peer session sends a late error (B1). */
    lateErrors: share.default(0),
    /** Sellers' workers removed per hour, across the market, each back after a while (B2). */
    workerRemovalsPerHour: z.number().min(0).max(100_000).default(0),
    /** Seller daemons restarted per hour, across the market, each down this long (B3, B6). */
    sellerRestartsPerHour: z.number().min(0).max(100_000).default(0),
    sellerDowntimeSeconds: z.number().min(0).max(600).default(20),
    /**
     * How buyers get their money: the admin's credit, or deposits on the devnet (a deposit
     * address each, faucet payments, credit after the confirmations; blocks every 10 minutes).
     */
    funding: z.enum(['credit', 'chain']).default('credit'),
    /** With chain funding: reorgs per hour that double-spend a funding transaction after its credit. */
    reorgsPerHour: z.number().min(0).max(100).default(0),
    /** With chain funding: withdrawals per hour, each of part of a random participant's balance, paid on chain by the production payout processor. */
    withdrawalsPerHour: z.number().min(0).max(10_000).default(0),
  })
  .refine((scenario) => scenario.network.latencyMinMs <= scenario.network.latencyMaxMs, { message: 'network.latencyMinMs must not exceed latencyMaxMs', path: ['network'] })
  .refine((scenario) => scenario.adaptiveSellers + scenario.flakySellers + scenario.cheatingSellers + scenario.forgingSellers <= 1 + SHARE_ROUNDING, { message: 'the seller shares add up to more than 1', path: ['adaptiveSellers'] })
  .refine((scenario) => scenario.priceTakers + scenario.silentBuyers <= 1 + SHARE_ROUNDING, { message: 'the buyer shares add up to more than 1', path: ['priceTakers'] })
  .refine((scenario) => scenario.funding === 'credit' || scenario.connector === 'exchange', { message: "chain funding needs the 'exchange' connector (the deposit watcher runs in the exchange)", path: ['funding'] })
  .refine((scenario) => scenario.reorgsPerHour === 0 || scenario.funding === 'chain', { message: 'reorgs need chain funding', path: ['reorgsPerHour'] })
  .refine((scenario) => scenario.withdrawalsPerHour === 0 || scenario.funding === 'chain', { message: 'withdrawals need chain funding', path: ['withdrawalsPerHour'] })
  .refine((scenario) => scenario.connector === 'exchange' || (scenario.restartEveryMinutes === 0 && scenario.network.lossProbability === 0), {
    message: "the 'core' connector has no journal to restart from and no frames to lose: use the 'exchange' connector",
    path: ['connector'],
  });

export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;

/** Article k's id and usual price. */
/** Simulated work is the test article's kind (deterministic hash work), so its disputes take evidence. */
export function simArticle(index: number): { readonly articleId: string; readonly usualPriceSats: number } {
  return { articleId: `${TEST_HASH_FAMILY}${index}`, usualPriceSats: Math.round(1000 * (1 + index / 2)) };
}

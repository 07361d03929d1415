// A simulation scenario: how many synthetic traders of which kinds, for how long, on which
// article. Validated with zod so that a scenario file with a mistake gets an error naming the field.
import { z } from 'zod';

export const scenarioSchema = z.strictObject({
  seed: z.number().int().min(0).max(2 ** 32 - 1).default(1),
  buyers: z.number().int().min(1).max(100_000).default(1000),
  sellers: z.number().int().min(1).max(100_000).default(1000),
  hours: z.number().min(0.01).max(24 * 7).default(1),
  /** Mean time between a buyer's purchases, and a seller's work time, in seconds. */
  buyerIntervalSeconds: z.number().min(1).max(86_400).default(600),
  workSeconds: z.number().min(1).max(3600).default(60),
  feeNumerator: z.number().int().min(0).max(100).default(3),
  bidLifetimeSeconds: z.number().int().min(1).max(3600).default(120),
  /** Shares of seller behaviours; the rest are honest fixed-price sellers. */
  adaptiveSellers: z.number().min(0).max(1).default(0.3),
  flakySellers: z.number().min(0).max(1).default(0.05),
  cheatingSellers: z.number().min(0).max(1).default(0.02),
  /** Shares of buyer behaviours; the rest pay a fixed valuation. */
  priceTakers: z.number().min(0).max(1).default(0.2),
  silentBuyers: z.number().min(0).max(1).default(0.02),
});

export type Scenario = z.output<typeof scenarioSchema>;

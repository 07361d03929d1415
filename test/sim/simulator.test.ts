// Goal: a simulation is deterministic from its seed (the same report, byte for byte, restarts and
// lost frames included), keeps the market's invariants in any small scenario, retires every
// transaction, catches a planted bug and shrinks it to a smaller failing scenario, and refuses a
// bad scenario naming the field. Method: runs compared byte for byte, fast-check over random small
// scenarios (the run throws on a broken invariant or liveness), and a planted bug (the exchange
// takes any receipt) against sellers that forge receipts. Chain funding runs the devnet, the
// exchange's deposit watcher and reorgs that reverse credits while buyers trade.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { InvariantViolation } from '../../sim/auditor.js';
import { reduce } from '../../sim/reduce.js';
import { htmlReport, summaryTable, timeSeriesCsv } from '../../sim/report.js';
import { scenarioSchema, type Scenario } from '../../sim/scenario.js';
import { simulate } from '../../sim/simulator.js';
import { recommend, sweep, type SweepRow } from '../../sim/sweep.js';

test('the same seed gives the same report, byte for byte, with restarts and lost frames; another seed does not', async () => {
  const scenario = scenarioSchema.parse({ seed: 7, buyers: 60, sellers: 30, hours: 0.3, articles: 2, restartEveryMinutes: 6, network: { latencyMinMs: 2, latencyMaxMs: 30, lossProbability: 0.01 } });
  const first = await simulate(scenario);
  const second = await simulate(scenario);
  assert.equal(summaryTable(second), summaryTable(first));
  assert.equal(timeSeriesCsv(second), timeSeriesCsv(first));
  assert.equal(htmlReport(second), htmlReport(first));
  assert.ok(first.totals.trades > 20, `the market trades (${first.totals.trades})`);
  assert.equal(first.faults.restarts, 3, 'the exchange restarted from its journal at minutes 6, 12 and 18, keeping its state hash');
  assert.ok(first.faults.resentCommands > 0, 'lost frames made agents send commands again');
  assert.equal(first.totals.finished + first.totals.disputed + first.totals.timedOut, first.totals.trades, 'every transaction retired');
  assert.notEqual((await simulate({ ...scenario, seed: 8 })).stateHash, first.stateHash);
});

test('a bid whose answer was lost is found again from its push: through the real exchange too', async () => {
  // The agents claim such a bid by its bidAccepted push; the pushes come in the wire's form (sides
  // in lowercase) through the exchange connector, as they do to a daemon.
  const scenario = scenarioSchema.parse({ seed: 3, buyers: 200, sellers: 200, hours: 0.2, network: { latencyMinMs: 5, latencyMaxMs: 40, lossProbability: 0.02 } });
  const result = await simulate(scenario);
  assert.ok(result.faults.resentCommands > 50, `lost answers made agents send again (${result.faults.resentCommands})`);
  assert.ok(result.faults.recoveredBids > 0, `bids recovered from their pushes (${result.faults.recoveredBids}; ${result.faults.orphanBids} orphaned: their push was lost too)`);
  assert.ok(result.faults.orphanBids < result.faults.recoveredBids);
});

test('daemon faults: late errors of dead sessions, removed workers, seller restarts; every trade promise holds (B1, B2, B3, B6)', async () => {
  // The agents run the daemon's trade logic; the trade auditor (sim/trades.ts) checks after every
  // step that a fact about another transaction changes nothing, that a mandate's trade is spent only
  // after a bid, and that a purchase's end is said truly; the run checks that no removed worker's
  // bid is matched. A seller restart takes its sale up from its saved state at the same address,
  // with trade ids that continue (a repeated id would stop the run).
  const scenario = scenarioSchema.parse({ seed: 5, buyers: 300, sellers: 60, hours: 0.4, lateErrors: 1, workerRemovalsPerHour: 150, sellerRestartsPerHour: 150, flakySellers: 0.2 });
  const result = await simulate(scenario);
  assert.ok(result.faults.lateErrors > 5, `late errors were sent (${result.faults.lateErrors})`);
  // Each reached a purchase on a later attempt (ignored as stale) or one that had ended (forgotten).
  assert.ok(result.faults.staleFactsIgnored > 0 && result.faults.staleFactsIgnored <= result.faults.lateErrors, `stale facts ignored: ${result.faults.staleFactsIgnored}`);
  assert.ok(result.faults.workersRemoved > 10 && result.faults.sellerRestarts > 10, `workers removed ${result.faults.workersRemoved}, sellers restarted ${result.faults.sellerRestarts}`);
  assert.equal(result.faults.ghostBidsMatched, 0);
  assert.ok((result.ended['buy done'] ?? 0) > 50, `purchases still go through (${result.ended['buy done'] ?? 0})`);
  // With the daemon's old bug planted (a removed worker's bid stays on the book), the run stops.
  await assert.rejects(simulate(scenario, { plant: 'keep-ghost-bids' }), (error: unknown) => error instanceof InvariantViolation && /of a worker removed \d+ ms before/.test(error.message));
});

test('the core connector is deterministic too, and refuses restarts and lost frames it cannot simulate', async () => {
  const scenario = scenarioSchema.parse({ seed: 11, buyers: 80, sellers: 40, hours: 0.3, articles: 2, connector: 'core' });
  const first = await simulate(scenario);
  assert.equal(htmlReport(await simulate(scenario)), htmlReport(first));
  assert.ok(first.totals.trades > 20, `the market trades (${first.totals.trades})`);
  assert.equal(first.journalRecords, 0, 'no journal: the commands went straight into the core');
  const refused = scenarioSchema.safeParse({ connector: 'core', restartEveryMinutes: 5 });
  assert.equal(refused.success, false);
  if (!refused.success) assert.match(refused.error.issues[0]!.message, /exchange' connector/);
});

test('random small scenarios keep every invariant and retire every transaction', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        seed: fc.nat(),
        buyers: fc.integer({ min: 1, max: 25 }),
        sellers: fc.integer({ min: 1, max: 15 }),
        hours: fc.double({ min: 0.03, max: 0.2, noNaN: true }),
        articles: fc.integer({ min: 1, max: 3 }),
        arrivals: fc.constantFrom('poisson', 'bursts'),
        buyerIntervalSeconds: fc.integer({ min: 30, max: 600 }),
        feeNumerator: fc.integer({ min: 0, max: 10 }),
        bidLifetimeSeconds: fc.integer({ min: 10, max: 300 }),
        flakySellers: fc.double({ min: 0, max: 0.3, noNaN: true }),
        cheatingSellers: fc.double({ min: 0, max: 0.3, noNaN: true }),
        forgingSellers: fc.double({ min: 0, max: 0.2, noNaN: true }),
        silentBuyers: fc.double({ min: 0, max: 0.3, noNaN: true }),
        restartEveryMinutes: fc.constantFrom(0, 0, 4),
        network: fc.record({ latencyMinMs: fc.constant(1), latencyMaxMs: fc.integer({ min: 1, max: 80 }), lossProbability: fc.constantFrom(0, 0, 0.02) }),
        connector: fc.constantFrom('exchange', 'core'),
      })
        // Adaptive sellers take what the other seller kinds leave, up to the default 0.3 (the shares must not exceed 1).
        .map((input) => ({ ...input, adaptiveSellers: Math.max(0, Math.min(0.3, 1 - input.flakySellers - input.cheatingSellers - input.forgingSellers)) }))
        .map((input) => (input.connector === 'core' ? { ...input, restartEveryMinutes: 0, network: { ...input.network, lossProbability: 0 } } : input)),
      async (input) => {
        const result = await simulate(scenarioSchema.parse(input)); // throws on a broken invariant or liveness
        assert.equal(result.totals.finished + result.totals.disputed + result.totals.timedOut, result.totals.trades);
        assert.ok(result.checks.coreInvariantChecks >= 1);
      },
    ),
    { numRuns: 12 },
  );
});

test('forged receipts are refused; with a planted bug that accepts them, the run stops and shrinks', async () => {
  const scenario: Scenario = scenarioSchema.parse({ seed: 3, buyers: 40, sellers: 20, hours: 0.3, forgingSellers: 0.5, cheatingSellers: 0 });
  const honest = await simulate(scenario);
  assert.ok((honest.ended['sell failed'] ?? 0) > 0, 'forging sellers fail: the exchange refuses their receipts');

  const fails = async (candidate: Scenario): Promise<string | undefined> => {
    try {
      await simulate(candidate, { plant: 'accept-any-receipt' });
      return undefined;
    } catch (error) {
      if (!(error instanceof InvariantViolation)) throw error;
      return error.message;
    }
  };
  const message = await fails(scenario);
  assert.match(message ?? 'no violation', /paid .* without the buyer's receipt/);
  const smallest = await reduce(scenario, message!, fails, 12);
  assert.match(smallest.message, /without the buyer's receipt/);
  assert.ok(smallest.scenario.buyers + smallest.scenario.sellers < scenario.buyers + scenario.sellers || smallest.scenario.hours < scenario.hours, 'a smaller scenario still fails');
  assert.ok((await fails(smallest.scenario)) !== undefined, 'and the smallest one replays to the failure');
});

test('the sweep scores every setting and recommends by the stated objective', async () => {
  const base = scenarioSchema.parse({ seed: 5, buyers: 30, sellers: 15, hours: 0.15 });
  const result = await sweep(base, { feeNumerators: [1, 10], bidLifetimesSeconds: [120], adaptiveShares: [0] });
  assert.equal(result.rows.length, 2);
  assert.deepEqual(result.rows.map((row) => row.feeNumerator), [1, 10]);
  assert.ok(result.recommended >= 0 && result.recommended < 2);
  // The objective, on hand-made rows: completions first, then buyer cost within 2%, then fees.
  const row = (completed: number, meanBuyerCostSats: number, feeIncomeSats: number): SweepRow => ({ feeNumerator: 0, bidLifetimeSeconds: 0, adaptiveShare: 0, completed, failed: 0, trades: completed, meanBuyerCostSats, feeIncomeSats, fillRate: 1 });
  assert.equal(recommend([row(100, 1000, 5), row(90, 500, 9)]), 0, 'more completed wins over cheaper');
  assert.equal(recommend([row(100, 1000, 5), row(99, 900, 1)]), 1, 'within 2%: the cheaper wins');
  assert.equal(recommend([row(100, 900, 5), row(100, 900, 8)]), 1, 'equal cost: more fee income wins');
});

test('chain funding: buyers funded by devnet deposits through the exchange\'s watcher; reorgs that reverse credits mid-run keep every invariant, deterministically; sellers\' withdrawals are paid once on chain', async () => {
  const scenario = scenarioSchema.parse({ seed: 3, buyers: 150, sellers: 60, hours: 0.5, funding: 'chain', reorgsPerHour: 4, restartEveryMinutes: 10, withdrawalsPerHour: 60 });
  const first = await simulate(scenario);
  assert.ok(first.faults.withdrawalsCompleted > 0 && first.faults.payoutBatches > 0, `withdrawals were batched and paid (${first.faults.withdrawalsCompleted} in ${first.faults.payoutBatches} batches; each checked on chain by the auditor)`);
  assert.ok(first.faults.reorgs > 0, `reorgs happened (${first.faults.reorgs})`);
  assert.ok(first.faults.depositsReversed > 0 && first.faults.accountsOverdrawn > 0, `credits were reversed (${first.faults.depositsReversed}) and accounts left owing (${first.faults.accountsOverdrawn})`);
  assert.ok(first.totals.trades > 50, `the market traded on deposited money (${first.totals.trades})`);
  assert.ok(first.faults.restarts >= 2, `the exchange restarted from its journal with its deposits (${first.faults.restarts})`);
  assert.equal(summaryTable(await simulate(scenario)), summaryTable(first));
  assert.equal(scenarioSchema.safeParse({ funding: 'chain', connector: 'core' }).success, false);
  assert.equal(scenarioSchema.safeParse({ reorgsPerHour: 1 }).success, false);
  assert.equal(scenarioSchema.safeParse({ withdrawalsPerHour: 1 }).success, false);
});

test('a scenario with a mistake is refused, naming the field', () => {
  const bad = scenarioSchema.safeParse({ buyers: -3, colour: 'blue' });
  assert.equal(bad.success, false);
  if (!bad.success) {
    assert.ok(bad.error.issues.some((issue) => issue.path.join('.') === 'buyers'));
    assert.ok(bad.error.issues.some((issue) => JSON.stringify(issue).includes('colour')));
  }
  const shares = scenarioSchema.safeParse({ adaptiveSellers: 0.6, flakySellers: 0.6 });
  assert.equal(shares.success, false);
  // Shares that add up to exactly 1 in decimal are accepted, though their float sum is 1.0000000000000002.
  assert.equal(scenarioSchema.safeParse({ adaptiveSellers: 0.2, flakySellers: 0.4, cheatingSellers: 0.3, forgingSellers: 0.1 }).success, true);
  const latency = scenarioSchema.safeParse({ network: { latencyMinMs: 50, latencyMaxMs: 10 } });
  assert.equal(latency.success, false);
});

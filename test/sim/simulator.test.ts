// Goal: a simulation is deterministic from its seed (same report bytes), keeps the market
// invariants for any small scenario (the core's checker runs during the run and at the end), ends
// with every transaction retired, and a bad scenario is refused naming the field. Method: two runs
// compared byte for byte, and fast-check over random small scenarios.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { scenarioSchema } from '../../sim/scenario.js';
import { simulate } from '../../sim/simulator.js';
import { htmlReport, summaryTable, timeSeriesCsv } from '../../sim/report.js';

test('the same seed gives the same report, byte for byte; another seed does not', () => {
  const scenario = scenarioSchema.parse({ seed: 7, buyers: 150, sellers: 60, hours: 0.5 });
  const first = simulate(scenario);
  const second = simulate(scenario);
  assert.equal(summaryTable(second), summaryTable(first));
  assert.equal(timeSeriesCsv(second), timeSeriesCsv(first));
  assert.equal(htmlReport(second), htmlReport(first));
  assert.ok(first.totals.trades > 0, 'the market trades');
  assert.notEqual(simulate({ ...scenario, seed: 8 }).stateHash, first.stateHash);
});

test('random small scenarios keep the invariants and retire every transaction', () => {
  fc.assert(
    fc.property(
      fc.record({
        seed: fc.nat(),
        buyers: fc.integer({ min: 1, max: 40 }),
        sellers: fc.integer({ min: 1, max: 40 }),
        hours: fc.double({ min: 0.05, max: 0.5, noNaN: true }),
        flakySellers: fc.double({ min: 0, max: 0.5, noNaN: true }),
        cheatingSellers: fc.double({ min: 0, max: 0.3, noNaN: true }),
        silentBuyers: fc.double({ min: 0, max: 0.3, noNaN: true }),
        feeNumerator: fc.integer({ min: 0, max: 10 }),
      }),
      (input) => {
        const result = simulate(scenarioSchema.parse(input)); // throws on a broken invariant or liveness
        assert.equal(result.totals.finished + result.totals.disputed + result.totals.timedOut, result.totals.trades);
        assert.ok(result.totals.invariantChecks >= 1);
      },
    ),
    { numRuns: 25 },
  );
});

test('a scenario with a mistake is refused, naming the field', () => {
  const bad = scenarioSchema.safeParse({ buyers: -3, colour: 'blue' });
  assert.equal(bad.success, false);
  if (!bad.success) {
    const paths = bad.error.issues.map((issue) => issue.path.join('.') || issue.message);
    assert.ok(paths.some((path) => path.includes('buyers')));
    assert.ok(bad.error.issues.some((issue) => issue.message.includes('colour') || JSON.stringify(issue).includes('colour')));
  }
});

// `bitwrk sim` and `bitwrk sim sweep`: the market simulator on the command line. It lives in sim/
// (src/ never imports sim/); bin/bitwrk.js hands it to the command line.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AssertionError } from '../src/assert.js';
import { integerFlag, parseFlags, UsageError, type Command } from '../src/cli/command.js';
import { describeIssues } from '../src/transport/codec.js';
import { InvariantViolation } from './auditor.js';
import { reduce } from './reduce.js';
import { summaryTable, writeReport } from './report.js';
import { scenarioSchema, type Scenario } from './scenario.js';
import { simulate } from './simulator.js';
import { checkTable, spotCheckSweep, DEFAULT_GRID, sweep, sweepCsv, sweepHtml, sweepTable, type SweepGrid } from './sweep.js';

const scenarioFlags = {
  seed: { type: 'string' },
  buyers: { type: 'string' },
  sellers: { type: 'string' },
  hours: { type: 'string' },
  articles: { type: 'string' },
  fee: { type: 'string' },
  lifetime: { type: 'string' },
  latency: { type: 'string' },
  loss: { type: 'string' },
  'restart-every': { type: 'string' },
  cheaters: { type: 'string' },
  funding: { type: 'string' },
  'reorgs-per-hour': { type: 'string' },
  'withdrawals-per-hour': { type: 'string' },
  scenario: { type: 'string' },
  out: { type: 'string' },
} as const;

const SCENARIO_OPTIONS = `  --seed N            random seed (default 1)
  --buyers N          synthetic buyers (default 1000)
  --sellers N         synthetic sellers (default 1000)
  --hours H           simulated hours (default 1)
  --articles N        articles traded (default 1)
  --fee N             the fee, in percent of the price (default 3)
  --lifetime S        bid lifetime in seconds (default 120)
  --latency MIN-MAX   one-way network delay in ms (default 5-40)
  --loss P            probability that a frame is lost (default 0)
  --restart-every M   restart the exchange from its journal every M simulated minutes
  --cheaters P        share of sellers that return wrong results (default 0.02)
  --funding HOW       credit (the admin credits buyers, default) or chain (deposits on the
                      devnet, credited by the exchange's deposit watcher; blocks every 10 minutes)
  --reorgs-per-hour R with --funding chain: reorgs that double-spend a funding transaction after
                      its credit (its buyers' accounts are left owing and frozen)
  --withdrawals-per-hour W  with --funding chain: sellers cash out half their balance, paid on
                      chain by the exchange's payout processor and a simulated payer; the auditor
                      checks each payment on chain and the wallet against the ledger
  --scenario FILE     a JSON scenario (the fields of sim/scenario.ts); flags override it
  --out DIR           where the report goes (default ./sim-out)`;

export const simCommand: Command = {
  name: 'sim',
  summary: 'simulate a market of synthetic buyers and sellers on virtual time (and sweep prices)',
  usage: `usage: bitwrk sim [options]
       bitwrk sim sweep [options] [--fees LIST] [--lifetimes LIST] [--adaptive LIST]
       bitwrk sim checks [options] [--spot-checks LIST]

Runs synthetic buyers and sellers (the daemon's trade machines) against the production exchange
(signed commands, nonces, journal, restarts) over the in-process network, all on virtual time.
The market's invariants are checked as it runs; a violation stops it, prints the seed and looks
for the smallest scenario that still fails (written to DIR/reproduction.json). Writes
summary.txt, timeseries.csv and report.html to DIR. The same seed gives the same report, byte
for byte.

sweep runs the scenario once per setting of a grid and recommends a setting (see sweep.txt):
  --fees LIST         fees in percent, e.g. 1,3,6 (default ${DEFAULT_GRID.feeNumerators.join(',')})
  --lifetimes LIST    bid lifetimes in seconds (default ${DEFAULT_GRID.bidLifetimesSeconds.join(',')})
  --adaptive LIST     shares of adaptive sellers (default ${DEFAULT_GRID.adaptiveShares.join(',')})

checks runs the scenario once per spot-check rate (on an article whose own check sees only the
form, with cheaters whose wrong results pass it: cheatsPassCheck, 1 unless the scenario says)
and recommends the rate with the lowest buyer spend per right result (see checks.txt):
  --spot-checks LIST  spot-check rates in percent (default 0,10,30,100)

options:
${SCENARIO_OPTIONS}`,
  async run(argv) {
    if (argv[0] === 'sweep') return runSweep(argv.slice(1));
    if (argv[0] === 'checks') return runChecks(argv.slice(1));
    const { values } = parseFlags(argv, scenarioFlags);
    const scenario = scenarioFrom(values);
    const out = values.out ?? 'sim-out';
    console.log(`SEED=${scenario.seed} ${JSON.stringify(scenario)}`);
    const progress = progressBar();
    let result;
    try {
      result = await simulate(scenario, { onProgress: progress.update });
    } catch (error) {
      progress.end();
      if (!isViolation(error)) throw error;
      return reportViolation(scenario, error, out);
    }
    progress.end();
    process.stdout.write(summaryTable(result));
    for (const file of writeReport(result, out)) console.log(`wrote ${file}`);
    return 0;
  },
};

async function runSweep(argv: readonly string[]): Promise<number> {
  const { values } = parseFlags(argv, { ...scenarioFlags, fees: { type: 'string' }, lifetimes: { type: 'string' }, adaptive: { type: 'string' } });
  // A sweep runs many markets: a smaller one by default than a single run.
  const base = scenarioFrom({ buyers: '200', sellers: '100', ...values });
  const grid: SweepGrid = {
    feeNumerators: listFlag(values.fees, 'fees', DEFAULT_GRID.feeNumerators, (value) => Number.isInteger(value) && value >= 0 && value <= 100),
    bidLifetimesSeconds: listFlag(values.lifetimes, 'lifetimes', DEFAULT_GRID.bidLifetimesSeconds, (value) => Number.isInteger(value) && value >= 1 && value <= 3600),
    adaptiveShares: listFlag(values.adaptive, 'adaptive', DEFAULT_GRID.adaptiveShares, (value) => value >= 0 && value <= 1 - base.flakySellers - base.cheatingSellers - base.forgingSellers),
  };
  const total = grid.feeNumerators.length * grid.bidLifetimesSeconds.length * grid.adaptiveShares.length;
  console.log(`SEED=${base.seed} sweeping ${total} settings over ${JSON.stringify(base)}`);
  const result = await sweep(base, grid, (index, count, row) => console.error(`[${index}/${count}] fee ${row.feeNumerator}%, lifetime ${row.bidLifetimeSeconds} s, adaptive ${row.adaptiveShare}: ${row.completed} purchases completed`));
  const out = values.out ?? 'sim-out';
  mkdirSync(out, { recursive: true });
  const table = sweepTable(result);
  process.stdout.write(table);
  for (const [name, content] of [['sweep.txt', table], ['sweep.csv', sweepCsv(result)], ['sweep.html', sweepHtml(result)]] as const) {
    writeFileSync(join(out, name), content);
    console.log(`wrote ${join(out, name)}`);
  }
  return 0;
}

async function runChecks(argv: readonly string[]): Promise<number> {
  const { values } = parseFlags(argv, { ...scenarioFlags, 'spot-checks': { type: 'string' } });
  const scenario = scenarioFrom({ buyers: '200', sellers: '200', hours: '0.5', cheaters: '0.1', ...values }, { cheatsPassCheck: 1 });
  const percents = listFlag(values['spot-checks'], 'spot-checks', [0, 10, 30, 100], (value) => Number.isInteger(value) && value >= 0 && value <= 100);
  console.log(`SEED=${scenario.seed} checking ${percents.length} spot-check rates over ${JSON.stringify(scenario)}`);
  const result = await spotCheckSweep(scenario, percents, (index, count, row) => console.error(`[${index}/${count}] spot-check ${row.spotCheckPercent}%: ${row.cheatingPaid} of ${row.cheatingTrades} cheating trades paid`));
  const out = values.out ?? 'sim-out';
  mkdirSync(out, { recursive: true });
  const table = checkTable(result);
  process.stdout.write(table);
  writeFileSync(join(out, 'checks.txt'), table);
  console.log(`wrote ${join(out, 'checks.txt')}`);
  return 0;
}

function isViolation(error: unknown): error is Error {
  return error instanceof InvariantViolation || error instanceof AssertionError;
}

/** Prints the violation and the seed, then shrinks the scenario and writes the smallest one found. */
async function reportViolation(scenario: Scenario, error: Error, out: string): Promise<number> {
  console.error(`\nINVARIANT VIOLATED (seed ${scenario.seed}): ${error.message}`);
  console.error('looking for a smaller scenario that still fails...');
  const fails = async (candidate: Scenario): Promise<string | undefined> => {
    try {
      await simulate(candidate);
      return undefined;
    } catch (failure) {
      if (!isViolation(failure)) throw failure;
      return failure.message;
    }
  };
  const smallest = await reduce(scenario, error.message, fails, 30, (candidate, runs) => console.error(`  run ${runs}: still fails with ${candidate.buyers} buyers, ${candidate.sellers} sellers, ${candidate.hours} h`));
  mkdirSync(out, { recursive: true });
  const path = join(out, 'reproduction.json');
  writeFileSync(path, `${JSON.stringify(smallest.scenario, null, 2)}\n`);
  console.error(`smallest failing scenario (${smallest.runs} runs tried): ${smallest.message}\n${JSON.stringify(smallest.scenario)}`);
  console.error(`reproduce with: bitwrk sim --scenario ${path}`);
  return 1;
}

/** `defaults`: scenario fields a subcommand sets unless the scenario file or a flag does. */
function scenarioFrom(values: Partial<Record<keyof typeof scenarioFlags, string>>, defaults: Record<string, unknown> = {}): Scenario {
  let base: Record<string, unknown> = {};
  if (values.scenario !== undefined) {
    try {
      base = JSON.parse(readFileSync(values.scenario, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new UsageError(`--scenario ${values.scenario}: ${(error as Error).message}`);
    }
    if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new UsageError(`--scenario ${values.scenario}: expected a JSON object`);
  }
  base = { ...defaults, ...base };
  const integer = (name: keyof typeof scenarioFlags, max: number): number | undefined => (values[name] === undefined ? undefined : integerFlag(values[name], name, 0, { min: 0, max }));
  const decimal = (name: keyof typeof scenarioFlags): number | undefined => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    if (!/^\d+(\.\d+)?$/.test(raw)) throw new UsageError(`--${name} expects a number, got "${raw}"`);
    return Number(raw);
  };
  const set = (field: string, value: unknown): void => {
    if (value !== undefined) base[field] = value;
  };
  set('seed', integer('seed', 2 ** 32 - 1));
  set('buyers', integer('buyers', 100_000));
  set('sellers', integer('sellers', 100_000));
  set('hours', decimal('hours'));
  set('articles', integer('articles', 20));
  set('cheatingSellers', decimal('cheaters'));
  set('feeNumerator', integer('fee', 100));
  set('bidLifetimeSeconds', integer('lifetime', 3600));
  set('restartEveryMinutes', decimal('restart-every'));
  if (values.funding !== undefined && values.funding !== 'credit' && values.funding !== 'chain') throw new UsageError(`--funding must be credit or chain, got "${values.funding}"`);
  set('funding', values.funding);
  set('reorgsPerHour', decimal('reorgs-per-hour'));
  set('withdrawalsPerHour', decimal('withdrawals-per-hour'));
  const network = { ...((base['network'] as Record<string, unknown> | undefined) ?? {}) };
  if (values.latency !== undefined) {
    const match = /^(\d+)-(\d+)$/.exec(values.latency);
    if (match === null) throw new UsageError(`--latency expects MIN-MAX in milliseconds, e.g. 5-40, got "${values.latency}"`);
    network['latencyMinMs'] = Number(match[1]);
    network['latencyMaxMs'] = Number(match[2]);
  }
  if (values.loss !== undefined) network['lossProbability'] = decimal('loss');
  if (Object.keys(network).length > 0) base['network'] = network;
  const parsed = scenarioSchema.safeParse(base);
  if (!parsed.success) throw new UsageError(`invalid scenario: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

function listFlag(raw: string | undefined, name: string, fallback: readonly number[], valid: (value: number) => boolean): readonly number[] {
  if (raw === undefined) return fallback;
  const values = raw.split(',').map((part) => Number(part.trim()));
  const bad = values.findIndex((value) => !Number.isFinite(value) || !valid(value));
  if (raw.trim() === '' || bad >= 0) throw new UsageError(`--${name}: "${raw}" is not a comma-separated list of valid values`);
  return values;
}

/** A progress bar on a terminal (stderr); nothing when the output is a file or a pipe. */
function progressBar(): { update: (fraction: number) => void; end: () => void } {
  if (!process.stderr.isTTY) return { update: () => undefined, end: () => undefined };
  let shown = -1;
  return {
    update: (fraction) => {
      const percent = Math.floor(fraction * 100);
      if (percent === shown) return;
      shown = percent;
      process.stderr.write(`\r[${'#'.repeat(Math.round(fraction * 30)).padEnd(30)}] ${percent}%`);
    },
    end: () => {
      if (shown >= 0) process.stderr.write('\n');
    },
  };
}

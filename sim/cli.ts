// `bitwrk sim`: runs the market simulator and writes its report. It lives in sim/ (src/ never
// imports sim/); bin/bitwrk.js hands it to the command line.
import { readFileSync } from 'node:fs';
import { describeIssues } from '../src/transport/codec.js';
import { integerFlag, parseFlags, UsageError, type Command } from '../src/cli/command.js';
import { scenarioSchema } from './scenario.js';
import { simulate } from './simulator.js';
import { summaryTable, writeReport } from './report.js';

export const simCommand: Command = {
  name: 'sim',
  summary: 'simulate a market of synthetic buyers and sellers on virtual time',
  usage: `usage: bitwrk sim [--seed N] [--buyers N] [--sellers N] [--hours H] [--scenario FILE] [--out DIR]

Runs synthetic buyers and sellers against the real market core on virtual time, checks the market
invariants as it goes, and writes summary.txt, timeseries.csv and report.html to DIR (default
./sim-out). The same seed gives the same report, byte for byte. A scenario file is JSON with the
fields of sim/scenario.ts; flags override it.

options:
  --seed N          random seed (default 1)
  --buyers N        synthetic buyers (default 1000)
  --sellers N       synthetic sellers (default 1000)
  --hours H         simulated hours (default 1)
  --scenario FILE   a JSON scenario file
  --out DIR         where the report goes (default ./sim-out)`,
  async run(argv) {
    const { values } = parseFlags(argv, { seed: { type: 'string' }, buyers: { type: 'string' }, sellers: { type: 'string' }, hours: { type: 'string' }, scenario: { type: 'string' }, out: { type: 'string' } });
    let base: Record<string, unknown> = {};
    if (values.scenario !== undefined) {
      try {
        base = JSON.parse(readFileSync(values.scenario, 'utf8')) as Record<string, unknown>;
      } catch (error) {
        throw new UsageError(`--scenario ${values.scenario}: ${(error as Error).message}`);
      }
    }
    if (values.seed !== undefined) base['seed'] = integerFlag(values.seed, 'seed', 1, { min: 0, max: 2 ** 32 - 1 });
    if (values.buyers !== undefined) base['buyers'] = integerFlag(values.buyers, 'buyers', 1000, { min: 1, max: 100_000 });
    if (values.sellers !== undefined) base['sellers'] = integerFlag(values.sellers, 'sellers', 1000, { min: 1, max: 100_000 });
    if (values.hours !== undefined) {
      const hours = Number(values.hours);
      if (!Number.isFinite(hours)) throw new UsageError(`--hours expects a number, got "${values.hours}"`);
      base['hours'] = hours;
    }
    const parsed = scenarioSchema.safeParse(base);
    if (!parsed.success) throw new UsageError(`invalid scenario: ${describeIssues(parsed.error)}`);
    const scenario = parsed.data;
    console.log(`SEED=${scenario.seed} ${JSON.stringify(scenario)}`);
    const progress = process.stderr.isTTY ? (fraction: number) => process.stderr.write(`\r[${'#'.repeat(Math.round(fraction * 30)).padEnd(30)}] ${Math.round(fraction * 100)}%`) : undefined;
    let result;
    try {
      result = simulate(scenario, progress);
    } catch (error) {
      console.error(`\n${(error as Error).message}\nreproduce with: bitwrk sim --seed=${scenario.seed} --buyers=${scenario.buyers} --sellers=${scenario.sellers} --hours=${scenario.hours}`);
      return 1;
    }
    if (progress) process.stderr.write('\n');
    process.stdout.write(summaryTable(result));
    for (const file of writeReport(result, values.out ?? 'sim-out')) console.log(`wrote ${file}`);
    return 0;
  },
};

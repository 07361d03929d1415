// The reliability suite: each scenario against a fresh real `bitwrk exchange` process on
// loopback, figures printed as one table per scenario and, as the last line, one JSON object
// with every figure (bench/run.ts's convention). Exit status 1 when any goal failed.
//
//   npm run reliability -- [--quick] [--only kill9,fuzz,load,http,daemon] [--seed N]
//
// Scenarios (scripts/reliability/*.ts): kill9 (acknowledged commands survive SIGKILL exactly
// once), fuzz (a million malformed or mutated frames change nothing and crash nothing), load
// (1,000 subscribed clients trading at a modest rate: no errors, flat memory), http (slowloris,
// idle sockets, huge headers and bodies, connection caps and a bid flood, while a normal client
// keeps being served), daemon (real daemon, worker and exchange processes: the local API refuses
// web pages, a stranger cannot open a peer session, a recording of the peer link holds no work).
// --quick is the CI size (test/reliability.test.ts).
import { createPrng } from '../src/random.js';
import type { ScenarioContext } from './reliability/context.js';
import { FUZZ_FULL, FUZZ_QUICK, runFuzz } from './reliability/fuzz.js';
import { HTTP_FULL, HTTP_QUICK, runHttpAbuse } from './reliability/http-abuse.js';
import { runDaemon } from './reliability/daemon.js';
import { KILL9_FULL, KILL9_QUICK, runKill9 } from './reliability/kill9.js';
import { LOAD_FULL, LOAD_QUICK, runLoad } from './reliability/load.js';
import { failedGoals, formatTable, type ScenarioResult } from './reliability/report.js';
import { nowMs, wallClockMs } from './reliability/timing.js';

interface Options {
  readonly quick: boolean;
  readonly only: readonly string[];
  readonly seed: number;
}

type Scenario = (context: ScenarioContext) => Promise<ScenarioResult>;

const SCENARIOS: ReadonlyArray<readonly [string, Scenario]> = [
  ['kill9', (context) => runKill9(context, context.quick ? KILL9_QUICK : KILL9_FULL)],
  ['fuzz', (context) => runFuzz(context, context.quick ? FUZZ_QUICK : FUZZ_FULL)],
  ['load', (context) => runLoad(context, context.quick ? LOAD_QUICK : LOAD_FULL)],
  ['http', (context) => runHttpAbuse(context, context.quick ? HTTP_QUICK : HTTP_FULL)],
  ['daemon', (context) => runDaemon(context)],
];

function parseOptions(argv: readonly string[]): Options {
  let quick = false;
  let only: string[] = SCENARIOS.map(([name]) => name);
  let seed = wallClockMs() % 1_000_000_007; // a fresh seed unless one is given; printed first
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index];
    if (flag === '--quick') quick = true;
    else if (flag === '--only') only = (argv[++index] ?? '').split(',').filter((name) => name !== '');
    else if (flag === '--seed') seed = Number(argv[++index]);
    else usage(`unknown flag ${flag}`);
  }
  if (!Number.isSafeInteger(seed)) usage('--seed needs a whole number');
  const unknown = only.filter((name) => !SCENARIOS.some(([known]) => known === name));
  if (unknown.length > 0 || only.length === 0) usage(`unknown scenario ${unknown.join(',')}`);
  return { quick, only, seed };
}

function usage(problem: string): never {
  console.error(`${problem}\nusage: node --import tsx scripts/reliability.ts [--quick] [--only ${SCENARIOS.map(([name]) => name).join(',')}] [--seed N]`);
  process.exit(2);
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  console.log(`SEED=${options.seed}`);
  const prng = createPrng(options.seed);
  const results: ScenarioResult[] = [];
  const seconds: Record<string, number> = {};
  for (const [name, scenario] of SCENARIOS) {
    // Each scenario gets its own fork, drawn whether it runs or not, so --only repeats a full run's choices.
    const context: ScenarioContext = { quick: options.quick, prng: prng.fork(), log: (line) => console.error(line) };
    if (!options.only.includes(name)) continue;
    const started = nowMs();
    const result = await scenario(context).catch((error: unknown) => failedScenario(name, error));
    seconds[name] = Math.round((nowMs() - started) / 100) / 10;
    result.figures['elapsedSeconds'] ??= seconds[name]!;
    results.push(result);
    console.log(formatTable(result));
  }
  const failed = failedGoals(results);
  console.log(failed.length === 0 ? 'all goals met' : `FAILED goals: ${failed.join(', ')}`);
  const figures = Object.fromEntries(results.map((result) => [result.name, result.figures]));
  console.log(JSON.stringify({ suite: 'reliability', seed: options.seed, quick: options.quick, ...figures, failedGoals: failed, ok: failed.length === 0 }));
  return failed.length === 0 ? 0 : 1;
}

/** A scenario that threw: one failed goal, so the run cannot pass by accident. */
function failedScenario(name: string, error: unknown): ScenarioResult {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { name, figures: { harnessError: message.split('\n')[0]! }, goals: [{ figure: 'harnessError', expected: 'none', met: false }], notes: message.split('\n').slice(0, 8) };
}

process.exitCode = await main();

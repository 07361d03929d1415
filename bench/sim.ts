// Simulator benchmark: simulated commands per second, wall time for 10 k agents over one simulated
// hour (a quarter hour with --quick), and peak heap for 100 k agents (20 k with --quick).
import { scenarioSchema } from '../sim/scenario.js';
import { simulate } from '../sim/simulator.js';
import { benchOptions, printFigures, round } from './support.js';

const options = benchOptions();
const gc = (globalThis as { gc?: () => void }).gc;

function timed(agents: number, hours: number): { seconds: number; commands: number; peakHeapBytes: number } {
  gc?.();
  let peakHeapBytes = process.memoryUsage().heapUsed;
  const start = process.hrtime.bigint();
  const result = simulate(scenarioSchema.parse({ seed: 1, buyers: agents / 2, sellers: agents / 2, hours }), () => {
    peakHeapBytes = Math.max(peakHeapBytes, process.memoryUsage().heapUsed);
  });
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, commands: result.totals.commands, peakHeapBytes };
}

// --quick: 10 k agents over a quarter of an hour instead of a full hour, and 20 k instead of 100 k.
const tenThousandHours = options.quick ? 0.25 : 1;
const tenThousand = timed(10_000, tenThousandHours);
const largeAgents = options.quick ? 20_000 : 100_000;
const large = timed(largeAgents, options.quick ? 0.1 : 1);
printFigures('sim', {
  commandsPerSecond: round(tenThousand.commands / tenThousand.seconds),
  tenThousandAgentsSimulatedHours: tenThousandHours,
  wallSeconds10kAgents: round(tenThousand.seconds, 1),
  largeAgents,
  largeSimulatedHours: options.quick ? 0.1 : 1,
  largeWallSeconds: round(large.seconds, 1),
  largePeakHeapMiB: round(large.peakHeapBytes / 1024 / 1024),
  goalWallSeconds10k: 60,
  goalPeakMiB100k: 4096,
});

// Simulator benchmark: simulated events per second (core events the auditor saw, and journal
// records), wall time for 10 k agents over one simulated hour, and peak heap for 100 k agents.
// --quick: 10 k agents over 3 simulated minutes and 20 k agents over 1 minute.
import { scenarioSchema } from '../sim/scenario.js';
import { simulate } from '../sim/simulator.js';
import { benchOptions, printFigures, round } from './support.js';

const options = benchOptions();
const gc = (globalThis as { gc?: () => void }).gc;

async function timed(agents: number, hours: number): Promise<{ seconds: number; events: number; journalRecords: number; trades: number; peakHeapBytes: number }> {
  gc?.();
  let peakHeapBytes = process.memoryUsage().heapUsed;
  let lastPercent = -1;
  const start = process.hrtime.bigint();
  const result = await simulate(scenarioSchema.parse({ seed: 1, buyers: agents / 2, sellers: agents / 2, hours }), {
    onProgress: (fraction) => {
      const percent = Math.floor(fraction * 100);
      if (percent === lastPercent) return;
      lastPercent = percent;
      peakHeapBytes = Math.max(peakHeapBytes, process.memoryUsage().heapUsed);
    },
  });
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, events: result.checks.eventsAudited, journalRecords: result.journalRecords, trades: result.totals.trades, peakHeapBytes };
}

const tenThousandHours = options.quick ? 0.05 : 1;
const tenThousand = await timed(10_000, tenThousandHours);
const largeAgents = options.quick ? 20_000 : 100_000;
const largeHours = options.quick ? 1 / 60 : 1;
const large = await timed(largeAgents, largeHours);
printFigures('sim', {
  eventsPerSecond: round(tenThousand.events / tenThousand.seconds),
  journalRecordsPerSecond: round(tenThousand.journalRecords / tenThousand.seconds),
  tenThousandAgentsSimulatedHours: tenThousandHours,
  tenThousandAgentsTrades: tenThousand.trades,
  wallSeconds10kAgents: round(tenThousand.seconds, 1),
  largeAgents,
  largeSimulatedHours: round(largeHours, 3),
  largeWallSeconds: round(large.seconds, 1),
  largePeakHeapMiB: round(large.peakHeapBytes / 1024 / 1024),
  goalWallSeconds10k: 60,
  goalPeakMiB100k: 4096,
});

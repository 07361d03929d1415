// Simulator benchmark:
//  - simulated events per second (the core events the auditor checked) through each connector:
//    the production exchange over the in-process network ('exchange': wire, signatures, journal)
//    and straight into the core ('core'), 2,000 agents over a quarter of an hour, and the ratio;
//  - wall time for 10 k agents over one simulated hour through the full path (the daemon's trade
//    logic, the production exchange front with nonces, journal and pushes; goal < 60 s), and the
//    same through the core connector;
//  - peak heap for 100 k agents (core connector, 6 simulated minutes: the agents and the market
//    are all in memory from the start; goal < 4 GiB).
// --quick: shorter runs (3 minutes; 20 k agents for 1 minute).
import { scenarioSchema } from '../sim/scenario.js';
import { simulate } from '../sim/simulator.js';
import { benchOptions, printFigures, round } from './support.js';

const options = benchOptions();
const gc = (globalThis as { gc?: () => void }).gc;

interface Run {
  readonly seconds: number;
  readonly events: number;
  readonly trades: number;
  readonly peakHeapBytes: number;
}

async function timed(agents: number, hours: number, connector: 'exchange' | 'core'): Promise<Run> {
  gc?.();
  let peakHeapBytes = process.memoryUsage().heapUsed;
  let lastPercent = -1;
  const start = process.hrtime.bigint();
  const result = await simulate(scenarioSchema.parse({ seed: 1, buyers: agents / 2, sellers: agents / 2, hours, connector }), {
    onProgress: (fraction) => {
      const percent = Math.floor(fraction * 100);
      if (percent === lastPercent) return;
      lastPercent = percent;
      peakHeapBytes = Math.max(peakHeapBytes, process.memoryUsage().heapUsed);
    },
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`sim: ${agents} agents, ${hours} h, ${connector}: ${seconds.toFixed(1)} s, ${result.totals.trades} trades, ${result.checks.eventsAudited} events`);
  return { seconds, events: result.checks.eventsAudited, trades: result.totals.trades, peakHeapBytes };
}

const rateHours = options.quick ? 0.05 : 0.25;
const throughExchange = await timed(2_000, rateHours, 'exchange');
const throughCore = await timed(2_000, rateHours, 'core');
const tenThousandHours = options.quick ? 0.05 : 1;
const tenThousand = await timed(10_000, tenThousandHours, 'exchange');
const tenThousandCore = await timed(10_000, tenThousandHours, 'core');
const largeAgents = options.quick ? 20_000 : 100_000;
const largeHours = options.quick ? 1 / 60 : 0.1;
const large = await timed(largeAgents, largeHours, 'core');
printFigures('sim', {
  eventsPerSecondExchangeConnector: round(throughExchange.events / throughExchange.seconds),
  eventsPerSecondCoreConnector: round(throughCore.events / throughCore.seconds),
  exchangeOverCoreRatio: round(throughExchange.events / throughExchange.seconds / (throughCore.events / throughCore.seconds), 2),
  tenThousandAgentsSimulatedHours: tenThousandHours,
  wallSeconds10kAgentsExchange: round(tenThousand.seconds, 1),
  wallSeconds10kAgentsCore: round(tenThousandCore.seconds, 1),
  eventsPerSecond10kExchangeOverCore: round(tenThousand.events / tenThousand.seconds / (tenThousandCore.events / tenThousandCore.seconds), 2),
  largeAgents,
  largeSimulatedHours: round(largeHours, 3),
  largeWallSeconds: round(large.seconds, 1),
  largePeakHeapMiB: round(large.peakHeapBytes / 1024 / 1024),
  goalWallSeconds10k: 60,
  goalPeakMiB100k: 4096,
});

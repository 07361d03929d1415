// Shared helpers for benchmarks: flags, timing, and the closing JSON line.

export interface BenchOptions {
  /** `--quick`: finish in well under 30 s with smaller workloads. */
  readonly quick: boolean;
}

export function benchOptions(argv: readonly string[] = process.argv.slice(2)): BenchOptions {
  for (const flag of argv) {
    if (flag !== '--quick') {
      console.error(`unknown flag ${flag}; benchmarks take only --quick`);
      process.exit(2);
    }
  }
  return { quick: argv.includes('--quick') };
}

/** Calls `step` repeatedly for about `durationMs` and returns operations per second. */
export function measureRate(step: () => number, durationMs: number): number {
  const startNs = process.hrtime.bigint();
  let operations = 0;
  for (;;) {
    operations += step();
    const elapsedNs = Number(process.hrtime.bigint() - startNs);
    if (elapsedNs >= durationMs * 1e6) return operations / (elapsedNs / 1e9);
  }
}

/** Async version of measureRate. */
export async function measureRateAsync(step: () => Promise<number>, durationMs: number): Promise<number> {
  const startNs = process.hrtime.bigint();
  let operations = 0;
  for (;;) {
    operations += await step();
    const elapsedNs = Number(process.hrtime.bigint() - startNs);
    if (elapsedNs >= durationMs * 1e6) return operations / (elapsedNs / 1e9);
  }
}

export function percentile(sortedValues: readonly number[], fraction: number): number {
  if (sortedValues.length === 0) return Number.NaN;
  const index = Math.min(sortedValues.length - 1, Math.floor(fraction * sortedValues.length));
  return sortedValues[index]!;
}

export function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Prints the figures, one per line for people, then the JSON line for machines (always last). */
export function printFigures(name: string, figures: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(figures)) console.log(`${name}: ${key} = ${String(value)}`);
  console.log(JSON.stringify({ bench: name, ...figures }));
}

// What every scenario gets from the entry: the size (full or --quick), its own seeded PRNG, and a
// temporary directory for the exchange's home and data.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Prng } from '../../src/random.js';

export interface ScenarioContext {
  readonly quick: boolean;
  readonly prng: Prng;
  /** Prints a progress line (stderr, so stdout stays the table and the JSON line). */
  log(line: string): void;
}

/** A fresh BITWRK_HOME for one exchange. */
export function freshHome(name: string): string {
  return mkdtempSync(join(tmpdir(), `bitwrk-reliability-${name}-`));
}

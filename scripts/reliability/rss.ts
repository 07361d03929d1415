// The resident memory of a child process, read from /proc (Linux), and a once-a-second sampler.
import { readFileSync } from 'node:fs';
import { every } from './timing.js';

/** VmRSS of process `pid` in MiB, or NaN when it cannot be read (not Linux, or the process is gone). */
export function rssMiB(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? Number.NaN : Number(match[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

export class RssSampler {
  readonly samples: number[] = [];
  private stopTimer: (() => void) | undefined;

  constructor(private readonly pid: number) {}

  start(intervalMs = 1000): this {
    this.sample();
    this.stopTimer = every(intervalMs, () => this.sample());
    return this;
  }

  sample(): number {
    const value = rssMiB(this.pid);
    if (Number.isFinite(value)) this.samples.push(value);
    return value;
  }

  stop(): void {
    this.stopTimer?.();
    this.stopTimer = undefined;
  }

  get first(): number {
    return this.samples[0] ?? Number.NaN;
  }

  get last(): number {
    return this.samples[this.samples.length - 1] ?? Number.NaN;
  }

  get max(): number {
    return this.samples.length === 0 ? Number.NaN : Math.max(...this.samples);
  }
}

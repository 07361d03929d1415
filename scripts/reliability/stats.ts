// Small statistics for latencies and samples.

/** The `fraction` quantile (nearest rank) of `values`; NaN when there are none. */
export function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index]!;
}

export function round(value: number, digits = 1): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Counts by key, for error codes and close codes. */
export class Tally {
  readonly counts = new Map<string, number>();

  add(key: string | number, by = 1): void {
    const name = String(key);
    this.counts.set(name, (this.counts.get(name) ?? 0) + by);
  }

  get(key: string | number): number {
    return this.counts.get(String(key)) ?? 0;
  }

  get total(): number {
    let sum = 0;
    for (const count of this.counts.values()) sum += count;
    return sum;
  }

  /** "2006:12 1007:3", sorted by key; "-" when empty (a table cell). */
  toString(): string {
    if (this.counts.size === 0) return '-';
    return [...this.counts].sort(([a], [b]) => a.localeCompare(b)).map(([key, count]) => `${key}:${count}`).join(' ');
  }
}

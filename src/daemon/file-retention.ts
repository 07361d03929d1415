// Which files the daemon keeps: those an open trade names (its work, its encrypted result, its
// result), the results of the newest completed purchases, and those a check in progress holds.
// Everything else may go, least recently used first, once the store holds more than its budget
// (cafs/retention.ts). A file no trade names yet (an upload or transfer that has just finished,
// before its trade records it) is kept for a grace period from when it is first seen.
import type { Clock } from '../clock.js';
import type { ChunkStore } from '../cafs/chunk-store.js';
import { collectFiles, type RetentionReport } from '../cafs/retention.js';
import { CAFS_BUDGET_MIB_DEFAULT } from './config.js';
import type { TradeHandle } from './trade-runtime.js';

export const CAFS_BUDGET_BYTES_DEFAULT = CAFS_BUDGET_MIB_DEFAULT * 1024 ** 2;

/** Long enough for a file to be named by its trade after it is whole. */
export const UNNAMED_GRACE_MS = 10 * 60_000;

export interface FileRetentionDeps {
  readonly cafs: ChunkStore;
  readonly clock: Clock;
  readonly trades: () => readonly TradeHandle[];
  /** Files held outside any trade's state (a witness's result until its check has used it). */
  readonly inUse: () => Iterable<string>;
  readonly log: (line: string) => void;
}

export interface FileRetentionOptions {
  readonly budgetBytes: number;
  readonly keepResults: number;
}

interface FileNames {
  readonly workFileKey?: string | null;
  readonly encryptedFileKey?: string | null;
  readonly resultFileKey?: string | null;
  readonly createdMs: number;
}

export class FileRetention {
  private readonly firstSeenUnnamed = new Map<string, number>();
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly deps: FileRetentionDeps,
    readonly options: FileRetentionOptions,
  ) {}

  /** Collects soon: now, or once more after the collection under way (requests in between merge). */
  request(): void {
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          const report = await this.collect();
          if (report.deletedFiles.length > 0 || report.overBudget) this.deps.log(`cafs: ${report.deletedFiles.length} files and ${report.removedChunks} chunks collected, ${report.bytes} bytes held${report.overBudget ? ` (over the budget of ${this.options.budgetBytes}: open trades hold more)` : ''}`);
        } catch (error) {
          this.deps.log(`cafs: collection failed: ${(error as Error).message}`);
        }
      } while (this.again);
      this.running = undefined;
    })();
  }

  /** Resolves when no collection is under way. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  async collect(): Promise<RetentionReport> {
    const now = this.deps.clock.now();
    const live = new Set<string>(this.deps.inUse());
    const lastUsedMs = new Map<string, number>();
    const results: Array<{ fileKey: string; createdMs: number }> = [];
    for (const trade of this.deps.trades()) {
      const context = trade.state.context as FileNames;
      const named = [context.workFileKey, context.encryptedFileKey, context.resultFileKey].filter((key): key is string => typeof key === 'string');
      for (const fileKey of named) {
        lastUsedMs.set(fileKey, Math.max(lastUsedMs.get(fileKey) ?? 0, context.createdMs));
        if (!trade.isFinal) live.add(fileKey);
      }
      if (trade.side === 'buy' && trade.isFinal && typeof context.resultFileKey === 'string') results.push({ fileKey: context.resultFileKey, createdMs: context.createdMs });
    }
    results.sort((a, b) => b.createdMs - a.createdMs);
    for (const result of results.slice(0, this.options.keepResults)) live.add(result.fileKey);
    const files = new Set(await this.deps.cafs.listFiles());
    for (const fileKey of this.firstSeenUnnamed.keys()) if (!files.has(fileKey) || lastUsedMs.has(fileKey)) this.firstSeenUnnamed.delete(fileKey);
    for (const fileKey of files) {
      if (lastUsedMs.has(fileKey)) continue;
      const firstSeen = this.firstSeenUnnamed.get(fileKey) ?? now;
      this.firstSeenUnnamed.set(fileKey, firstSeen);
      lastUsedMs.set(fileKey, firstSeen);
      if (now - firstSeen < UNNAMED_GRACE_MS) live.add(fileKey);
    }
    return collectFiles(this.deps.cafs, { budgetBytes: this.options.budgetBytes, live, lastUsedMs: (fileKey) => lastUsedMs.get(fileKey) ?? 0 });
  }
}

// What the buyer and seller drivers share: their dependencies, and small helpers for the
// exchange's answers.
import type { ChunkStore } from '../cafs/chunk-store.js';
import type { Clock } from '../clock.js';
import type { StaticKeyPair } from '../transport/secure-connection.js';
import type { Identity } from '../crypto/keys.js';
import { ProtocolError } from '../transport/errors.js';
import type { DaemonStore } from './daemon-store.js';
import type { ExchangeLink } from './exchange-link.js';
import type { ResultVerifier } from './hash-work.js';
import type { Mandates } from './mandates.js';
import type { WorkerRegistry } from './workers.js';

export interface TradeDeps {
  readonly link: ExchangeLink;
  readonly cafs: ChunkStore;
  readonly store: DaemonStore;
  readonly workers: WorkerRegistry;
  readonly mandates: Mandates;
  readonly clock: Clock;
  readonly identity: Identity;
  /** This daemon's Noise key for the encrypted peer link (made at start, never leaves it). */
  readonly staticKeyPair: StaticKeyPair;
  readonly random: (count: number) => Uint8Array;
  readonly verifiers: Readonly<Record<string, ResultVerifier>>;
  readonly log: (line: string) => void;
  /** Aborted when the daemon stops: drivers end their waits and leave trades as saved. */
  readonly stopping: AbortSignal;
}

/** The connection dropped or the answer did not come: the request may or may not have taken effect. */
export function isUncertain(error: unknown): boolean {
  return error instanceof ProtocolError && (error.errorName === 'connection_closed' || error.errorName === 'request_timeout');
}

export function describe(error: unknown): string {
  if (error instanceof ProtocolError) return `${error.errorName} (${error.code}): ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

export function randomHex(deps: Pick<TradeDeps, 'random'>, bytes: number): string {
  return Buffer.from(deps.random(bytes)).toString('hex');
}

/** Waits `ms` on the daemon's clock (backoff between reconnects); ends early when the daemon stops. */
export function pause(deps: Pick<TradeDeps, 'clock' | 'stopping'>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (deps.stopping.aborted) return resolve();
    const timer = deps.clock.setTimer(done, ms);
    function done(): void {
      deps.clock.clearTimer(timer);
      deps.stopping.removeEventListener('abort', done);
      resolve();
    }
    deps.stopping.addEventListener('abort', done);
  });
}

/** Ended trades kept per side (in memory and on disk) for the page and for results; older ones are forgotten. */
export const TRADE_HISTORY_MAX = 500;

/** Forgets the oldest ended trades beyond TRADE_HISTORY_MAX (`actors` is in creation order). */
export async function forgetOldTrades(actors: Map<string, { readonly isFinal: boolean }>, store: DaemonStore): Promise<void> {
  let ended = 0;
  for (const actor of actors.values()) if (actor.isFinal) ended++;
  for (const [tradeId, actor] of actors) {
    if (ended <= TRADE_HISTORY_MAX) return;
    if (!actor.isFinal) continue;
    actors.delete(tradeId);
    await store.deleteTrade(tradeId);
    ended--;
  }
}

/** The running drivers of one side's trades, so that a stopping daemon can wait for them. */
export class Drivers {
  private readonly running = new Set<Promise<void>>();

  start(drive: () => Promise<void>): void {
    const driver = drive().finally(() => this.running.delete(driver));
    this.running.add(driver);
  }

  async idle(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }
}

export class StoppedError extends Error {
  override name = 'StoppedError';
}

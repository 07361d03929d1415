// What the buyer and seller executors share: their dependencies, and small helpers for the
// exchange's answers.
import type { ChunkStore } from '../cafs/chunk-store.js';
import type { Clock } from '../clock.js';
import type { StaticKeyPair } from '../transport/secure-connection.js';
import type { Identity } from '../crypto/keys.js';
import { ProtocolError } from '../transport/errors.js';
import type { ExchangeLink } from './exchange-link.js';
import type { ResultVerifiers } from './result-checks.js';
import type { Mandates } from './mandates.js';
import type { WorkerRegistry } from './workers.js';

export interface TradeDeps {
  readonly link: ExchangeLink;
  readonly cafs: ChunkStore;
  readonly workers: WorkerRegistry;
  readonly mandates: Mandates;
  readonly clock: Clock;
  readonly identity: Identity;
  /** This daemon's Noise key for the encrypted peer link (made at start, never leaves it). */
  readonly staticKeyPair: StaticKeyPair;
  readonly random: (count: number) => Uint8Array;
  readonly verifiers: ResultVerifiers;
  readonly log: (line: string) => void;
  /** Aborted when the daemon stops: executors end their waits and leave trades as saved. */
  readonly stopping: AbortSignal;
  /** Called when a trade ends: the files it named may now be collected. */
  readonly tradeEnded: () => void;
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

/** Withdraws a bid a trade no longer wants; a failure (matched meanwhile, the exchange away) is logged. */
export async function withdrawQuietly(deps: Pick<TradeDeps, 'link' | 'log'>, what: string, bidId: string): Promise<void> {
  await deps.link.client.withdrawBid(bidId).catch((error: unknown) => deps.log(`${what}: withdrawing ${bidId}: ${describe(error)}`));
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

export class StoppedError extends Error {
  override name = 'StoppedError';
}

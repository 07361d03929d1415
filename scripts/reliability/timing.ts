// Real time for the reliability suite: it drives a real process over real sockets, so waits are
// wall-clock waits. The one place that sets bare timers, each marked for the tidy habit.

/** Resolves after `ms` milliseconds of wall-clock time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))); // tidy-allow: the suite waits on a real process
}

/** Milliseconds since the Unix epoch: what a nonce carries (the exchange checks it against its clock). */
export function wallClockMs(): number {
  return Date.now(); // tidy-allow: nonces for a real-time process
}

/** A monotonic millisecond clock for latencies and deadlines. */
export function nowMs(): number {
  return performance.now();
}

/** Calls `callback` every `ms` until the returned function is called. */
export function every(ms: number, callback: () => void): () => void {
  const handle = setInterval(callback, ms); // tidy-allow: periodic sampling of a real process
  return () => clearInterval(handle);
}

/** Rejects with `message` when `promise` has not settled within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms); // tidy-allow: a bound on a real wait
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

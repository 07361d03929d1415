// Assertions catch programmer errors and stay on in production (TigerStyle).
// Expected failures (bad input, insufficient funds) are returned values, never assertions.

export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Documents that a condition may go either way; does nothing. */
export function maybe(_condition: boolean): void {}

export function assertSafeInteger(value: number, name: string): void {
  assert(Number.isSafeInteger(value), `"${name}" expected a safe integer, got ${value}`);
}

export function unreachable(value: never, message = 'unreachable'): never {
  throw new AssertionError(`${message}: ${String(value)}`);
}

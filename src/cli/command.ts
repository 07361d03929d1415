// The shape of a `bitwrk` subcommand and the shared flag parsing: unknown flags and bad values
// are reported with the command's usage, never ignored.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Full help text, shown by `bitwrk NAME --help`. */
  readonly usage: string;
  run(argv: readonly string[]): Promise<number>;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses flags strictly; throws UsageError with a readable message on anything unexpected. */
export function parseFlags<O extends Options>(argv: readonly string[], options: O, positionalsAllowed = 0) {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
  if (parsed.positionals.length > positionalsAllowed) {
    throw new UsageError(`unexpected argument "${parsed.positionals[positionalsAllowed]}"`);
  }
  return parsed;
}

/** Reads an integer flag, with a range, or throws UsageError naming the flag. */
export function integerFlag(value: string | undefined, name: string, fallback: number, range: { min: number; max: number }): number {
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) throw new UsageError(`--${name} expects a whole number, got "${value}"`);
  const number = Number(value);
  if (number < range.min || number > range.max) {
    throw new UsageError(`--${name} must be between ${range.min} and ${range.max}, got ${number}`);
  }
  return number;
}

// Where BitWrk keeps its files: $BITWRK_HOME, or ~/.bitwrk.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function bitwrkHome(): string {
  return process.env['BITWRK_HOME'] ?? join(homedir(), '.bitwrk');
}

export function defaultKeyFile(): string {
  return join(bitwrkHome(), 'key.wif');
}

// The identity key file: one WIF line, created with mode 0600 in a 0700 directory, written
// atomically (temporary file, then rename), never overwritten, and refused when others can read
// it (a readable key lets anyone spend the account's money).
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeWif, encodeWif, generatePrivateKey, identityFromPrivateKey, type Identity } from './keys.js';
import type { NetworkName } from './networks.js';

export class KeyFileError extends Error {
  override name = 'KeyFileError';
}

/** Reads the key file at `path`; throws KeyFileError with the fix when it is unsafe or invalid. */
export function loadKeyFile(path: string, network: NetworkName): Identity {
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new KeyFileError(
      `key file ${path} has mode ${mode.toString(8).padStart(4, '0')}: others can read it. Fix it with: chmod 600 ${path}`,
    );
  }
  const identity = decodeWif(readFileSync(path, 'utf8'), network);
  if (typeof identity === 'string') throw new KeyFileError(`key file ${path}: ${identity}`);
  return identity;
}

/** Creates a new key file at `path`; throws KeyFileError if one exists already. */
export function createKeyFile(path: string, network: NetworkName): Identity {
  if (existsSync(path)) throw new KeyFileError(`key file ${path} exists already; it is never overwritten`);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const identity = identityFromPrivateKey(generatePrivateKey(), network);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${encodeWif(identity)}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(temporary, 0o600); // in case the umask was stricter than needed or odd
  renameSync(temporary, path);
  return identity;
}

/** Loads the key file, creating it first if it does not exist. */
export function loadOrCreateKeyFile(path: string, network: NetworkName): { identity: Identity; created: boolean } {
  if (existsSync(path)) return { identity: loadKeyFile(path, network), created: false };
  return { identity: createKeyFile(path, network), created: true };
}

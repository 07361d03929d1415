// The identity key file: one WIF line, created with mode 0600 in a 0700 directory, written
// atomically and never overwritten, and refused when group or others can read or write it (a
// readable key lets anyone spend the account's money; a writable one lets anyone swap it).
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeWif, encodeWif, generatePrivateKey, identityFromPrivateKey, type Identity } from './keys.js';
import type { NetworkName } from './networks.js';

export class KeyFileError extends Error {
  override name = 'KeyFileError';
}

/** Mode bits that must be clear on a key file: any access by group or others. */
const FOREIGN_ACCESS_BITS = 0o077;

/** Reads the key file at `path`; throws KeyFileError naming the file and the fix when it is unsafe or invalid. */
export function loadKeyFile(path: string, network: NetworkName): Identity {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch (error) {
    throw new KeyFileError(`key file ${path} cannot be read: ${(error as Error).message}`);
  }
  if ((mode & FOREIGN_ACCESS_BITS) !== 0) {
    throw new KeyFileError(
      `key file ${path} has mode ${mode.toString(8).padStart(4, '0')}: group or others can read or write it. ` +
        `Fix it with: chmod 600 ${path}`,
    );
  }
  const identity = decodeWif(readFileSync(path, 'utf8'), network);
  if (typeof identity === 'string') throw new KeyFileError(`key file ${path}: ${identity}`);
  return identity;
}

/**
 * Creates a new key file at `path` with a fresh key. The WIF line is written to a temporary file
 * with mode 0600 in the same directory, then hard-linked to `path`: the link appears whole or not
 * at all, and fails if `path` exists (a rename would silently replace a file made meanwhile).
 * Throws KeyFileError if a file exists at `path`.
 */
export function createKeyFile(path: string, network: NetworkName): Identity {
  if (existsSync(path)) throw new KeyFileError(`key file ${path} exists already; it is never overwritten`);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const identity = identityFromPrivateKey(generatePrivateKey(), network);
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(temporary, `${encodeWif(identity)}\n`, { mode: 0o600, flag: 'wx', flush: true });
    chmodSync(temporary, 0o600); // the umask only narrows it; this makes it exact
    publish(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KeyFileError(`key file ${path} exists already; it is never overwritten`);
    }
    throw error;
  } finally {
    rmSync(temporary, { force: true }); // the key file is a second link to it, or it never was
  }
  return identity;
}

/** Links `temporary` to `path`; on a file system without hard links, renames it after a last check. */
function publish(temporary: string, path: string): void {
  try {
    linkSync(temporary, path);
  } catch (error) {
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    if (existsSync(path)) throw Object.assign(new Error('exists'), { code: 'EEXIST' });
    renameSync(temporary, path);
  }
}

/** Loads the key file, creating it first if it does not exist. */
export function loadOrCreateKeyFile(path: string, network: NetworkName): { identity: Identity; created: boolean } {
  if (existsSync(path)) return { identity: loadKeyFile(path, network), created: false };
  return { identity: createKeyFile(path, network), created: true };
}

// One owner per data directory. Two processes writing one lmdb environment would each believe its
// journal is the only one (lmdb itself allows many processes), so the exchange and the daemon take
// this lock before they open their store, and a second process exits with a clear message.
//
// On Linux the lock is a listening Unix socket in the abstract namespace, named after the
// directory's real path: the kernel hands it to one process at a time and frees it the moment that
// process dies, even after kill -9, so there is no stale lock to clean up and no race in doing so.
// Elsewhere it is a LOCK file created exclusively; a file left by a dead process is taken over.
// Either way DATA-DIR/LOCK holds the owner's process id, so the refusal can name it.
import { createHash } from 'node:crypto';
import { openSync, readFileSync, realpathSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';

export const LOCK_FILE = 'LOCK';

export class DirectoryLockedError extends Error {
  override name = 'DirectoryLockedError';

  constructor(
    readonly directory: string,
    readonly ownerPid: number | undefined,
    what: string,
  ) {
    const owner = ownerPid === undefined ? 'another process' : `process ${ownerPid}`;
    super(`${what}: the data directory ${directory} is in use by ${owner}; stop it first or choose another data directory`);
  }
}

export interface DirectoryLock {
  readonly directory: string;
  /** Gives the directory up (idempotent). */
  release(): Promise<void>;
}

/** Takes `directory` (which must exist) for this process, or throws DirectoryLockedError. */
export async function lockDirectory(directory: string, what: string): Promise<DirectoryLock> {
  const real = realpathSync(directory);
  const lockFile = join(real, LOCK_FILE);
  const release = process.platform === 'linux' ? await holdAbstractSocket(real, lockFile, what) : holdLockFile(real, lockFile, what);
  writeFileSync(lockFile, `${process.pid}\n`, { mode: 0o600 });
  let released: Promise<void> | undefined;
  return {
    directory: real,
    release() {
      released ??= (async () => {
        if (readOwner(lockFile) === process.pid) rmSync(lockFile, { force: true });
        await release();
      })();
      return released;
    },
  };
}

async function holdAbstractSocket(directory: string, lockFile: string, what: string): Promise<() => Promise<void>> {
  const name = `\0bitwrk-lock-${createHash('sha256').update(directory).digest('hex').slice(0, 40)}`;
  const server: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new DirectoryLockedError(directory, readOwner(lockFile), what) : error);
    });
    server.listen(name, () => resolve());
  });
  server.unref(); // the lock must not keep the process alive
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

function holdLockFile(directory: string, lockFile: string, what: string): () => Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      closeSync(openSync(lockFile, 'wx', 0o600));
      return async () => undefined; // the file itself is removed by release()
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readOwner(lockFile);
      if (owner !== undefined && owner !== process.pid && isAlive(owner)) throw new DirectoryLockedError(directory, owner, what);
      rmSync(lockFile, { force: true }); // left by a process that is gone: take it over
    }
  }
  throw new DirectoryLockedError(directory, readOwner(lockFile), what);
}

function readOwner(lockFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(lockFile, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined; // no file yet, or unreadable: the refusal says "another process"
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

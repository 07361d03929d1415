// `bitwrk worker hash`: a worker program for the test article, run as its own process. It serves
// POST /work, registers with a daemon, computes the article's hash rounds for each piece of work,
// and unregisters on SIGTERM or Ctrl-C. It is also the model for workers in other languages: the
// whole protocol is one registration call and one HTTP endpoint (docs/daemon.md, "Selling").
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashWork } from '../daemon/hash-work.js';
import { startWorkerServer } from '../daemon/worker-server.js';
import { TEST_HASH_ARTICLE } from '../market/catalogue.js';
import { integerFlag, parseFlags, UsageError, type Command } from './command.js';
import { bitwrkHome } from './paths.js';
import { untilSignal } from './signals.js';

export const DEFAULT_DAEMON_URL = 'http://127.0.0.1:8091';

/** The daemon's api-token file, or a usage error that says where to find the token. */
function readToken(daemonDir: string): string {
  const path = join(daemonDir, 'api-token');
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    throw new UsageError(`no API token: ${path} cannot be read; pass --token, set $BITWRK_API_TOKEN or --daemon-dir`);
  }
}

export const workerCommand: Command = {
  name: 'worker',
  summary: 'run a worker program that sells through a daemon (the test article: hash)',
  usage: `usage: bitwrk worker hash [options]

Runs a worker for the test article ${TEST_HASH_ARTICLE}: each piece of work is answered with
SHA-256 applied 100,000 times, as lowercase hex. The worker registers with the daemon, which
keeps it busy while a sell mandate allows; it unregisters on SIGTERM or Ctrl-C.

options:
  --daemon URL     the daemon's local API (default ${DEFAULT_DAEMON_URL})
  --id ID          the worker's name at the daemon (default hash-<process id>)
  --host HOST      interface the worker listens on (default 127.0.0.1)
  --port PORT      port (default 0: a free one)
  --token TOKEN    the daemon's API token (registering is a change, so it is needed); also
                   read from $BITWRK_API_TOKEN, else from DAEMON-DIR/api-token
  --daemon-dir DIR the daemon's data directory, where its api-token file is (default
                   ${join(bitwrkHome(), 'daemon')})`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { daemon: { type: 'string' }, id: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, token: { type: 'string' }, 'daemon-dir': { type: 'string' } }, 1);
    if (positionals[0] !== 'hash') throw new UsageError(positionals[0] === undefined ? 'name the kind of worker: hash' : `unknown worker "${positionals[0]}" (known: hash)`);
    const daemonUrl = values.daemon ?? DEFAULT_DAEMON_URL;
    if (!/^https?:\/\/[^\s/]+/.test(daemonUrl)) throw new UsageError(`--daemon expects an http:// URL, got "${daemonUrl}"`);
    const token = values.token ?? process.env['BITWRK_API_TOKEN'] ?? readToken(values['daemon-dir'] ?? join(bitwrkHome(), 'daemon'));
    const worker = await startWorkerServer({
      daemonUrl: daemonUrl.replace(/\/+$/, ''),
      id: values.id ?? `hash-${process.pid}`,
      article: TEST_HASH_ARTICLE,
      compute: (work) => hashWork(work),
      host: values.host ?? '127.0.0.1',
      port: integerFlag(values.port, 'port', 0, { min: 0, max: 65535 }),
      token,
      log: (line) => console.log(line),
    });
    const signalled = untilSignal(); // before saying so: a supervisor may stop us right after
    console.log(`worker registered with ${daemonUrl}: push URL ${worker.pushUrl}`);
    console.log(`${await signalled}: unregistering`);
    await worker.stop();
    return 0;
  },
};

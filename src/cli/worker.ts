// `bitwrk worker hash`: a worker program for the test article, run as its own process. It serves
// POST /work, registers with a daemon, computes the article's hash rounds for each piece of work,
// and unregisters on SIGTERM or Ctrl-C. It is also the model for workers in other languages: the
// whole protocol is one registration call and one HTTP endpoint (docs/daemon.md, "Selling").
import { hashWork } from '../daemon/hash-work.js';
import { startWorkerServer } from '../daemon/worker-server.js';
import { TEST_HASH_ARTICLE } from '../server/catalogue.js';
import { integerFlag, parseFlags, UsageError, type Command } from './command.js';
import { untilSignal } from './signals.js';

export const DEFAULT_DAEMON_URL = 'http://127.0.0.1:8091';

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
  --token TOKEN    the daemon's API token (its data directory's api-token file), needed only
                   when the daemon is on another machine; also read from $BITWRK_API_TOKEN`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { daemon: { type: 'string' }, id: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, token: { type: 'string' } }, 1);
    if (positionals[0] !== 'hash') throw new UsageError(positionals[0] === undefined ? 'name the kind of worker: hash' : `unknown worker "${positionals[0]}" (known: hash)`);
    const daemonUrl = values.daemon ?? DEFAULT_DAEMON_URL;
    if (!/^https?:\/\/[^\s/]+/.test(daemonUrl)) throw new UsageError(`--daemon expects an http:// URL, got "${daemonUrl}"`);
    const token = values.token ?? process.env['BITWRK_API_TOKEN'];
    const worker = await startWorkerServer({
      daemonUrl: daemonUrl.replace(/\/+$/, ''),
      id: values.id ?? `hash-${process.pid}`,
      article: TEST_HASH_ARTICLE,
      compute: (work) => hashWork(work),
      host: values.host ?? '127.0.0.1',
      port: integerFlag(values.port, 'port', 0, { min: 0, max: 65535 }),
      ...(token === undefined ? {} : { token }),
      log: (line) => console.log(line),
    });
    console.log(`worker registered with ${daemonUrl}: push URL ${worker.pushUrl}`);
    console.log(`${await untilSignal()}: unregistering`);
    await worker.stop();
    return 0;
  },
};

// `bitwrk daemon`: runs the participant's daemon until SIGTERM or Ctrl-C. Settings come from the
// built-in defaults, then <data-dir>/config.json, then the flags (src/daemon/config.ts).
import { join } from 'node:path';
import { realClock } from '../clock.js';
import { loadOrCreateKeyFile } from '../crypto/keyfile.js';
import { CAFS_BUDGET_MIB_DEFAULT, ConfigError, CONFIG_FILE, DEFAULT_API_PORT, DEFAULT_EXCHANGE_URL, KEEP_RESULTS_DEFAULT, daemonConfigFile, readConfigFile, resolveConfig, type DaemonConfig } from '../daemon/config.js';
import { Daemon } from '../daemon/daemon.js';
import { integerFlag, parseFlags, UsageError, type Command } from './command.js';
import { bitwrkHome, defaultKeyFile } from './paths.js';
import { untilSignal } from './signals.js';

const flagOptions = {
  'data-dir': { type: 'string' },
  exchange: { type: 'string' },
  network: { type: 'string' },
  'key-file': { type: 'string' },
  'api-host': { type: 'string' },
  'api-port': { type: 'string' },
  'peer-host': { type: 'string' },
  'peer-port': { type: 'string' },
  'peer-url': { type: 'string' },
  relay: { type: 'string' },
  attempts: { type: 'string' },
  'cafs-budget-mib': { type: 'string' },
  'keep-results': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

export const daemonCommand: Command = {
  name: 'daemon',
  summary: 'run your daemon: buys work for local programs, sells the work of your workers',
  usage: `usage: bitwrk daemon [options]

Runs the BitWrk daemon: it trades on the exchange for you, within the mandates you grant, takes
work from local programs (POST /buy/ARTICLE), keeps registered worker programs busy, and moves
work and results to and from other daemons. Its page and API are at http://API-HOST:API-PORT/
(docs/daemon.md). Trades, mandates and workers are kept in the data directory and survive a
restart. Stops cleanly on SIGTERM or Ctrl-C.

Settings come from the defaults, then DATA-DIR/${CONFIG_FILE} (the same names in camelCase,
e.g. {"exchangeUrl": "ws://exchange.example:8090/ws", "apiPort": 8091}), then these flags:

options:
  --data-dir DIR      where the daemon keeps its state (default ${join(bitwrkHome(), 'daemon')})
  --exchange URL      the exchange's WebSocket URL (default ${DEFAULT_EXCHANGE_URL})
  --network NAME      testnet (default), mainnet or regtest: must match the exchange's
  --key-file PATH     your identity key, created if missing (default ${defaultKeyFile()})
  --api-host HOST     interface of the local API and page (default 127.0.0.1). Every change, and
                      every call from another machine, needs the token in DATA-DIR/api-token
  --api-port PORT     port of the local API (default ${DEFAULT_API_PORT}; 0 picks a free one)
  --peer-host HOST    interface buyers connect to directly (default 127.0.0.1)
  --peer-port PORT    port for buyers (default 0: a free one, the same after a restart)
  --peer-url URL      the ws:// URL buyers are told, when you forward a port to this machine
  --relay MODE        auto (default): through the exchange's relay unless --peer-url is set or
                      the exchange is on this machine; always; never
  --attempts N        bids a purchase may place before it fails (default 3)
  --cafs-budget-mib N what the work and result store may hold before files no open trade needs
                      are deleted, least recently used first (default ${CAFS_BUDGET_MIB_DEFAULT})
  --keep-results N    results of completed purchases kept whatever the budget (default ${KEEP_RESULTS_DEFAULT})
  -q, --quiet         print only the startup summary, not every trade`,
  async run(argv) {
    const { values } = parseFlags(argv, flagOptions);
    const config = configFrom(values);
    const { identity, created } = loadOrCreateKeyFile(config.keyFile, config.network);
    const log = values.quiet === true ? () => undefined : (line: string) => console.log(line);
    const daemon = await Daemon.start({
      clock: realClock,
      identity,
      dataDir: config.dataDir,
      exchangeUrl: config.exchangeUrl,
      apiHost: config.apiHost,
      apiPort: config.apiPort,
      peerHost: config.peerHost,
      peerPort: config.peerPort,
      ...(config.peerUrl === undefined ? {} : { peerPublicUrl: config.peerUrl }),
      relay: config.relay,
      attemptsMax: config.attemptsMax,
      cafsBudgetBytes: config.cafsBudgetMiB * 1024 ** 2,
      keepResults: config.keepResults,
      log,
    });
    // Listen for the signals before saying where we are: a supervisor may stop us right after.
    const signalled = untilSignal();
    const info = daemon.info();
    console.log(`daemon ${info.address} (${info.network})${created ? `, new key in ${config.keyFile}` : ''}`);
    console.log(`  page:          ${daemon.pageUrl}`);
    console.log(`                 (open this link: it carries the token the page needs to make changes)`);
    console.log(`  API:           ${info.apiUrl}/ (changes need "Authorization: Bearer <token>", the token in ${join(config.dataDir, 'api-token')})`);
    console.log(`  exchange:      ${info.exchangeUrl} (${info.exchangeId})`);
    console.log(`  buyers reach:  ${info.peerUrl}`);
    console.log(`  data:          ${config.dataDir}`);
    console.log(`  mandates: ${daemon.mandates.list().length}, workers: ${daemon.workers.list().length}, trades resumed: ${daemon.trades().filter((trade) => !trade.isFinal).length}`);
    console.log(`${await signalled}: stopping`);
    await daemon.stop();
    console.log('stopped cleanly');
    return 0;
  },
};

type FlagValues = Partial<Record<Exclude<keyof typeof flagOptions, 'quiet'>, string>>;

/** Checks each flag with the config file's own rules, so both report a bad value the same way. */
function configFrom(values: FlagValues): DaemonConfig {
  const dataDir = values['data-dir'] ?? join(bitwrkHome(), 'daemon');
  const port = (name: 'api-port' | 'peer-port') => (values[name] === undefined ? undefined : integerFlag(values[name], name, 0, { min: 0, max: 65535 }));
  const flags = {
    exchangeUrl: values.exchange,
    network: values.network,
    keyFile: values['key-file'],
    apiHost: values['api-host'],
    apiPort: port('api-port'),
    peerHost: values['peer-host'],
    peerPort: port('peer-port'),
    peerUrl: values['peer-url'],
    relay: values.relay,
    attemptsMax: values.attempts === undefined ? undefined : integerFlag(values.attempts, 'attempts', 3, { min: 1, max: 100 }),
    cafsBudgetMiB: values['cafs-budget-mib'] === undefined ? undefined : integerFlag(values['cafs-budget-mib'], 'cafs-budget-mib', CAFS_BUDGET_MIB_DEFAULT, { min: 1, max: 1024 ** 3 }),
    keepResults: values['keep-results'] === undefined ? undefined : integerFlag(values['keep-results'], 'keep-results', KEEP_RESULTS_DEFAULT, { min: 0, max: 10_000 }),
  };
  const checked = daemonConfigFile.safeParse(Object.fromEntries(Object.entries(flags).filter(([, value]) => value !== undefined)));
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    throw new UsageError(`--${flagName(String(issue.path[0]))}: ${issue.message}`);
  }
  try {
    return resolveConfig(dataDir, defaultKeyFile(), readConfigFile(dataDir), checked.data);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

const FLAG_NAMES: Readonly<Record<string, string>> = { exchangeUrl: 'exchange', keyFile: 'key-file', apiHost: 'api-host', apiPort: 'api-port', peerHost: 'peer-host', peerPort: 'peer-port', peerUrl: 'peer-url', attemptsMax: 'attempts', cafsBudgetMiB: 'cafs-budget-mib', keepResults: 'keep-results' };

function flagName(setting: string): string {
  return FLAG_NAMES[setting] ?? setting;
}

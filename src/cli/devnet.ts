// `bitwrk devnet`: a local Bitcoin regtest chain in this process, served over loopback with
// Esplora's REST API, for trying the exchange's deposits without bitcoind or a network. Stops on
// SIGTERM or SIGINT.
import { realClock } from '../clock.js';
import { Devnet } from '../chain/devnet.js';
import { LOOPBACK_HOSTS, startDevnetServer } from '../chain/devnet-server.js';
import { COIN_SATS } from '../chain/devnet-tx.js';
import { integerFlag, parseFlags, UsageError, type Command } from './command.js';
import { untilSignal } from './signals.js';

export const devnetCommand: Command = {
  name: 'devnet',
  summary: 'run a local Bitcoin regtest chain with an Esplora API and a faucet',
  usage: `usage: bitwrk devnet [options]

Runs a local Bitcoin test chain (regtest parameters, addresses bcrt1...) in this process and serves
it over loopback with Esplora's REST API (GET /blocks/tip/height, /tx/TXID, /address/ADDR/txs,
POST /tx, ...). Its faucet holds the coinbase rewards of 101 blocks mined at start. Everything
follows from the seed: the same seed gives the same keys, blocks and transactions.

Control endpoints (JSON bodies):
  POST /devnet/mine        {"blocks": 1, "address": "bcrt1..."}   mine blocks (address optional)
  POST /devnet/faucet      {"address": "bcrt1...", "amountSats": 100000}   pay from the faucet
  POST /devnet/invalidate  {"hash": "..."}   take a block and its descendants off the best chain

options:
  --host HOST              loopback interface: ${LOOPBACK_HOSTS.join(', ')} (default 127.0.0.1)
  --port PORT              port (default 0: a free one, printed)
  --seed N                 seed of keys and blocks (default 0)
  --block-interval SECONDS mine a block every SECONDS of wall-clock time (default 0: only on request)`,
  async run(argv) {
    const { values } = parseFlags(argv, {
      host: { type: 'string' },
      port: { type: 'string' },
      seed: { type: 'string' },
      'block-interval': { type: 'string' },
    });
    const host = values.host ?? '127.0.0.1';
    if (!LOOPBACK_HOSTS.includes(host)) throw new UsageError(`--host must be a loopback interface (${LOOPBACK_HOSTS.join(', ')}), got "${host}"`);
    const port = integerFlag(values.port, 'port', 0, { min: 0, max: 65535 });
    const seed = integerFlag(values.seed, 'seed', 0, { min: 0, max: Number.MAX_SAFE_INTEGER });
    const intervalSeconds = integerFlag(values['block-interval'], 'block-interval', 0, { min: 0, max: 86_400 });
    const devnet = new Devnet({ seed, now: () => realClock.now() });
    const server = await startDevnetServer({ devnet, host, port });
    const mining = intervalSeconds > 0 ? devnet.startMining(realClock, intervalSeconds * 1000) : undefined;
    // Listen for the signals before saying where we are: a supervisor may stop us right after.
    const signalled = untilSignal();
    const balance = devnet.faucet.balance();
    console.log(`devnet (regtest) seed ${seed}, tip ${devnet.tip().height} ${devnet.tip().hash}`);
    console.log(`  Esplora: ${server.url}`);
    console.log(`  faucet:  ${devnet.faucet.address}, ${formatBtc(balance.spendableSats)} BTC spendable (${formatBtc(balance.immatureSats)} BTC immature)`);
    console.log(`  blocks:  ${intervalSeconds > 0 ? `one every ${intervalSeconds} s` : 'on request'}: curl -X POST ${server.url}/devnet/mine -d '{"blocks":1}'`);
    console.log(`${await signalled}: shutting down`);
    mining?.stop();
    await server.close();
    return 0;
  },
};

function formatBtc(sats: number): string {
  return (sats / COIN_SATS).toFixed(8);
}

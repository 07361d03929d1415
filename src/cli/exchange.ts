// `bitwrk exchange`: runs the exchange server on the embedded store (or MongoDB) until SIGTERM
// or SIGINT, then shuts down cleanly (connections closed, journal flushed, snapshot written).
import { join } from 'node:path';
import { realClock } from '../clock.js';
import { parseAddress } from '../crypto/address.js';
import { loadOrCreateKeyFile } from '../crypto/keyfile.js';
import { depositAddress, DepositKeyError, parseDepositKey, type DepositKey } from '../chain/deposit-keys.js';
import { isNetworkName, type NetworkName } from '../crypto/networks.js';
import { startExchangeServer } from '../server/serve.js';
import { integerFlag, parseFlags, UsageError, type Command } from './command.js';
import { CHAIN_FLAGS, CHAIN_USAGE, chainFromFlags, PAYOUT_FLAGS, PAYOUT_USAGE, payoutsFromFlags } from './chain-flags.js';
import { floatAddress } from '../chain/payout-processor.js';
import { bitwrkHome, defaultKeyFile } from './paths.js';
import { untilSignal } from './signals.js';

export const exchangeCommand: Command = {
  name: 'exchange',
  summary: 'run the exchange server (WebSocket + HTTP on one port)',
  usage: `usage: bitwrk exchange [options]

Runs the BitWrk exchange: signed bids, matching, transactions and accounts, journalled to disk
before every acknowledgement. WebSocket API at ws://HOST:PORT/ws, HTTP API on the same port.
Stops cleanly on SIGTERM or Ctrl-C.

options:
  --host HOST          interface to listen on (default 127.0.0.1; 0.0.0.0 for all)
  --port PORT          port (default 8090; 0 picks a free one)
  --data-dir DIR       where the embedded store lives (default ${join(bitwrkHome(), 'exchange')})
  --mongodb-url URL    use MongoDB (a replica set) instead of the embedded store
  --network NAME       mainnet, testnet (default) or regtest: the network of participants' addresses
  --admin ADDRESS      address whose signature admin commands need (default: your key file's)
  --arbiter ADDRESS    address whose signature resolves disputes and freezes accounts
                       (default: the admin's; see bitwrk arbiter)
  --deposit-key KEY    the account-level extended PUBLIC key deposit addresses come from: zpub/xpub
                       (mainnet), vpub/tpub (testnet, regtest), or wpkh(KEY/0/*) / tr(KEY/0/*);
                       a private key or a key of another network is refused (docs/payments.md)
  --taproot-deposits   BIP86 taproot deposit addresses from an xpub/tpub (default: BIP84 segwit)
${CHAIN_USAGE}
${PAYOUT_USAGE}
  --exchange-id ID     the id signed into every command (default bitwrk-local)
  --workers N          signature verification threads (default: one per core)
  --connections-max N  TCP connections at once (default: what the file-descriptor limit allows,
                       at most 10000); each remote address may hold at most 64

Exit status: 0 after a clean stop; 70 when the exchange stopped itself after an internal or
storage failure (it answers nothing more; restart it and it recovers the journalled state).`,
  async run(argv) {
    const { values } = parseFlags(argv, {
      host: { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      'mongodb-url': { type: 'string' },
      network: { type: 'string' },
      admin: { type: 'string' },
      arbiter: { type: 'string' },
      'deposit-key': { type: 'string' },
      'taproot-deposits': { type: 'boolean' },
      'exchange-id': { type: 'string' },
      workers: { type: 'string' },
      'connections-max': { type: 'string' },
      ...CHAIN_FLAGS,
      ...PAYOUT_FLAGS,
    });
    const network: NetworkName = values.network === undefined ? 'testnet' : isNetworkName(values.network) ? values.network : invalid('--network must be mainnet, testnet or regtest');
    const exchangeId = values['exchange-id'] ?? 'bitwrk-local';
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(exchangeId)) invalid('--exchange-id must be 1-64 letters, digits, dots, dashes or underscores');
    let adminAddress = values.admin;
    if (adminAddress === undefined) adminAddress = loadOrCreateKeyFile(defaultKeyFile(), network).identity.address;
    const parsed = parseAddress(adminAddress, network);
    if (!parsed.ok) invalid(`--admin: ${parsed.detail}`);
    const arbiterAddress = values.arbiter ?? adminAddress;
    const arbiterParsed = parseAddress(arbiterAddress, network);
    if (!arbiterParsed.ok) invalid(`--arbiter: ${arbiterParsed.detail}`);
    // The devnet is a regtest chain: its deposit addresses are bcrt1…, whatever the participants' network.
    const depositKey = depositKeyFrom(values['deposit-key'], values.chain === 'devnet' && network !== 'mainnet' ? 'regtest' : network, values['taproot-deposits'] === true);
    if (values.payer !== undefined) {
      const payerParsed = parseAddress(values.payer, network);
      if (!payerParsed.ok) invalid(`--payer: ${payerParsed.detail}`);
    }
    // Checked before the chain starts (it may start a devnet): a usage error leaves nothing running.
    if (values.payouts === true && (values.chain === undefined || depositKey === undefined)) invalid('--payouts needs --chain and --deposit-key: batches spend the deposit wallet');
    const chain = await chainFromFlags(values, network, depositKey);
    let payouts;
    try {
      payouts = payoutsFromFlags(values, chain, depositKey);
    } catch (error) {
      await chain?.close();
      throw error;
    }
    const alert = (message: string): void => console.error(`ALERT ${new Date().toISOString()} ${message}`); // tidy-allow: a log line's wall-clock time
    const server = await startExchangeServer({
      clock: realClock,
      host: values.host ?? '127.0.0.1',
      port: integerFlag(values.port, 'port', 8090, { min: 0, max: 65535 }),
      dataDir: values['data-dir'] ?? join(bitwrkHome(), 'exchange'),
      ...(values['mongodb-url'] === undefined ? {} : { mongodbUrl: values['mongodb-url'] }),
      exchangeId,
      network,
      adminAddress,
      arbiterAddress,
      ...(values.payer === undefined ? {} : { payerAddress: values.payer }),
      ...(payouts === undefined ? {} : { payouts }),
      ...(values.workers === undefined ? {} : { workers: integerFlag(values.workers, 'workers', 1, { min: 1, max: 64 }) }),
      ...(values['connections-max'] === undefined ? {} : { connections: { connectionsMax: integerFlag(values['connections-max'], 'connections-max', 1, { min: 1, max: 1_000_000 }) } }),
      ...(chain === undefined || depositKey === undefined ? {} : { deposits: { key: depositKey, backend: chain.backend, policy: chain.policy, pollMs: chain.pollMs, onAlert: alert } }),
    }).catch(async (error: unknown) => {
      await chain?.close();
      throw error;
    });
    // Listen for the signals before saying where we are: a supervisor may stop us right after.
    const signalled = untilSignal();
    console.log(`exchange ${exchangeId} (${network}) on ${server.store.description}`);
    console.log(`  WebSocket: ${server.wsUrl}`);
    console.log(`  HTTP:      ${server.httpUrl}/health`);
    console.log(`  admin:     ${adminAddress}`);
    console.log(`  arbiter:   ${arbiterAddress}`);
    // The operator compares these with the wallet's own first receive addresses before any deposit.
    if (depositKey !== undefined) console.log(`  deposits:  ${depositKey.type === 'p2tr' ? 'BIP86 taproot' : 'BIP84 segwit'}, first addresses ${depositAddress(depositKey, 0)}, ${depositAddress(depositKey, 1)}`);
    if (chain !== undefined) console.log(`  chain:     ${chain.description}; credit at ${chain.policy.confirmations} confirmations (${chain.policy.largeConfirmations} from ${chain.policy.largeSats} sat), final at ${chain.policy.finalConfirmations}`);
    else if (depositKey !== undefined) console.log('  chain:     none (--chain): deposit addresses are not handed out');
    if (payouts !== undefined && depositKey !== undefined) {
      console.log(`  payouts:   a batch every ${payouts.batchIntervalMs! / 1000} s at most ${payouts.feeRateCapSatVb} sat/vB, completed at ${payouts.confirmations} confirmations; payer ${values.payer ?? adminAddress}`);
      console.log(`  float:     ${floatAddress(depositKey)} (the exchange's own coins: network fees are paid from them and its fee income)`);
    }
    const ended = await Promise.race([signalled, server.failed]);
    if (ended instanceof Error) {
      // Fail-stop: memory may be ahead of the journal, so nothing is flushed or snapshotted.
      console.error(`bitwrk exchange: stopped after an internal failure: ${ended.message}`);
      console.error('restart it: it recovers exactly the journalled state');
      process.exit(EXIT_FAILED); // at once: open handles (store, threads) must not keep it serving
    }
    console.log(`${ended}: shutting down`);
    await server.stop();
    await chain?.close();
    console.log('stopped cleanly');
    return 0;
  },
};

/** EX_SOFTWARE (sysexits.h): the exchange failed and stopped itself. */
const EXIT_FAILED = 70;

function invalid(message: string): never {
  throw new UsageError(message);
}

/** The deposit key, checked at start: a private key or one of another network stops the exchange with the reason. */
function depositKeyFrom(text: string | undefined, network: NetworkName, taproot: boolean): DepositKey | undefined {
  if (text === undefined) {
    if (taproot) invalid('--taproot-deposits needs --deposit-key');
    return undefined;
  }
  try {
    return parseDepositKey(text, network, { taproot });
  } catch (error) {
    if (error instanceof DepositKeyError) return invalid(`--deposit-key: ${error.message}`);
    throw error;
  }
}


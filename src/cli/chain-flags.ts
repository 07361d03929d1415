// `bitwrk exchange`'s chain flags: which backend the deposit watcher reads (--chain), and the
// confirmation policy. The devnet runs in this process and serves its Esplora API on loopback,
// so wallets, scripts and `bitwrk devnet`-style faucet calls can reach it.
import type { ChainBackend } from '../chain/backend.js';
import { BitcoinCoreBackend } from '../chain/bitcoin-core.js';
import { watchDescriptor, type DepositKey } from '../chain/deposit-keys.js';
import { DEFAULT_CONFIRMATION_POLICY, policyProblem, type ConfirmationPolicy } from '../chain/deposit-policy.js';
import { Devnet, devnetBackend } from '../chain/devnet.js';
import { startDevnetServer, type DevnetServer } from '../chain/devnet-server.js';
import { EsploraBackend } from '../chain/esplora.js';
import type { NetworkName } from '../crypto/networks.js';
import { integerFlag, UsageError } from './command.js';
import type { PayoutServerSettings } from '../server/serve.js';

export const CHAIN_FLAGS = {
  chain: { type: 'string' },
  'core-wallet': { type: 'string' },
  'core-cookie': { type: 'string' },
  confirmations: { type: 'string' },
  'large-deposit-sats': { type: 'string' },
  'large-confirmations': { type: 'string' },
  'final-confirmations': { type: 'string' },
  'chain-poll': { type: 'string' },
} as const;

export const CHAIN_USAGE = `  --chain BACKEND      where deposits are watched: devnet (a local regtest chain in this
                       process; deposit addresses are then bcrt1…, from a tpub/vpub), esplora:URL (an Esplora REST server) or
                       core:URL (Bitcoin Core JSON-RPC, http://user:password@host:port); needs
                       --deposit-key
  --core-wallet NAME   Bitcoin Core's watch-only wallet for the deposits (default bitwrk-deposits)
  --core-cookie FILE   Bitcoin Core's .cookie file instead of user:password in the URL
  --confirmations N    confirmations before a deposit is credited (default ${DEFAULT_CONFIRMATION_POLICY.confirmations})
  --large-deposit-sats S  from this amount on, --large-confirmations apply (default ${DEFAULT_CONFIRMATION_POLICY.largeSats})
  --large-confirmations N (default ${DEFAULT_CONFIRMATION_POLICY.largeConfirmations})
  --final-confirmations F after F a credit is no longer re-checked for reorgs (default ${DEFAULT_CONFIRMATION_POLICY.finalConfirmations})
  --chain-poll SECONDS how often the chain is read (default 10; 1 on the devnet)`;

export const PAYOUT_FLAGS = {
  payouts: { type: 'boolean' },
  payer: { type: 'string' },
  'batch-interval': { type: 'string' },
  'fee-cap': { type: 'string' },
  'payout-confirmations': { type: 'string' },
} as const;

export const PAYOUT_USAGE = `  --payouts            pay withdrawals on chain (needs --chain and a BIP84 --deposit-key): batches
                       of approved withdrawals as PSBTs for the payer (bitwrk payer) to sign
  --payer ADDRESS      address whose signature submits signed batches (default: the admin's;
                       bitwrk payer init prints it)
  --batch-interval SECONDS  between batches (default 600)
  --fee-cap SAT_PER_VB the highest fee rate paid; above it batches wait (default 50)
  --payout-confirmations N  confirmations before a withdrawal is completed (default 6)`;

/** The payout settings from the flags, or undefined without --payouts. Throws UsageError with the reason. */
export function payoutsFromFlags(values: { readonly [K in keyof typeof PAYOUT_FLAGS]?: string | boolean }, chain: ChainSetup | undefined, key: DepositKey | undefined): PayoutServerSettings | undefined {
  if (values.payouts !== true) {
    for (const name of ['payer', 'batch-interval', 'fee-cap', 'payout-confirmations'] as const) if (values[name] !== undefined) throw new UsageError(`--${name} needs --payouts`);
    return undefined;
  }
  if (chain === undefined || key === undefined) throw new UsageError('--payouts needs --chain and --deposit-key: batches spend the deposit wallet');
  if (key.type !== 'p2wpkh') throw new UsageError('--payouts spends BIP84 (native segwit) deposits; taproot deposits cannot be paid out yet');
  const crash = process.env['BITWRK_CRASH_AT'];
  return {
    pollMs: chain.pollMs,
    batchIntervalMs: integerFlag(values['batch-interval'] as string | undefined, 'batch-interval', 600, { min: 0, max: 86_400 }) * 1000,
    feeRateCapSatVb: integerFlag(values['fee-cap'] as string | undefined, 'fee-cap', 50, { min: 1, max: 10_000 }),
    confirmations: integerFlag(values['payout-confirmations'] as string | undefined, 'payout-confirmations', 6, { min: 1, max: 1_000 }),
    depositCoinConfirmations: chain.policy.confirmations,
    // Fault injection for the crash tests (test/chain/payout-crash.test.ts): kill -9 at one point.
    ...(crash === undefined ? {} : { crashPoint: (point: string) => void (point === crash && process.kill(process.pid, 'SIGKILL')) }),
  };
}

type ChainValues = { readonly [K in keyof typeof CHAIN_FLAGS]?: string };

export interface ChainSetup {
  readonly backend: ChainBackend;
  readonly policy: ConfirmationPolicy;
  readonly pollMs: number;
  /** The in-process devnet and its Esplora server, with --chain devnet. */
  readonly devnet?: { readonly chain: Devnet; readonly server: DevnetServer };
  /** What to say at start about the backend. */
  readonly description: string;
  close(): Promise<void>;
}

/** Checks the chain flags; undefined when no --chain is given. Throws UsageError with the reason. */
export async function chainFromFlags(values: ChainValues, network: NetworkName, key: DepositKey | undefined): Promise<ChainSetup | undefined> {
  const spec = values.chain;
  if (spec === undefined) {
    for (const name of Object.keys(CHAIN_FLAGS)) if (values[name as keyof ChainValues] !== undefined) throw new UsageError(`--${name} needs --chain`);
    return undefined;
  }
  if (key === undefined) throw new UsageError('--chain needs --deposit-key: deposit addresses come from it');
  const policy = policyFrom(values);
  if (spec === 'devnet') {
    if (network === 'mainnet') throw new UsageError('--chain devnet is a local regtest chain: not for a mainnet exchange');
    const chain = new Devnet({ seed: 0 });
    const server = await startDevnetServer({ devnet: chain });
    return {
      backend: devnetBackend(chain), policy, pollMs: pollMsFrom(values, 1), devnet: { chain, server },
      description: `devnet (in this process), Esplora API ${server.url}`,
      close: () => server.close(),
    };
  }
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const url = spec.slice(colon + 1);
  if (kind === 'esplora') {
    const backend = construct(() => new EsploraBackend(url));
    return { backend, policy, pollMs: pollMsFrom(values, 10), description: backend.name, close: async () => undefined };
  }
  if (kind === 'core') {
    const backend = construct(() => new BitcoinCoreBackend({ url, wallet: values['core-wallet'] ?? 'bitwrk-deposits', ...(values['core-cookie'] === undefined ? {} : { cookieFile: values['core-cookie'] }) }));
    // The watch-only wallet and the deposit descriptor, before the first poll (safe at every start).
    await backend.ensureWatching([watchDescriptor(key)]);
    return { backend, policy, pollMs: pollMsFrom(values, 10), description: backend.name, close: async () => undefined };
  }
  throw new UsageError(`--chain must be devnet, esplora:URL or core:URL, got "${spec.slice(0, 40)}"`);
}

function construct<T>(make: () => T): T {
  try {
    return make();
  } catch (error) {
    throw new UsageError(`--chain: ${(error as Error).message}`);
  }
}

function policyFrom(values: ChainValues): ConfirmationPolicy {
  const defaults = DEFAULT_CONFIRMATION_POLICY;
  const policy = {
    confirmations: integerFlag(values.confirmations, 'confirmations', defaults.confirmations, { min: 1, max: 1_000 }),
    largeSats: integerFlag(values['large-deposit-sats'], 'large-deposit-sats', defaults.largeSats, { min: 1, max: 21e14 }),
    largeConfirmations: integerFlag(values['large-confirmations'], 'large-confirmations', Math.max(defaults.largeConfirmations, Number(values.confirmations ?? 0)), { min: 1, max: 1_000 }),
    finalConfirmations: integerFlag(values['final-confirmations'], 'final-confirmations', defaults.finalConfirmations, { min: 2, max: 10_000 }),
  };
  const problem = policyProblem(policy);
  if (problem !== null) throw new UsageError(problem);
  return policy;
}

function pollMsFrom(values: ChainValues, fallbackSeconds: number): number {
  return integerFlag(values['chain-poll'], 'chain-poll', fallbackSeconds, { min: 1, max: 3_600 }) * 1000;
}

// The daemon's configuration: built-in defaults, then the data directory's config.json (if any),
// then command-line flags, each later source overriding the earlier. Every value is checked; an
// error names the setting and where it came from, and nothing starts with a bad setting.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { isNetworkName, type NetworkName } from '../crypto/networks.js';

export const CONFIG_FILE = 'config.json';
export const DEFAULT_EXCHANGE_URL = 'ws://127.0.0.1:8090/ws';
export const DEFAULT_API_PORT = 8091;
export const CAFS_BUDGET_MIB_DEFAULT = 8192;
export const KEEP_RESULTS_DEFAULT = 20;

const port = z.number().int().min(0).max(65535);
const host = z.string().min(1).max(255).regex(/^[A-Za-z0-9.:_-]+$/, 'a host name or IP address');
const wsUrl = z.string().max(255).regex(/^wss?:\/\/[\x21-\x7e]+$/, 'a ws:// or wss:// URL');

/** What config.json may hold; every field optional, unknown fields refused (a typo is an error). */
export const daemonConfigFile = z.strictObject({
  exchangeUrl: wsUrl.optional(),
  network: z.string().refine(isNetworkName, 'mainnet, testnet or regtest').optional(),
  keyFile: z.string().min(1).max(4096).optional(),
  apiHost: host.optional(),
  apiPort: port.optional(),
  peerHost: host.optional(),
  peerPort: port.optional(),
  peerUrl: wsUrl.optional(),
  relay: z.enum(['auto', 'always', 'never']).optional(),
  attemptsMax: z.number().int().min(1).max(100).optional(),
  cafsBudgetMiB: z.number().int().min(1).max(1024 ** 3).optional(),
  keepResults: z.number().int().min(0).max(10_000).optional(),
});
export type DaemonConfigFile = z.output<typeof daemonConfigFile>;

export interface DaemonConfig {
  readonly dataDir: string;
  readonly exchangeUrl: string;
  readonly network: NetworkName;
  readonly keyFile: string;
  readonly apiHost: string;
  readonly apiPort: number;
  readonly peerHost: string;
  readonly peerPort: number;
  readonly peerUrl: string | undefined;
  readonly relay: 'auto' | 'always' | 'never';
  readonly attemptsMax: number;
  /** What CAFS may hold before files no open trade needs are collected. */
  readonly cafsBudgetMiB: number;
  /** Results of completed purchases kept whatever the budget. */
  readonly keepResults: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads `<dataDir>/config.json`: {} when absent, ConfigError when unreadable or invalid. */
export function readConfigFile(dataDir: string): DaemonConfigFile {
  const path = join(dataDir, CONFIG_FILE);
  if (!existsSync(path)) return {};
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  const parsed = daemonConfigFile.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${path}: ${issue.path.length === 0 ? '' : `${issue.path.join('.')}: `}${issue.message}`);
  }
  return parsed.data;
}

/** Merges defaults, the file and the flags (already checked by their parsers) into one config. */
export function resolveConfig(dataDir: string, defaultKeyFile: string, file: DaemonConfigFile, flags: DaemonConfigFile): DaemonConfig {
  const merged = { ...file, ...definedOnly(flags) };
  return {
    dataDir,
    exchangeUrl: merged.exchangeUrl ?? DEFAULT_EXCHANGE_URL,
    network: (merged.network as NetworkName | undefined) ?? 'testnet',
    keyFile: merged.keyFile ?? defaultKeyFile,
    apiHost: merged.apiHost ?? '127.0.0.1',
    apiPort: merged.apiPort ?? DEFAULT_API_PORT,
    peerHost: merged.peerHost ?? '127.0.0.1',
    peerPort: merged.peerPort ?? 0,
    peerUrl: merged.peerUrl,
    relay: merged.relay ?? 'auto',
    attemptsMax: merged.attemptsMax ?? 3,
    cafsBudgetMiB: merged.cafsBudgetMiB ?? CAFS_BUDGET_MIB_DEFAULT,
    keepResults: merged.keepResults ?? KEEP_RESULTS_DEFAULT,
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}

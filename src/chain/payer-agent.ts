// The payer's side of payouts, outside the exchange: its key file (the account's private key,
// which never leaves this machine), its record of what it signed (the daily limit counts from
// it), and one pass of "fetch the batches waiting for a signature, sign what the policy allows,
// submit". `bitwrk payer` runs it (src/cli/payer.ts); the offline path writes and reads files.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { HDKey } from '@scure/bip32';
import { randomBytes } from 'node:crypto';
import { identityFromPrivateKey, type Identity } from '../crypto/keys.js';
import { isNetworkName, type NetworkName } from '../crypto/networks.js';
import { PayerRefusal, signBatch, type PayerPolicy, type SignedBatch } from './payer.js';
import type { BatchManifest } from './payout-batch.js';

export const DAY_MS = 24 * 3_600_000;
const HARDENED = 0x80000000;

export interface PayerKey {
  readonly network: NetworkName;
  /** The BIP84 account's extended private key (m/84'/coin'/0'). */
  readonly accountXprv: string;
}

export class PayerKeyError extends Error {}

function versionsOf(network: NetworkName): { private: number; public: number } {
  return network === 'mainnet' ? { private: 0x0488ade4, public: 0x0488b21e } : { private: 0x04358394, public: 0x043587cf };
}

/** A new account from a fresh 32-byte seed. */
export function newPayerKey(network: NetworkName, seed: Uint8Array = new Uint8Array(randomBytes(32))): PayerKey {
  const coin = network === 'mainnet' ? 0 : 1;
  const account = HDKey.fromMasterSeed(seed, versionsOf(network)).derive(`m/84'/${coin}'/0'`);
  return { network, accountXprv: account.privateExtendedKey };
}

/** The account's extended public key: what the exchange is started with (--deposit-key). */
export function accountXpub(key: PayerKey): string {
  return HDKey.fromExtendedKey(key.accountXprv, versionsOf(key.network)).publicExtendedKey;
}

/**
 * The payer's BitWrk identity, which signs its submissions (the exchange's --payer): a hardened
 * child (2') of the account, so the exchange's xpub reveals nothing of it.
 */
export function payerIdentity(key: PayerKey): Identity {
  const child = HDKey.fromExtendedKey(key.accountXprv, versionsOf(key.network)).deriveChild(HARDENED + 2);
  return identityFromPrivateKey(child.privateKey!, key.network);
}

export function writePayerKey(path: string, key: PayerKey): void {
  if (existsSync(path)) throw new PayerKeyError(`${path} exists; a payer key is never overwritten`);
  writeFileSync(path, `${JSON.stringify({ version: 1, network: key.network, accountXprv: key.accountXprv }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
}

export function readPayerKey(path: string): PayerKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new PayerKeyError(`${path}: not a payer key file (${(error as Error).message})`);
  }
  const record = parsed as { version?: unknown; network?: unknown; accountXprv?: unknown };
  if (record?.version !== 1 || typeof record.network !== 'string' || !isNetworkName(record.network) || typeof record.accountXprv !== 'string') {
    throw new PayerKeyError(`${path}: a payer key file has version 1, a network and accountXprv`);
  }
  try {
    const account = HDKey.fromExtendedKey(record.accountXprv, versionsOf(record.network));
    if (account.privateKey === null || account.depth !== 3) throw new Error('an account-level (depth 3) private key is needed');
  } catch (error) {
    throw new PayerKeyError(`${path}: accountXprv: ${(error as Error).message}`);
  }
  return { network: record.network, accountXprv: record.accountXprv };
}

/** One signed batch in the payer's own record. */
export interface SignedRecord {
  readonly batchId: string;
  readonly txid: string;
  readonly paidSats: number;
  readonly atMs: number;
}

/** The payer's record of what it signed: one JSON line each, appended before the signature leaves. */
export class SignedLog {
  constructor(readonly path: string) {}

  read(): SignedRecord[] {
    if (!existsSync(this.path)) return [];
    return readFileSync(this.path, 'utf8').split('\n').filter((line) => line.trim() !== '').map((line, index) => {
      try {
        return JSON.parse(line) as SignedRecord;
      } catch {
        throw new PayerKeyError(`${this.path}:${index + 1}: not a signed record`);
      }
    });
  }

  /** Paid in the 24 hours before `nowMs`, each batch once (a fee bump pays the same withdrawals). */
  signedToday(nowMs: number, except?: string): number {
    const byBatch = new Map<string, number>();
    for (const record of this.read()) if (record.atMs > nowMs - DAY_MS && record.batchId !== except) byBatch.set(record.batchId, record.paidSats);
    return [...byBatch.values()].reduce((sum, sats) => sum + sats, 0);
  }

  append(record: SignedRecord): void {
    appendFileSync(this.path, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  }
}

export interface BatchToSign {
  readonly batchId: string;
  readonly psbtBase64: string;
  readonly manifest: BatchManifest;
}

/** Signs one batch under the policy and records it; refusals are PayerRefusal with the reason. */
export function signAndRecord(key: PayerKey, batch: BatchToSign, policy: PayerPolicy, log: SignedLog, nowMs: number): SignedBatch {
  if (batch.manifest.batchId !== batch.batchId) throw new PayerRefusal(`the manifest is for ${batch.manifest.batchId}, not ${batch.batchId}`);
  const signed = signBatch({ accountXprv: key.accountXprv, network: key.network, psbtBase64: batch.psbtBase64, manifest: batch.manifest, policy, signedTodaySats: log.signedToday(nowMs, batch.batchId) });
  log.append({ batchId: batch.batchId, txid: signed.txid, paidSats: batch.manifest.outputs.reduce((sum, output) => sum + output.amountSats, 0), atMs: nowMs });
  return signed;
}

/** What the payer needs of the exchange (an ExchangeClient and an unsigned query over the same socket). */
export interface PayerExchange {
  payouts(): Promise<{ readonly batches: readonly BatchToSign[] }>;
  submitPayout(batchId: string, rawHex: string): Promise<{ readonly txid: string }>;
}

export interface PayerPassReport {
  readonly signed: readonly { readonly batchId: string; readonly txid: string }[];
  readonly refused: readonly { readonly batchId: string; readonly reason: string }[];
}

/** Fetches the waiting batches, signs each the policy allows and submits it. */
export async function payerPass(options: { readonly key: PayerKey; readonly exchange: PayerExchange; readonly policy: PayerPolicy; readonly log: SignedLog; readonly nowMs: () => number }): Promise<PayerPassReport> {
  const { batches } = await options.exchange.payouts();
  const signed: { batchId: string; txid: string }[] = [];
  const refused: { batchId: string; reason: string }[] = [];
  for (const batch of batches) {
    let result: SignedBatch;
    try {
      result = signAndRecord(options.key, batch, options.policy, options.log, options.nowMs());
    } catch (error) {
      if (!(error instanceof PayerRefusal)) throw error;
      refused.push({ batchId: batch.batchId, reason: error.message });
      continue;
    }
    await options.exchange.submitPayout(batch.batchId, result.rawHex);
    signed.push({ batchId: batch.batchId, txid: result.txid });
  }
  return { signed, refused };
}

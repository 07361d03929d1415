// `bitwrk payer`: the separate signer of payout batches. It holds the account's private key (its
// own key file, never on the exchange), signs only what matches a batch's manifest and its own
// policy (fee cap, daily limit), and submits the signed transaction with its own signature. An
// offline path writes the batches to files, signs a file on another machine, and submits it.
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { realClock } from '../clock.js';
import { ExchangeClient } from '../daemon/exchange-client.js';
import { parseDepositKey } from '../chain/deposit-keys.js';
import { PayerRefusal } from '../chain/payer.js';
import { accountXpub, newPayerKey, payerIdentity, payerPass, PayerKeyError, readPayerKey, signAndRecord, SignedLog, writePayerKey, type BatchToSign, type PayerKey } from '../chain/payer-agent.js';
import { floatAddress } from '../chain/payout-processor.js';
import { isNetworkName } from '../crypto/networks.js';
import { integerFlag, parseFlags, UsageError, type Command } from './command.js';
import { untilSignal } from './signals.js';
import { DEFAULT_EXCHANGE_URL, withExchangePeer } from './exchange-peer.js';

const FLAGS = {
  exchange: { type: 'string' },
  'key-file': { type: 'string' },
  network: { type: 'string' },
  'fee-cap': { type: 'string' },
  'daily-limit': { type: 'string' },
  interval: { type: 'string' },
  once: { type: 'boolean' },
  out: { type: 'string' },
} as const;

export const payerCommand: Command = {
  name: 'payer',
  summary: 'sign payout batches with the wallet key the exchange never holds',
  usage: `usage: bitwrk payer init --key-file FILE [--network NAME]
       bitwrk payer run --key-file FILE [--exchange URL] [--fee-cap SATS] [--daily-limit SATS] [--once]
       bitwrk payer export --out DIR [--exchange URL]
       bitwrk payer sign FILE --key-file FILE [--fee-cap SATS] [--daily-limit SATS]
       bitwrk payer submit FILE --key-file FILE [--exchange URL]

init     creates a key file (the wallet's BIP84 account, mode 0600) and prints what the exchange
         is started with: --deposit-key (the account's public key), --payer (this signer's
         address) and the float address for the exchange's own coins
run      signs every batch the exchange waits for that matches its manifest and this policy, and
         submits it; every 10 s (--interval) until Ctrl-C, or once with --once
export   writes each waiting batch to DIR/BATCH.json (PSBT and manifest) for an offline signer
sign     signs such a file here (another machine: no network needed) into FILE.signed.json
submit   sends a .signed.json file to the exchange

The payer refuses, saying why, anything but the manifest's outputs with the change on its own
change branch, a fee above --fee-cap, or more than --daily-limit signed in 24 hours (counted in
FILE.signed.jsonl beside the key file).

options:
  --exchange URL      the exchange's WebSocket (default ${DEFAULT_EXCHANGE_URL})
  --key-file FILE     the payer's key file (bitwrk payer init)
  --network NAME      with init: mainnet, testnet or regtest (default testnet)
  --fee-cap SATS      the highest network fee of one batch (default 100000)
  --daily-limit SATS  the most paid out in 24 hours (default 100000000: 1 BTC)
  --interval SECONDS  with run: between passes (default 10)`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, FLAGS, 2);
    const [action, file] = positionals;
    const policy = { feeCapSats: integerFlag(values['fee-cap'], 'fee-cap', 100_000, { min: 1, max: 100_000_000 }), dailyLimitSats: integerFlag(values['daily-limit'], 'daily-limit', 100_000_000, { min: 1, max: 21e14 }) };
    const keyPath = (): string => values['key-file'] ?? (() => { throw new UsageError(`${action} needs --key-file FILE`); })();
    const key = (): PayerKey => readPayerKey(keyPath());
    const log = (): SignedLog => new SignedLog(`${keyPath()}.signed.jsonl`);
    try {
      switch (action) {
        case 'init': {
          const network = values.network ?? 'testnet';
          if (!isNetworkName(network)) throw new UsageError(`--network must be mainnet, testnet or regtest, got "${network}"`);
          const created = newPayerKey(network);
          writePayerKey(keyPath(), created);
          const xpub = accountXpub(created);
          console.log(`payer key written to ${keyPath()} (keep it off the exchange's machine; back it up)`);
          console.log(`  bitwrk exchange --deposit-key ${xpub} --payouts --payer ${payerIdentity(created).address}`);
          console.log(`  float address (the exchange's own coins for network fees): ${floatAddress(parseDepositKey(xpub, network))}`);
          return 0;
        }
        case 'sign': {
          if (file === undefined) throw new UsageError('sign needs a FILE written by bitwrk payer export');
          const batch = readBatchFile(file);
          const signed = signAndRecord(key(), batch, policy, log(), realClock.now());
          const out = file.replace(/\.json$/, '') + '.signed.json';
          writeFileSync(out, `${JSON.stringify({ batchId: batch.batchId, txid: signed.txid, rawHex: signed.rawHex }, null, 2)}\n`);
          console.log(`${batch.batchId}: signed ${signed.txid} into ${out}`);
          return 0;
        }
        case 'run':
        case 'export':
        case 'submit':
          return await withExchangePeer(values.exchange ?? DEFAULT_EXCHANGE_URL, 'payer', async (peer, info) => {
            if (action === 'export') {
              const dir = values.out ?? (() => { throw new UsageError('export needs --out DIR'); })();
              mkdirSync(dir, { recursive: true });
              const { batches } = await peer.request('payouts', {});
              for (const batch of batches) writeFileSync(join(dir, `${batch.batchId}.json`), `${JSON.stringify(batch, null, 2)}\n`);
              console.log(batches.length === 0 ? 'no batch waits for a signature' : `${batches.length} batch(es) written to ${dir}: ${batches.map((batch) => batch.batchId).join(', ')}`);
              return 0;
            }
            const client = new ExchangeClient(peer, payerIdentity(key()), info.exchangeId, realClock);
            if (action === 'submit') {
              if (file === undefined) throw new UsageError('submit needs a FILE written by bitwrk payer sign');
              const signed = readSignedFile(file);
              const answer = await client.submitPayout(signed.batchId, signed.rawHex);
              console.log(`${answer.batchId}: ${answer.txid} accepted; the exchange broadcasts it`);
              return 0;
            }
            const exchange = { payouts: () => peer.request('payouts', {}), submitPayout: (batchId: string, rawHex: string) => client.submitPayout(batchId, rawHex) };
            const pass = async (): Promise<void> => {
              const report = await payerPass({ key: key(), exchange, policy, log: log(), nowMs: () => realClock.now() });
              for (const done of report.signed) console.log(`${done.batchId}: signed and submitted ${done.txid}`);
              for (const refused of report.refused) console.error(`${refused.batchId}: REFUSED: ${refused.reason}`);
            };
            await pass();
            if (values.once === true) return 0;
            const intervalMs = integerFlag(values.interval, 'interval', 10, { min: 1, max: 3_600 }) * 1000;
            const signalled = untilSignal();
            for (;;) {
              const ended = await Promise.race([signalled, new Promise<undefined>((resolve) => realClock.setTimer(() => resolve(undefined), intervalMs))]);
              if (ended !== undefined) return 0;
              await pass().catch((error: unknown) => console.error(`bitwrk payer: ${(error as Error).message}; retried in ${intervalMs / 1000} s`));
            }
          });
        default:
          throw new UsageError('name an action: init, run, export, sign or submit');
      }
    } catch (error) {
      if (error instanceof PayerKeyError || error instanceof PayerRefusal) {
        console.error(`bitwrk payer: ${error instanceof PayerRefusal ? 'refused: ' : ''}${error.message}`);
        return 1;
      }
      throw error;
    }
  },
};

/** A batch file holds one PSBT and its manifest: far below this. */
const BATCH_FILE_BYTES_MAX = 4 * 1024 * 1024;

function readJson(file: string): Record<string, unknown> {
  try {
    const size = statSync(file).size;
    if (size > BATCH_FILE_BYTES_MAX) throw new Error(`${size} bytes, more than a batch file holds (${BATCH_FILE_BYTES_MAX})`);
    const value = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new PayerKeyError(`${basename(file)}: ${(error as Error).message}`);
  }
}

function readBatchFile(file: string): BatchToSign {
  const value = readJson(file);
  const manifest = value['manifest'] as BatchToSign['manifest'] | undefined;
  if (typeof value['batchId'] !== 'string' || typeof value['psbtBase64'] !== 'string' || typeof manifest !== 'object' || manifest === null || !Array.isArray(manifest.outputs)) {
    throw new PayerKeyError(`${basename(file)}: a batch file has batchId, psbtBase64 and manifest (bitwrk payer export)`);
  }
  return { batchId: value['batchId'], psbtBase64: value['psbtBase64'], manifest };
}

function readSignedFile(file: string): { batchId: string; rawHex: string } {
  const value = readJson(file);
  if (typeof value['batchId'] !== 'string' || typeof value['rawHex'] !== 'string') throw new PayerKeyError(`${basename(file)}: a signed file has batchId and rawHex (bitwrk payer sign)`);
  return { batchId: value['batchId'], rawHex: value['rawHex'] };
}

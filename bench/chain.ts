// Chain benchmark on the devnet: how many deposits per second the watcher credits (one poll that
// sees and credits them all, journalled on the real exchange composition with lmdb), and how long
// a watcher that was down takes to catch up 1,000 blocks. References measured in the same run:
// the market core alone executing the same deposit commands (what the watcher adds on top of the
// core and journal), and the backend's read of the same payments (what catching up costs beyond
// reading the chain).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HDKey } from '@scure/bip32';
import { depositAddress, parseDepositKey } from '../src/chain/deposit-keys.js';
import { DEFAULT_CONFIRMATION_POLICY } from '../src/chain/deposit-policy.js';
import { Devnet, devnetBackend } from '../src/chain/devnet.js';
import { realClock } from '../src/clock.js';
import { generatePrivateKey, identityFromPrivateKey } from '../src/crypto/keys.js';
import type { MarketCommand } from '../src/market/commands.js';
import { MarketCore } from '../src/market/core.js';
import { startExchangeServer, type RunningExchangeServer } from '../src/server/serve.js';
import { benchOptions, printFigures, round } from './support.js';

const options = benchOptions();
const deposits = options.quick ? 300 : 2_000;
const catchUpBlocks = 1_000;
const catchUpDeposits = options.quick ? 50 : 200;
const OUTPUTS_PER_TX = 100;
const key = parseDepositKey(HDKey.fromMasterSeed(new Uint8Array(32).fill(5), { private: 0x04358394, public: 0x043587cf }).derive("m/84'/1'/0'").publicExtendedKey, 'regtest');
const directories: string[] = [];

async function exchangeOn(devnet: Devnet): Promise<RunningExchangeServer> {
  const directory = mkdtempSync(join(tmpdir(), 'bitwrk-chain-bench-'));
  directories.push(directory);
  return startExchangeServer({
    clock: realClock, host: '127.0.0.1', port: 0, dataDir: directory, exchangeId: 'bitwrk-bench', network: 'testnet',
    adminAddress: identityFromPrivateKey(generatePrivateKey(), 'testnet').address, workers: 0,
    deposits: { key, backend: devnetBackend(devnet), pollMs: 3_600_000 },
  });
}

/** Reserves `count` addresses through the exchange's command path (as requestDepositAddress does, unsigned here). */
async function reserve(server: RunningExchangeServer, count: number): Promise<string[]> {
  const addresses: string[] = [];
  for (let n = 0; n < count; n++) {
    const index = server.exchange.core.funds.nextDepositIndex();
    const address = depositAddress(key, index);
    await server.exchange.execute(undefined, (nowMs) => ({ type: 'requestDepositAddress', nowMs, participant: `participant-${n}`, index, address }));
    addresses.push(address);
  }
  return addresses;
}

/** Pays each address once, in transactions of OUTPUTS_PER_TX outputs, mining a block now and then for the faucet's change. */
function payAll(devnet: Devnet, addresses: readonly string[], amountSats: (n: number) => number): void {
  for (let start = 0; start < addresses.length; start += OUTPUTS_PER_TX) {
    const batch = addresses.slice(start, start + OUTPUTS_PER_TX).map((address, offset) => ({ address, amountSats: amountSats(start + offset) }));
    devnet.faucet.pay(batch[0]!.address, batch[0]!.amountSats, { outputs: batch.slice(1) });
    devnet.mine(1);
  }
}

const seconds = (startNs: bigint): number => Number(process.hrtime.bigint() - startNs) / 1e9;

try {
  // 1. Credit rate: every deposit seen and credited in one poll.
  const devnet = new Devnet({ seed: 1 });
  const server = await exchangeOn(devnet);
  const addresses = await reserve(server, deposits);
  payAll(devnet, addresses, (n) => 10_000 + n);
  devnet.mine(DEFAULT_CONFIRMATION_POLICY.confirmations);
  const creditStart = process.hrtime.bigint();
  const report = await server.depositWatcher!.poll();
  const creditSeconds = seconds(creditStart);
  if (report.recorded['depositConfirmed'] !== deposits) throw new Error(`credited ${report.recorded['depositConfirmed']} of ${deposits}`);
  await server.stop();

  // Reference: the market core alone, the same commands, no journal, no chain.
  const core = new MarketCore({ verifyReceipt: () => false });
  const commands: MarketCommand[] = [];
  for (let n = 0; n < deposits; n++) {
    commands.push({ type: 'requestDepositAddress', nowMs: 0, participant: `participant-${n}`, index: n, address: addresses[n]! });
  }
  for (const command of commands) core.execute(command);
  const coreStart = process.hrtime.bigint();
  for (let n = 0; n < deposits; n++) {
    const depositId = `${n.toString(16).padStart(64, '0')}:0`;
    core.execute({ type: 'depositSeen', nowMs: 0, depositId, address: addresses[n]!, amountSats: 10_000 + n });
    core.execute({ type: 'depositConfirmed', nowMs: 0, depositId, block: { height: 1, hash: 'ab'.repeat(32) } });
  }
  const coreSeconds = seconds(coreStart);

  // 2. Catch-up: 1,000 blocks with deposits in some of them, mined while the watcher was down.
  const later = new Devnet({ seed: 2 });
  const catching = await exchangeOn(later);
  const catchAddresses = await reserve(catching, catchUpDeposits);
  const every = Math.floor(catchUpBlocks / catchUpDeposits);
  const mineStart = process.hrtime.bigint();
  for (let block = 0; block < catchUpBlocks; block++) {
    if (block % every === 0 && block / every < catchUpDeposits) later.faucet.pay(catchAddresses[block / every]!, 20_000);
    later.mine(1);
  }
  const mineSeconds = seconds(mineStart);
  const readStart = process.hrtime.bigint();
  const read = await devnetBackend(later).paymentsTo(catchAddresses);
  const readSeconds = seconds(readStart);
  const catchStart = process.hrtime.bigint();
  const caught = await catching.depositWatcher!.poll();
  const catchSeconds = seconds(catchStart);
  if (read.length !== catchUpDeposits || caught.recorded['depositFinal'] === undefined) throw new Error(`caught up ${JSON.stringify(caught.recorded)}`);
  await catching.stop();

  const creditsPerSecond = deposits / creditSeconds;
  const coreCreditsPerSecond = deposits / coreSeconds;
  printFigures('chain', {
    deposits,
    creditedPerSecond: round(creditsPerSecond),
    coreAlonePerSecond: round(coreCreditsPerSecond),
    ratioToCore: round(creditsPerSecond / coreCreditsPerSecond, 3),
    catchUpBlocks,
    catchUpDeposits,
    catchUpSeconds: round(catchSeconds, 3),
    backendReadSeconds: round(readSeconds, 3),
    ratioCatchUpToRead: round(catchSeconds / readSeconds, 1),
    devnetMineSecondsPer1000Blocks: round((mineSeconds * 1000) / catchUpBlocks, 2),
  });
} finally {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
}

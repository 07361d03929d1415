// Verification benchmark: Bitcoin signed-message verifications per second for the reference
// backend (noble, pure JS), native libsecp256k1 on one thread, and the default used by the
// exchange (the worker pool over every core, native inside), all measured in this run. The
// exchange calls pool.verify() once per command and the pool batches the calls of one event-loop
// turn; that path is measured with 4,096 commands in flight, and the explicit verifyBatch path
// too. The goal ratio is default (exchange path) / native single-thread >= 0.9.
import { availableParallelism } from 'node:os';
import { identityFromPrivateKey } from '../src/crypto/keys.js';
import { signMessage } from '../src/crypto/signmessage.js';
import { createVerifier } from '../src/crypto/verifier.js';
import { VerifierPool, type VerifyItem } from '../src/crypto/verify-pool.js';
import { benchOptions, measureRate, measureRateAsync, printFigures, round } from './support.js';

const options = benchOptions();
const durationMs = options.quick ? 2000 : 6000;

// Realistic items: many signers, bid-like texts, half of the keys uncompressed.
const items: VerifyItem[] = [];
for (let index = 0; index < 4096; index++) {
  const privateKey = new Uint8Array(32);
  privateKey[31] = (index % 200) + 1;
  privateKey[0] = 1;
  const signer = identityFromPrivateKey(privateKey, 'mainnet', index % 2 === 0);
  const message = `BITWRK/1 bid.place\narticle=fnord\nside=buy\nprice=${1000 + index}\naddress=${signer.address}\nnonce=${1764040000000 + index}-${'ab'.repeat(16)}`;
  items.push({ message, address: signer.address, signature: signMessage(message, signer.privateKey, { compressed: signer.compressed }) });
}

function singleThreadRate(backend: 'noble' | 'native'): number {
  const verifier = createVerifier(backend);
  let next = 0;
  return measureRate(() => {
    const item = items[next++ % items.length]!;
    if (!verifier.verify(item.message, item.address, item.signature)) throw new Error('benchmark item failed to verify');
    return 1;
  }, backend === 'noble' ? Math.min(durationMs, 2000) : durationMs);
}

const nobleSingleThreadPerSecond = singleThreadRate('noble');
const nativeSingleThreadPerSecond = singleThreadRate('native');
const pool = new VerifierPool();
const batch = items.slice(0, 2048);
await pool.verifyBatch(batch); // warm up the workers
const defaultPoolBatchPerSecond = await measureRateAsync(async () => {
  // Two batches in flight keep every worker busy while the main thread packs the next.
  const answers = await Promise.all([pool.verifyBatch(batch), pool.verifyBatch(batch)]);
  if (!answers.every((list) => list.every(Boolean))) throw new Error('benchmark batch failed to verify');
  return 2 * batch.length;
}, durationMs);
const singles = items.slice(0, 4096);
const defaultPoolSinglesPerSecond = await measureRateAsync(async () => {
  const answers = await Promise.all(singles.map((item) => pool.verify(item)));
  if (!answers.every(Boolean)) throw new Error('benchmark item failed to verify');
  return singles.length;
}, durationMs);
await pool.close();

printFigures('verify', {
  cores: availableParallelism(),
  defaultBackend: pool.backend,
  nobleSingleThreadPerSecond: round(nobleSingleThreadPerSecond),
  nativeSingleThreadPerSecond: round(nativeSingleThreadPerSecond),
  poolWorkers: pool.size,
  defaultPoolPerSecond: round(defaultPoolSinglesPerSecond),
  defaultPoolBatchPerSecond: round(defaultPoolBatchPerSecond),
  ratioDefaultToNative: round(defaultPoolSinglesPerSecond / nativeSingleThreadPerSecond, 2),
  ratioDefaultBatchToNative: round(defaultPoolBatchPerSecond / nativeSingleThreadPerSecond, 2),
  ratioNobleToNative: round(nobleSingleThreadPerSecond / nativeSingleThreadPerSecond, 4),
});

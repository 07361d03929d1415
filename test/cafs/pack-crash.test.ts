// Goal: a kill -9 while the pack store appends, compacts and writes manifests loses no
// acknowledged file and never serves a corrupt chunk. Method: a child process (pack-writer.ts)
// imports files and prints each one it finished; the parent kills it with SIGKILL after a random
// number of them, several rounds on the same directory, and after each reopens the store: every
// acknowledged file reads back whole (each chunk checked against its key, the whole against the
// file key), and a third of them once more chunk by chunk (each read re-hashed: none corrupt).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DiskChunkStore } from '../../src/cafs/disk-store.js';
import { readFileBytes } from '../../src/cafs/files.js';
import { createPrng } from '../../src/random.js';
import { contentOf } from './pack-writer.js';

const ROUNDS = 6;

test('pack store: kill -9 mid-write loses no acknowledged file and serves no corrupt chunk', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'bitwrk-pack-crash-'));
  const prng = createPrng(0x9ac4);
  const acknowledged = new Map<number, string>();
  let next = 1;
  for (let round = 0; round < ROUNDS; round++) {
    const killAfter = 5 + prng.nextInt(40);
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/cafs/pack-writer.ts', directory, String(next)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let seen = 0;
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    for await (const line of createInterface({ input: child.stdout })) {
      const [kind, n, key] = line.split(' ');
      next = Number(n) + 1;
      if (kind === 'file') acknowledged.set(Number(n), key!);
      if (++seen === killAfter) child.kill('SIGKILL');
    }
    assert.equal(await exited, 'SIGKILL', 'the writer was killed, not finished');
    const store = new DiskChunkStore(directory);
    for (const [n, fileKey] of acknowledged) {
      const manifest = await store.loadFile(fileKey);
      assert.ok(manifest !== undefined, `file ${n} was acknowledged and is there after the kill`);
      assert.deepEqual(await readFileBytes(store, manifest), contentOf(n));
    }
    const { chunks } = store.usage();
    assert.ok(chunks > 0);
    for (const [n, fileKey] of acknowledged) if (n % 3 === 0) for (const chunk of (await store.loadFile(fileKey))!.chunks) await store.get(chunk.key);
    store.close();
  }
  assert.ok(acknowledged.size >= ROUNDS * 4, `${acknowledged.size} files acknowledged over ${ROUNDS} kills`);
});

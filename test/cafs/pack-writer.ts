// Child process of the pack-store crash test: imports files into a DiskChunkStore as fast as it
// can (each with a fresh chunk of its own, so every file appends) and prints "file <n> <key>"
// for every import that resolved (its chunks and manifest acknowledged). The parent kills it
// with SIGKILL at a random moment. File n's content is derived from n, so the parent can check it.
import { DiskChunkStore } from '../../src/cafs/disk-store.js';
import { importFile } from '../../src/cafs/files.js';
import { createPrng } from '../../src/random.js';

export function contentOf(n: number): Uint8Array {
  return createPrng(n).nextBytes(20_000 + (n % 7) * 9_000);
}

if (process.argv[2] !== undefined) {
  const store = new DiskChunkStore(process.argv[2], { packBytesTarget: 256 * 1024 });
  const first = Number(process.argv[3]);
  for (let n = first; ; n++) {
    const manifest = await importFile(store, [contentOf(n)]);
    if (n % 5 === 0) {
      // Some removals, so compaction runs under the kill as well.
      await store.deleteFile(manifest.fileKey);
      await store.gc();
      process.stdout.write(`deleted ${n}\n`);
    } else {
      process.stdout.write(`file ${n} ${manifest.fileKey}\n`);
    }
  }
}

// Goal: work streams from a daemon's store to the worker and into the buyer's result check, so a
// purchase's work never has to fit in a daemon's memory (the seller read the whole work into
// memory before it pushed it, and so did the buyer's check). Method: a real purchase between two
// daemons whose worker is a plain HTTP server; the seller's store counts the bytes read from it
// after the work arrived: when the worker sees its first bytes, less than half has been read.
// The checks run on work sources that count what they yield.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { encodeJobHeader, JOB_HEAD_BYTES_MAX } from '../../src/blender/job.js';
import type { FileSource } from '../../src/cafs/files.js';
import { hashWork, hashWorkFromDigest } from '../../src/daemon/hash-work.js';
import { BUILT_IN_VERIFIERS } from '../../src/daemon/result-checks.js';
import { blenderArticleId } from '../../src/market/blender-articles.js';
import { auth, settle, startMarket, TEST_HASH_ARTICLE, type Market } from '../support/daemons.js';

const MIB = 1024 * 1024;
let market: Market;
before(async () => {
  market = await startMarket();
});
after(async () => {
  await market.stop();
});

test('the seller streams the work from its store to the worker, with its length declared', async () => {
  const seller = await market.daemon('streaming-seller');
  const buyer = await market.daemon('streaming-buyer');
  const work = new Uint8Array(randomBytes(32 * MIB));
  // Bytes the seller reads from its store once the work is saved there (the transfer's end).
  let readSinceSaved = -1;
  const cafs = seller.cafs;
  const saveFile = cafs.saveFile.bind(cafs);
  cafs.saveFile = async (manifest) => {
    await saveFile(manifest);
    if (manifest.size === work.length) readSinceSaved = 0;
  };
  const get = cafs.get.bind(cafs);
  cafs.get = async (key) => {
    const data = await get(key);
    if (readSinceSaved >= 0) readSinceSaved += data.length;
    return data;
  };
  const seen: { declared?: string | undefined; readAtFirstBytes?: number } = {};
  const worker = createServer((request, response) => {
    seen.declared = request.headers['content-length'];
    const digest = createHash('sha256');
    request.on('data', (part: Buffer) => {
      seen.readAtFirstBytes ??= readSinceSaved;
      digest.update(part);
    });
    request.on('end', () => response.end(hashWorkFromDigest(digest.digest())));
  });
  await new Promise<void>((resolve) => worker.listen(0, '127.0.0.1', resolve));
  try {
    const registered = await fetch(`${seller.apiUrl}/workers`, {
      method: 'POST',
      headers: { ...auth(seller), 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'plain-http', article: TEST_HASH_ARTICLE, pushUrl: `http://127.0.0.1:${(worker.address() as AddressInfo).port}/work` }),
    });
    assert.equal(registered.status, 200, await registered.text());
    await seller.mandates.add({ side: 'sell', article: TEST_HASH_ARTICLE, priceSats: 1000 });
    await market.credit(buyer.identity.address, 10_000);
    await buyer.mandates.add({ side: 'buy', article: TEST_HASH_ARTICLE, priceSats: 1200, trades: 1 });
    let response: Response | undefined;
    void fetch(`${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}`, { method: 'POST', body: work, headers: auth(buyer) }).then((value) => (response = value));
    await settle(market.clock, () => response !== undefined, { what: 'the result' });
    assert.equal(response!.status, 200, await response!.clone().text());
    assert.deepEqual(new Uint8Array(await response!.arrayBuffer()), hashWork(work));
    assert.equal(seen.declared, String(work.length), 'the push declares its length');
    assert.ok(seen.readAtFirstBytes !== undefined && seen.readAtFirstBytes >= 0, 'the work was saved before it was pushed');
    assert.ok(seen.readAtFirstBytes < work.length / 2, `the seller had read ${seen.readAtFirstBytes} of ${work.length} bytes from its store when the worker saw the first`);
  } finally {
    worker.closeAllConnections();
    worker.close();
  }
});

/** A work source that yields `parts` and counts the bytes it gave out. */
function countingSource(parts: readonly Uint8Array[], size = parts.reduce((sum, part) => sum + part.length, 0)): FileSource & { yielded: number } {
  const source = {
    size,
    yielded: 0,
    async *read() {
      for (const part of parts) {
        source.yielded += part.length;
        yield part;
      }
    },
  };
  return source;
}

test('the result checks read the work as a stream: the test article all of it, a Blender tile only its header', async () => {
  const parts = Array.from({ length: 5 }, (_, index) => new Uint8Array(randomBytes(100_000 + index)));
  const whole = new Uint8Array(Buffer.concat(parts));
  const hashCheck = BUILT_IN_VERIFIERS(TEST_HASH_ARTICLE)!;
  assert.equal(await hashCheck(countingSource(parts), hashWork(whole)), null);
  assert.match((await hashCheck(countingSource(parts), hashWork(whole.subarray(1))))!, /hash differs/);

  // A job of 8 MiB whose scene follows the header: the check must stop after the header.
  const rendered = { x: 0, y: 0, width: 4, height: 4 };
  const blendSize = 8 * MIB;
  const header = encodeJobHeader({ frame: 1, width: 4, height: 4, rendered, resources: [], blendSize });
  const scene = Array.from({ length: 8 }, () => new Uint8Array(MIB));
  const job = countingSource([header, ...scene]);
  const blenderCheck = BUILT_IN_VERIFIERS(blenderArticleId('3.4', '512M'))!;
  assert.ok(blenderCheck !== undefined, 'Blender articles have a check');
  const verdict = await blenderCheck(job, new TextEncoder().encode('not an image'));
  assert.match(verdict!, /not a float EXR image/, 'the header was read and found right; the image is what is wrong');
  assert.ok(job.yielded <= header.length + MIB && job.yielded < JOB_HEAD_BYTES_MAX + MIB, `read ${job.yielded} bytes of ${job.size}`);
  // The size the header announces is checked against the whole job's, not against what was read.
  const short = countingSource([header, ...scene.slice(1)]);
  assert.match((await blenderCheck(short, new Uint8Array()))!, /announces .* the job has/);
});

// Goal: the CAFS sync codes 6001-6007 are what a receiver answers over a real WebSocket, each in
// its documented situation. Method: the sync protocol's receiver on a loopback server over a
// small memory store, and hand-made offers, chunks and done requests from a client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { realClock } from '../../src/clock.js';
import { MemoryChunkStore } from '../../src/cafs/memory-store.js';
import { cafsProtocol, cafsReceiver } from '../../src/cafs/sync.js';
import type { ProtocolError } from '../../src/transport/errors.js';
import { RpcPeer } from '../../src/transport/rpc.js';
import { connectWebSocket } from '../../src/transport/ws-client.js';
import { startTestServer } from '../support/ws-server.js';
import { COVERS } from './covers.js';

const errors = new Set<number>();

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

async function expectCode(promise: Promise<unknown>, code: number, what: string): Promise<void> {
  const error = (await promise.then(() => undefined, (failure: ProtocolError) => failure)) as ProtocolError | undefined;
  assert.equal(error?.code, code, `${what}: ${error?.message ?? 'it succeeded'}`);
  errors.add(code);
}

test('the receiver\'s refusals: 6001-6007', async () => {
  const server = await startTestServer(cafsProtocol, cafsReceiver(new MemoryChunkStore(6_000)), { clock: realClock });
  try {
    const client = new RpcPeer(await connectWebSocket(server.url, { clock: realClock }), cafsProtocol, {}, { clock: realClock });
    const chunk = randomBytes(3_000);
    const offer = (transferId: string, chunks: Uint8Array[], fileKey = sha256(Buffer.concat(chunks)).toString('hex')) =>
      client.request('cafs.offer', {
        transferId, fileKey, size: chunks.reduce((sum, part) => sum + part.length, 0), chunkCount: chunks.length, first: 0,
        keys: new Uint8Array(Buffer.concat(chunks.map(sha256))), sizes: chunks.map((part) => part.length),
      });
    await expectCode(client.request('cafs.chunks', { transferId: 'nobody', chunks: [{ index: 0, compressed: false, data: chunk }] }), 6001, 'chunks for a transfer never offered');
    await expectCode(client.request('cafs.offer', { transferId: 'past', fileKey: '00'.repeat(32), size: 1, chunkCount: 1, first: 1, keys: new Uint8Array(32), sizes: [1] }), 6002, 'a page past the chunk count');
    await offer('one', [chunk]);
    await expectCode(client.request('cafs.chunks', { transferId: 'one', chunks: [{ index: 0, compressed: false, data: randomBytes(3_000) }] }), 6003, 'a chunk that is not the offered one');
    await expectCode(client.request('cafs.chunks', { transferId: 'one', chunks: [{ index: 7, compressed: false, data: chunk }] }), 6004, 'an index never offered');
    await expectCode(client.request('cafs.done', { transferId: 'one' }), 6005, 'done before the chunks');
    // A file key that is not the content's: every chunk checks out, the whole does not.
    const other = randomBytes(2_500);
    await offer('lie', [other], '11'.repeat(32));
    await client.request('cafs.chunks', { transferId: 'lie', chunks: [{ index: 0, compressed: false, data: other }] });
    await expectCode(client.request('cafs.done', { transferId: 'lie' }), 6006, 'a file that does not match its key');
    // The store holds 6,000 bytes, pinned by open transfers: a third chunk has no room.
    await client.request('cafs.chunks', { transferId: 'one', chunks: [{ index: 0, compressed: false, data: chunk }] });
    const more = randomBytes(3_000);
    await offer('full', [more]);
    await expectCode(client.request('cafs.chunks', { transferId: 'full', chunks: [{ index: 0, compressed: false, data: more }] }), 6007, 'no room in the store');
    client.close();
  } finally {
    await server.stop();
  }
  assert.deepEqual([...errors].sort((a, b) => a - b), [...COVERS.cafs.errors]);
});

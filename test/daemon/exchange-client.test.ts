// Goal: a daemon's signed command the exchange refuses as server_busy (9002, not executed) is sent
// again, the same signed bytes, after the wait the exchange asks for (longer each time), and given
// up after a few tries; any other error is not retried. Method: an ExchangeClient on a virtual clock
// over a requester that answers busy a chosen number of times.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualClock } from '../../src/clock.js';
import { identityFromPrivateKey } from '../../src/crypto/keys.js';
import { ExchangeClient, type ExchangeRequester } from '../../src/daemon/exchange-client.js';
import { ProtocolError } from '../../src/transport/errors.js';

const START_MS = Date.UTC(2026, 0, 1);

function setup(busyAnswers: number, failWith?: ProtocolError) {
  const clock = new VirtualClock(START_MS);
  const sent: Array<{ atMs: number; body: unknown }> = [];
  const requester: ExchangeRequester = {
    request: (async (_type: string, body: unknown) => {
      sent.push({ atMs: clock.now(), body });
      if (failWith !== undefined) throw failWith;
      if (sent.length <= busyAnswers) throw ProtocolError.of('server_busy', undefined, 100);
      return { bidId: 'b-1', state: 'resting' };
    }) as ExchangeRequester['request'],
  };
  const identity = identityFromPrivateKey(new Uint8Array(32).fill(7), 'testnet');
  const client = new ExchangeClient(requester, identity, 'exchange-1', clock);
  return { clock, sent, client };
}

/** Runs the virtual clock until `promise` settles. */
async function settle<T>(clock: VirtualClock, promise: Promise<T>): Promise<PromiseSettledResult<T>> {
  let result: PromiseSettledResult<T> | undefined;
  promise.then((value) => (result = { status: 'fulfilled', value }), (reason: unknown) => (result = { status: 'rejected', reason }));
  while (result === undefined) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const due = clock.nextDueMs();
    if (due !== undefined) clock.advanceTo(due);
  }
  return result;
}

test('a busy answer is waited out and the same signed command sent again, each wait longer', async () => {
  const { clock, sent, client } = setup(2);
  const result = await settle(clock, client.placeBid('article-1', 'buy', 1000));
  assert.equal(result.status, 'fulfilled');
  assert.equal(sent.length, 3);
  assert.deepEqual(sent.map((s) => s.atMs - START_MS), [0, 100, 300]);
  assert.deepEqual(sent[1]!.body, sent[0]!.body, 'the retry carries the same nonce and signature');
});

test('after five busy answers the client gives up with server_busy', async () => {
  const { clock, sent, client } = setup(100);
  const result = await settle(clock, client.withdrawBid('b-1'));
  assert.equal(result.status, 'rejected');
  assert.equal((result as PromiseRejectedResult).reason.errorName, 'server_busy');
  assert.equal(sent.length, 5);
});

test('an error other than busy is not retried', async () => {
  const { clock, sent, client } = setup(0, ProtocolError.of('not_authorized'));
  const result = await settle(clock, client.placeBid('article-1', 'buy', 1000));
  assert.equal(result.status, 'rejected');
  assert.equal(sent.length, 1);
});

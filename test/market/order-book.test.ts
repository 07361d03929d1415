// Goal: the order book (indexed heaps) always offers the bid a naive sorted list would offer:
// best price first, then earliest expiry, then earliest arrival; withdrawals from the middle
// keep it consistent; depth aggregates levels. Method: fast-check drives random inserts,
// removals and match queries against a sorted array and compares after every operation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crosses, OrderBook } from '../../src/market/order-book.js';
import type { BookEntry } from '../../src/market/order-book.js';

type Entry = BookEntry & { heapIndex: number };

function entry(seq: number, side: 'BUY' | 'SELL', priceSats: number, expiresMs: number): Entry {
  return { bidId: `b${seq}`, seq, participant: 'p', side, priceSats, expiresMs, heapIndex: -1 };
}

function naiveBest(entries: readonly Entry[], side: 'BUY' | 'SELL'): Entry | undefined {
  return entries
    .filter((e) => e.side === side)
    .sort((a, b) => (side === 'BUY' ? b.priceSats - a.priceSats : a.priceSats - b.priceSats) || a.expiresMs - b.expiresMs || a.seq - b.seq)[0];
}

test('the tie rule: same price, earlier expiry first, then earlier arrival', () => {
  const book = new OrderBook<Entry>();
  const late = entry(1, 'SELL', 100, 5_000);
  const early = entry(2, 'SELL', 100, 4_000);
  const sameExpiryLater = entry(3, 'SELL', 100, 4_000);
  for (const e of [late, early, sameExpiryLater]) book.insert(e);
  assert.equal(book.matchFor('BUY', 100), early);
  book.remove(early);
  assert.equal(book.matchFor('BUY', 100), sameExpiryLater);
  assert.equal(book.matchFor('BUY', 99), undefined, 'a BUY below the best SELL does not cross');
});

test('an avoid check skips to the best acceptable crossing bid, or to none', () => {
  const book = new OrderBook<Entry>();
  const avoided = { ...entry(1, 'SELL', 90, 1_000), participant: 'mallory' };
  const next = { ...entry(2, 'SELL', 95, 2_000), participant: 'sam' };
  const nextTie = { ...entry(3, 'SELL', 95, 1_500), participant: 'sue' };
  const tooDear = { ...entry(4, 'SELL', 120, 0), participant: 'ted' };
  for (const e of [avoided, next, nextTie, tooDear]) book.insert(e);
  const notMallory = (e: Entry) => e.participant !== 'mallory';
  assert.equal(book.matchFor('BUY', 100), avoided, 'without a check the best crossing bid');
  assert.equal(book.matchFor('BUY', 100, notMallory), nextTie, 'the best acceptable one: price, then expiry');
  assert.equal(book.matchFor('BUY', 100, (e) => e.participant === 'ted'), undefined, 'an acceptable bid that does not cross is no match');
  assert.equal(book.matchFor('BUY', 100, () => false), undefined);
});

test('crossing: SELL price at or below BUY price', () => {
  assert.equal(crosses('BUY', 100, entry(1, 'SELL', 100, 0)), true, 'equal prices cross');
  assert.equal(crosses('BUY', 100, entry(1, 'SELL', 101, 0)), false);
  assert.equal(crosses('SELL', 100, entry(1, 'BUY', 100, 0)), true);
  assert.equal(crosses('SELL', 100, entry(1, 'BUY', 99, 0)), false);
});

test('property: the book agrees with a sorted list under inserts, removals and queries', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('insert' as const), side: fc.constantFrom('BUY' as const, 'SELL' as const), price: fc.integer({ min: 90, max: 110 }), expires: fc.integer({ min: 0, max: 5 }) }),
    fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('query' as const), side: fc.constantFrom('BUY' as const, 'SELL' as const), price: fc.integer({ min: 85, max: 115 }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
      const book = new OrderBook<Entry>();
      const live: Entry[] = [];
      let seq = 0;
      for (const o of ops) {
        if (o.kind === 'insert') {
          const e = entry(++seq, o.side, o.price, o.expires);
          book.insert(e);
          live.push(e);
        } else if (o.kind === 'remove' && live.length > 0) {
          const [e] = live.splice(o.pick % live.length, 1);
          book.remove(e!);
        } else if (o.kind === 'query') {
          const best = naiveBest(live, o.side === 'BUY' ? 'SELL' : 'BUY');
          const expected = best !== undefined && crosses(o.side, o.price, best) ? best : undefined;
          assert.equal(book.matchFor(o.side, o.price), expected);
        }
        assert.equal(book.size, live.length);
        assert.equal(book.buys.peek(), naiveBest(live, 'BUY'));
        assert.equal(book.sells.peek(), naiveBest(live, 'SELL'));
      }
    }),
    { numRuns: 300 },
  );
});

test('depth aggregates price levels, best first, up to the asked number of levels', () => {
  const book = new OrderBook<Entry>();
  const entries = [entry(1, 'BUY', 95, 0), entry(2, 'BUY', 97, 0), entry(3, 'BUY', 97, 1), entry(4, 'SELL', 101, 0), entry(5, 'SELL', 103, 0)];
  for (const e of entries) book.insert(e);
  assert.deepEqual(book.depth(10), {
    bids: [{ priceSats: 97, count: 2 }, { priceSats: 95, count: 1 }],
    asks: [{ priceSats: 101, count: 1 }, { priceSats: 103, count: 1 }],
  });
  assert.deepEqual(book.depth(1).bids, [{ priceSats: 97, count: 2 }]);
  book.remove(entries[1]!);
  book.remove(entries[2]!);
  assert.deepEqual(book.depth(10).bids, [{ priceSats: 95, count: 1 }], 'an emptied level disappears');
  assert.throws(() => book.remove(entries[1]!), /not in this heap/, 'removing twice is a programmer error');
});

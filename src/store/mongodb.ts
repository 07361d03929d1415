// A Store on MongoDB through the official driver, for an exchange that outgrows one machine.
// Entries are documents { _id: key, v: BinData }; a batch runs in a multi-document transaction
// (MongoDB needs a replica set for that, which is also what makes writes durable: we write with
// majority write concern and journaling).
import { Binary, MongoClient, type Collection } from 'mongodb';
import { assert } from '../assert.js';
import { chunksOf, prefixEnd, STORE_KEY_BYTES_MAX, type ScanOptions, type Store, type StoreOperation } from './store.js';

interface Entry {
  _id: string;
  v: Binary;
}

export class MongoStore implements Store {
  readonly description: string;

  private constructor(
    private readonly client: MongoClient,
    private readonly collection: Collection<Entry>,
    url: string,
  ) {
    this.description = `mongodb:${url.replace(/\/\/[^@]*@/, '//***@')}`;
  }

  /** Connects and returns the store; `collectionName` separates stores in one database. */
  static async connect(url: string, options: { database?: string; collection?: string } = {}): Promise<MongoStore> {
    const client = new MongoClient(url, { writeConcern: { w: 'majority', journal: true }, serverSelectionTimeoutMS: 5000 });
    await client.connect();
    const collection = client.db(options.database ?? 'bitwrk').collection<Entry>(options.collection ?? 'store');
    return new MongoStore(client, collection, url);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const entry = await this.collection.findOne({ _id: key });
    return entry === null ? undefined : new Uint8Array(entry.v.buffer);
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    await this.batch([{ type: 'put', key, value }]);
  }

  async delete(key: string): Promise<void> {
    await this.batch([{ type: 'delete', key }]);
  }

  async batch(operations: readonly StoreOperation[]): Promise<void> {
    for (const operation of operations) assert(operation.key.length <= STORE_KEY_BYTES_MAX, 'store key too long');
    if (operations.length === 0) return;
    const writes = operations.map((operation) =>
      operation.type === 'put'
        ? { replaceOne: { filter: { _id: operation.key }, replacement: { _id: operation.key, v: new Binary(operation.value) }, upsert: true } }
        : { deleteOne: { filter: { _id: operation.key } } },
    );
    const session = this.client.startSession();
    try {
      await session.withTransaction(async () => {
        await this.collection.bulkWrite(writes, { session, ordered: true });
      });
    } finally {
      await session.endSession();
    }
  }

  async *scan(prefix: string, options: ScanOptions = {}): AsyncIterable<readonly [string, Uint8Array]> {
    const reverse = options.reverse === true;
    const range: Record<string, string> = { $gte: prefix, $lt: prefixEnd(prefix) };
    if (options.from !== undefined) range[reverse ? '$lte' : '$gte'] = options.from;
    let cursor = this.collection.find({ _id: range }).sort({ _id: reverse ? -1 : 1 });
    if (options.limit !== undefined) cursor = cursor.limit(options.limit);
    for await (const entry of cursor) yield [entry._id, new Uint8Array(entry.v.buffer)] as const;
  }

  scanChunks(prefix: string, options: ScanOptions = {}): AsyncIterable<ReadonlyArray<readonly [string, Uint8Array]>> {
    return chunksOf(this.scan(prefix, options));
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

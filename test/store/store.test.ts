// Goal: every Store adapter keeps the same contract. Method: the shared suite in contract.ts
// against the memory store, the embedded lmdb store (real files in a temporary directory) and,
// when MONGODB_URL is set, a real MongoDB (no server can be installed on these machines, so the
// MongoDB run is skipped here and says so).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbStore } from '../../src/store/lmdb.js';
import { MemoryStore } from '../../src/store/memory.js';
import { MongoStore } from '../../src/store/mongodb.js';
import { storeContract } from './contract.js';

storeContract('memory', async () => new MemoryStore());
storeContract('lmdb', async () => new LmdbStore(join(mkdtempSync(join(tmpdir(), 'bitwrk-lmdb-')), 'db')));

const mongoUrl = process.env['MONGODB_URL'];
let mongoRun = 0;
if (mongoUrl === undefined) console.log('MongoDB store contract skipped: set MONGODB_URL to run it against a real server');
storeContract(
  'mongodb',
  async () => MongoStore.connect(mongoUrl!, { collection: `contract_${process.pid}_${++mongoRun}` }),
  mongoUrl === undefined ? { skip: 'MONGODB_URL is not set (no MongoDB server on this machine)' } : {},
);

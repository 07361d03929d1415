// Goal: the transaction messages' wire table is fixed (the server signs fields in this order)
// and field checks accept exactly the well-formed messages. Method: the declared table compared
// with a literal copy, then one line per malformed field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTxMessageType, TX_MESSAGE_FIELDS, txFieldsValid } from '../../src/market/tx-messages.js';

const HASH = 'ab'.repeat(32);
const SIGNATURE = `${'A'.repeat(86)}E=`;

test('the signed wire table: senders and field order never change', () => {
  const table = Object.fromEntries(Object.entries(TX_MESSAGE_FIELDS).map(([type, rule]) => [type, [rule.sender, ...rule.fields]]));
  assert.deepEqual(table, {
    workhash: ['buyer', 'workhash', 'worksecrethash'],
    workerurl: ['seller', 'workerurl'],
    buyersecret: ['seller', 'buyersecret'],
    rejectwork: ['seller', 'reason'],
    encresult: ['seller', 'encresulthash', 'encresulthashsig', 'encresultkey', 'resulthash'],
    rejectresult: ['buyer', 'reason'],
    acceptresult: ['buyer'],
  });
  assert.equal(isTxMessageType('workhash'), true);
  assert.equal(isTxMessageType('toString'), false, 'no prototype keys');
});

test('well-formed fields pass, one line per malformed case fails', () => {
  assert.equal(txFieldsValid('workhash', { workhash: HASH, worksecrethash: HASH }), true);
  assert.equal(txFieldsValid('encresult', { encresulthash: HASH, encresulthashsig: SIGNATURE, encresultkey: HASH, resulthash: '5e'.repeat(32) }), true);
  assert.equal(txFieldsValid('workerurl', { workerurl: 'wss://relay.example/s/1' }), true);
  assert.equal(txFieldsValid('acceptresult', {}), true);
  assert.equal(txFieldsValid('rejectresult', { reason: '' }), true, 'a reason may be empty');
  const bad: Array<[keyof typeof TX_MESSAGE_FIELDS, unknown]> = [
    ['workhash', { workhash: HASH }],
    ['workhash', { workhash: HASH, worksecrethash: HASH, extra: 'x' }],
    ['workhash', { workhash: HASH.toUpperCase(), worksecrethash: HASH }],
    ['workhash', { workhash: HASH.slice(2), worksecrethash: HASH }],
    ['workhash', { workhash: 42, worksecrethash: HASH }],
    ['workerurl', { workerurl: 'ftp://seller.example/' }],
    ['workerurl', { workerurl: 'http://seller .example/' }],
    ['workerurl', { workerurl: `https://${'a'.repeat(250)}` }],
    ['encresult', { encresulthash: HASH, encresulthashsig: `${'A'.repeat(86)}B=`, encresultkey: HASH, resulthash: '5e'.repeat(32) }],
    ['encresult', { encresulthash: HASH, encresulthashsig: 'A'.repeat(88), encresultkey: HASH, resulthash: '5e'.repeat(32) }],
    ['rejectwork', { reason: 'line\nbreak' }],
    ['rejectwork', { reason: 'x'.repeat(257) }],
    ['acceptresult', null],
    ['acceptresult', []],
  ];
  for (const [type, fields] of bad) assert.equal(txFieldsValid(type, fields), false, `${type} ${JSON.stringify(fields)}`);
});

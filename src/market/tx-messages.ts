// Transaction messages as they travel on the wire: the type, who may send it, and its fields in
// a declared order. The server layer builds the signed text from this table (fields in this
// order, plus the txid and nonce it adds), so the table is part of the signed protocol: append
// new messages, never reorder or rename fields. Names follow the original (reference §2.5).
import { REASON_CHARS_MAX, WORKER_URL_CHARS_MAX } from './limits.js';
import type { TxEvent } from '../machines/transaction.js';

export type TxParty = 'buyer' | 'seller';

export const TX_MESSAGE_FIELDS = {
  workhash: { sender: 'buyer', fields: ['workhash', 'worksecrethash'], event: 'WORK' },
  workerurl: { sender: 'seller', fields: ['workerurl'], event: 'WORKER_URL' },
  buyersecret: { sender: 'seller', fields: ['buyersecret'], event: 'BUYER_SECRET' },
  rejectwork: { sender: 'seller', fields: ['reason'], event: 'REJECT_WORK' },
  encresult: {
    sender: 'seller',
    fields: ['encresulthash', 'encresulthashsig', 'encresultkey', 'resulthash'],
    event: 'ENC_RESULT',
  },
  rejectresult: { sender: 'buyer', fields: ['reason'], event: 'REJECT_RESULT' },
  acceptresult: { sender: 'buyer', fields: [], event: 'ACCEPT_RESULT' },
} as const satisfies Record<
  string,
  { readonly sender: TxParty; readonly fields: readonly string[]; readonly event: TxEvent['type'] }
>;

export type TxMessageType = keyof typeof TX_MESSAGE_FIELDS;
export type TxMessageFields = Readonly<Record<string, string>>;

export function isTxMessageType(value: unknown): value is TxMessageType {
  return typeof value === 'string' && Object.hasOwn(TX_MESSAGE_FIELDS, value);
}

const HEX_32_BYTES = /^[0-9a-f]{64}$/;
/**
 * The result key as the seller publishes it: sealed to the buyer (docs/protocol.md §12), 32 to
 * 200 bytes of lowercase hex; the core cannot open it and does not need to.
 */
const SEALED_KEY = /^(?:[0-9a-f]{2}){32,200}$/;
/** 65 bytes in standard base64 (a Bitcoin signed-message signature). */
const BASE64_65_BYTES = /^[A-Za-z0-9+/]{86}[AEIMQUYcgkosw048]=$/;
/** http(s) for direct transfer, ws(s) for a relay; printable ASCII without spaces. */
const WORKER_URL = /^(https?|wss?):\/\/[\x21-\x7e]+$/;
/** A printable one-line reason (any Unicode letter, no control characters). */
const REASON = /^[^\p{Cc}]*$/u;

const FIELD_CHECKS: Readonly<Record<string, (value: string) => boolean>> = {
  workhash: (value) => HEX_32_BYTES.test(value),
  worksecrethash: (value) => HEX_32_BYTES.test(value),
  buyersecret: (value) => HEX_32_BYTES.test(value),
  encresulthash: (value) => HEX_32_BYTES.test(value),
  resulthash: (value) => HEX_32_BYTES.test(value),
  encresultkey: (value) => SEALED_KEY.test(value),
  encresulthashsig: (value) => BASE64_65_BYTES.test(value),
  workerurl: (value) => value.length <= WORKER_URL_CHARS_MAX && WORKER_URL.test(value),
  reason: (value) => value.length <= REASON_CHARS_MAX && REASON.test(value),
};

/** True when `fields` has exactly the message's fields, each well formed. */
export function txFieldsValid(type: TxMessageType, fields: unknown): fields is TxMessageFields {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return false;
  const declared: readonly string[] = TX_MESSAGE_FIELDS[type].fields;
  const names = Object.keys(fields);
  if (names.length !== declared.length) return false;
  for (const name of declared) {
    const value = (fields as Record<string, unknown>)[name];
    if (typeof value !== 'string' || !Object.hasOwn(fields, name)) return false;
    if (!FIELD_CHECKS[name]!(value)) return false;
  }
  return true;
}

/** The machine event for a message whose fields passed `txFieldsValid`. */
export function txEventOf(
  type: TxMessageType,
  fields: TxMessageFields,
  nowMs: number,
  receiptVerified: boolean,
): TxEvent {
  const field = (name: string): string => fields[name]!;
  switch (type) {
    case 'workhash':
      return { type: 'WORK', nowMs, workHash: field('workhash'), workSecretHash: field('worksecrethash') };
    case 'workerurl':
      return { type: 'WORKER_URL', nowMs, workerUrl: field('workerurl') };
    case 'buyersecret':
      return { type: 'BUYER_SECRET', nowMs, buyerSecret: field('buyersecret') };
    case 'rejectwork':
      return { type: 'REJECT_WORK', nowMs, reason: field('reason') };
    case 'encresult':
      return {
        type: 'ENC_RESULT',
        nowMs,
        encResultHash: field('encresulthash'),
        encResultHashSig: field('encresulthashsig'),
        encResultKey: field('encresultkey'),
        resultHash: field('resulthash'),
        receiptVerified,
      };
    case 'rejectresult':
      return { type: 'REJECT_RESULT', nowMs, reason: field('reason') };
    case 'acceptresult':
      return { type: 'ACCEPT_RESULT', nowMs };
  }
}

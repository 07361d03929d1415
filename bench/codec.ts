// Codec benchmark: encode and decode per second of a bid-sized message, our checked path
// (size limit + structural scan + msgpackr + schema) against plain msgpackr and JSON.
import { Packr } from 'msgpackr';
import { z } from 'zod';
import { decodeUntrusted, encode, validate } from '../src/transport/codec.js';
import { benchOptions, measureRate, printFigures, round } from './support.js';

const bid = {
  v: 1,
  kind: 'request',
  id: 123456,
  type: 'placeBid',
  body: {
    article: 'net.bitwrk/blender/0/3.4/512M',
    side: 'buy',
    priceSats: 125_000,
    address: '1BitWrkExampLeAddressxxxxxxxxxxxxx',
    nonce: '1764040000000-9f86d081884c7d659a2feaa0c55ad015',
    signature: new Uint8Array(65).fill(7),
  },
};
const bodySchema = z.object({
  article: z.string().max(128),
  side: z.enum(['buy', 'sell']),
  priceSats: z.number().int().min(0),
  address: z.string().max(64),
  nonce: z.string().max(64),
  signature: z.instanceof(Uint8Array),
});
const jsonBid = { ...bid, body: { ...bid.body, signature: Buffer.from(bid.body.signature).toString('base64') } };

const options = benchOptions();
const durationMs = options.quick ? 1500 : 4000;
const batch = 1000;
const frame = encode(bid);
const jsonText = JSON.stringify(jsonBid);
const plain = new Packr({ useRecords: false, mapsAsObjects: true });
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const figures = {
  messageBytes: frame.byteLength,
  jsonBytes: encoder.encode(jsonText).byteLength,
  encodePerSecond: round(measureRate(() => { for (let i = 0; i < batch; i++) encode(bid); return batch; }, durationMs)),
  jsonEncodePerSecond: round(measureRate(() => { for (let i = 0; i < batch; i++) encoder.encode(JSON.stringify(jsonBid)); return batch; }, durationMs)),
  decodeCheckedPerSecond: round(measureRate(() => {
    for (let i = 0; i < batch; i++) {
      const decoded = decodeUntrusted(frame);
      if (decoded.ok) validate(bodySchema, (decoded.value as { body: unknown }).body, 'invalid_body');
    }
    return batch;
  }, durationMs)),
  decodeUnvalidatedPerSecond: round(measureRate(() => { for (let i = 0; i < batch; i++) decodeUntrusted(frame); return batch; }, durationMs)),
  decodeRawMsgpackrPerSecond: round(measureRate(() => { for (let i = 0; i < batch; i++) plain.unpack(frame); return batch; }, durationMs)),
  jsonDecodePerSecond: round(measureRate(() => {
    const bytes = encoder.encode(jsonText);
    for (let i = 0; i < batch; i++) JSON.parse(decoder.decode(bytes));
    return batch;
  }, durationMs)),
};
printFigures('codec', {
  ...figures,
  encodeRatioToJson: round(figures.encodePerSecond / figures.jsonEncodePerSecond, 2),
  decodeCheckedRatioToJson: round(figures.decodeCheckedPerSecond / figures.jsonDecodePerSecond, 2),
});

// Goal: the seller's worker reads exactly what the buyer wrote, and refuses anything else with
// a JobFormatError that says what is wrong (never a crash, never a file outside the job).
// Method: round trips over generated headers and payloads (fast-check); a table of hostile jobs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeJob, encodeJobHeader, JobFormatError, JOB_MAGIC, type JobHeader } from '../../src/blender/job.js';

const NAME = 'a'.repeat(40);

function job(header: JobHeader, parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat([encodeJobHeader(header), ...parts]);
}

test('a job decodes to the header, resources and .blend it was made of', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 5 }), fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 4000 }), (resources, blend, width) => {
      const named = resources.map((bytes, i) => ({ name: `${i.toString(16).padStart(40, '0')}.png`, bytes }));
      const header: JobHeader = { frame: 3, width, height: 10, rendered: { x: 0, y: 0, width, height: 10 }, resources: named.map(({ name, bytes }) => ({ name, size: bytes.length })), blendSize: blend.length };
      const decoded = decodeJob(job(header, [...named.map((entry) => entry.bytes), blend]));
      assert.deepEqual(decoded.header, header);
      for (const { name, bytes } of named) assert.deepEqual(new Uint8Array(decoded.resources.get(name)!), bytes);
      assert.deepEqual(new Uint8Array(decoded.blend), blend);
    }),
  );
});

test('hostile jobs are refused, saying why', () => {
  const header: JobHeader = { frame: 1, width: 100, height: 50, rendered: { x: 10, y: 10, width: 20, height: 20 }, resources: [{ name: `${NAME}.png`, size: 3 }], blendSize: 4 };
  const good = job(header, [Buffer.from('png'), Buffer.from('blnd')]);
  const withHeader = (changes: Record<string, unknown>, tail: Uint8Array = Buffer.from('pngblnd')): Uint8Array => {
    const json = Buffer.from(JSON.stringify({ ...header, ...changes }));
    const head = Buffer.alloc(12);
    head.write(JOB_MAGIC, 0, 'latin1');
    head.writeUInt32BE(json.length, 8);
    return Buffer.concat([head, json, tail]);
  };
  const lengthOf = (length: number): Uint8Array => {
    const bytes = Buffer.from(good);
    bytes.writeUInt32BE(length, 8);
    return bytes;
  };
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['empty', new Uint8Array(), /not a BitWrk Blender job/],
    ['another format', Buffer.from('BLENDER-v300 and more bytes'), /not a BitWrk Blender job/],
    ['header length past the end', lengthOf(1 << 20), /header length/],
    ['header not JSON', Buffer.concat([Buffer.from(JOB_MAGIC), Buffer.from([0, 0, 0, 3]), Buffer.from('{{{')]), /not JSON/],
    ['a path out of the job', withHeader({ resources: [{ name: '../../.bashrc', size: 3 }] }), /resource name/],
    ['a hidden file in a sequence folder', withHeader({ resources: [{ name: `${NAME}/..`, size: 3 }] }), /resource name/],
    ['an absolute path', withHeader({ resources: [{ name: '/etc/passwd', size: 3 }] }), /resource name/],
    ['a resource named twice', withHeader({ resources: [{ name: `${NAME}.png`, size: 1 }, { name: `${NAME}.png`, size: 2 }] }), /named twice/],
    ['a rectangle outside the frame', withHeader({ rendered: { x: 90, y: 0, width: 20, height: 10 } }), /not inside the frame/],
    ['a negative size', withHeader({ blendSize: -4 }), /not valid/],
    ['sizes that do not add up', withHeader({ blendSize: 400 }), /announces/],
    ['trailing bytes', Buffer.concat([good, Buffer.from('x')]), /announces/],
    ['an unknown field', withHeader({ script: 'import os' }), /not valid/],
  ];
  assert.doesNotThrow(() => decodeJob(good));
  for (const [what, bytes, message] of cases) {
    assert.throws(() => decodeJob(bytes), (error: unknown) => error instanceof JobFormatError && message.test((error as Error).message), what);
  }
});

// The work of one Blender job (one tile of one frame), as the buyer sends it and the seller's
// worker reads it:
//
//   "BWBLEND1"                      8 bytes, the format and its version
//   header length                   4 bytes, unsigned big-endian, at most HEADER_BYTES_MAX
//   header                          JSON (UTF-8), see JobHeader
//   each resource, in header order  its bytes (resources[i].size of them)
//   the packed .blend               blendSize bytes
//
// The small header that differs per tile and frame comes first; the large parts that are the same
// for every tile follow, so CAFS's content-defined chunks of them are shared between all jobs of a
// scene, and a seller that holds them already is sent only the first chunk or two.
import { z } from 'zod';

export const JOB_MAGIC = 'BWBLEND1';
export const HEADER_BYTES_MAX = 64 * 1024;
export const RESOURCES_MAX = 10_000;
/** A job is bounded by what the daemon accepts as work. */
export const JOB_BYTES_MAX = 1024 * 1024 * 1024;

const rect = z.strictObject({
  x: z.int().min(0),
  y: z.int().min(0),
  width: z.int().min(1),
  height: z.int().min(1),
});

/** A resource's name inside the job: its place under rsrc/ beside the .blend (pack.py names them). */
const RESOURCE_NAME = /^[0-9a-f]{40}(\.[a-z0-9]{1,8})?$|^[0-9a-f]{40}\/[A-Za-z0-9_][A-Za-z0-9._ -]{0,199}$/;

export const jobHeader = z
  .strictObject({
    frame: z.int().min(-1_048_574).max(1_048_574),
    /** The frame's size in pixels, as the scene gives it (the worker checks it). */
    width: z.int().min(1).max(65_536),
    height: z.int().min(1).max(65_536),
    /** The rectangle to render (the tile and its overscan), y = 0 at the bottom. */
    rendered: rect,
    resources: z.array(z.strictObject({ name: z.string().regex(RESOURCE_NAME, 'not a resource name of pack.py'), size: z.int().min(0) })).max(RESOURCES_MAX),
    blendSize: z.int().min(1),
  })
  .refine((header) => header.rendered.x + header.rendered.width <= header.width && header.rendered.y + header.rendered.height <= header.height, {
    message: 'the rendered rectangle is not inside the frame',
  })
  .refine((header) => new Set(header.resources.map((resource) => resource.name)).size === header.resources.length, { message: 'a resource is named twice' });
export type JobHeader = z.output<typeof jobHeader>;

export class JobFormatError extends Error {
  override name = 'JobFormatError';
}

/** The bytes that come before the shared payload. */
export function encodeJobHeader(header: JobHeader): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  if (json.length > HEADER_BYTES_MAX) throw new JobFormatError(`the job header is ${json.length} bytes, more than ${HEADER_BYTES_MAX}`);
  const head = Buffer.alloc(JOB_MAGIC.length + 4);
  head.write(JOB_MAGIC, 0, 'latin1');
  head.writeUInt32BE(json.length, JOB_MAGIC.length);
  return Buffer.concat([head, json]);
}

export interface DecodedJob {
  readonly header: JobHeader;
  /** Each resource's bytes, by name. */
  readonly resources: ReadonlyMap<string, Uint8Array>;
  readonly blend: Uint8Array;
}

/** The most a job's start can take before its scene: magic, header length and header. */
export const JOB_HEAD_BYTES_MAX = JOB_MAGIC.length + 4 + HEADER_BYTES_MAX;

/**
 * A job's header from the job's first bytes (JOB_HEAD_BYTES_MAX are enough, the whole job will
 * do), checked against the job's whole size; a JobFormatError says what is wrong.
 */
export function decodeJobHeader(head: Uint8Array, jobSize: number): { readonly header: JobHeader; readonly headerEnd: number } {
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (bytes.length < JOB_MAGIC.length + 4 || bytes.toString('latin1', 0, JOB_MAGIC.length) !== JOB_MAGIC) {
    throw new JobFormatError(`not a BitWrk Blender job (it does not start with "${JOB_MAGIC}")`);
  }
  const headerLength = bytes.readUInt32BE(JOB_MAGIC.length);
  const start = JOB_MAGIC.length + 4;
  if (headerLength > HEADER_BYTES_MAX || start + headerLength > bytes.length) throw new JobFormatError(`the header length ${headerLength} is too large`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8', start, start + headerLength));
  } catch (error) {
    throw new JobFormatError(`the header is not JSON: ${(error as Error).message}`);
  }
  const checked = jobHeader.safeParse(parsed);
  if (!checked.success) throw new JobFormatError(`the header is not valid: ${z.prettifyError(checked.error).replace(/\n/g, '; ')}`);
  const header = checked.data;
  const headerEnd = start + headerLength;
  const expected = headerEnd + header.resources.reduce((sum, resource) => sum + resource.size, 0) + header.blendSize;
  if (expected !== jobSize) throw new JobFormatError(`the header announces ${expected} bytes in all, the job has ${jobSize}`);
  return { header, headerEnd };
}

/** Reads a job, checking every length against the bytes there are; a JobFormatError says what is wrong. */
export function decodeJob(work: Uint8Array): DecodedJob {
  const { header, headerEnd } = decodeJobHeader(work, work.length);
  let offset = headerEnd;
  const resources = new Map<string, Uint8Array>();
  for (const resource of header.resources) {
    resources.set(resource.name, work.subarray(offset, offset + resource.size));
    offset += resource.size;
  }
  return { header, resources, blend: work.subarray(offset, offset + header.blendSize) };
}

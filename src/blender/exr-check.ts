// The buyer's structural check of a Blender tile before it signs the receipt that pays for it: the
// result must be an OpenEXR image as the seller's worker writes it (single-part scanline, half or
// float channels, at least R, G and B, possibly as "Layer.Combined.R"), of exactly the rendered
// rectangle the job asked for, with a chunk offset table that points inside the file, stored as
// the worker writes it (ZIP, or uncompressed) and with no NaN or infinite value in any pixel (the
// pixels are decoded). A tile whose pixels are wrong but finite passes this check: it is caught
// when the frame is stitched, and bought again from another seller.
import { inflateSync } from 'node:zlib';
import { decodeJobHeader, JobFormatError } from './job.js';

const EXR_MAGIC = 20000630;
const FLAG_TILED = 0x200;
const FLAG_NON_IMAGE = 0x800;
const FLAG_MULTIPART = 0x1000;
/** Scanlines per chunk, by compression (OpenEXR's NONE, RLE, ZIPS, ZIP, PIZ, PXR24, B44, B44A, DWAA, DWAB). */
const LINES_PER_CHUNK = [1, 1, 1, 16, 32, 16, 32, 32, 32, 256];
const HEADER_BYTES_MAX = 1024 * 1024;
/** The compressions whose pixels this check decodes: what the worker writes (ZIP) and none. */
const COMPRESSION_NONE = 0;
const COMPRESSION_ZIPS = 2;
const COMPRESSION_ZIP = 3;
/** Bytes per value by pixel type (UINT, HALF, FLOAT). */
const PIXEL_BYTES = [4, 2, 4];
const CHANNELS_MAX = 1024;

interface ExrHeader {
  readonly width: number;
  readonly height: number;
  readonly channels: readonly { readonly name: string; readonly pixelType: number }[];
  readonly compression: number;
  /** Where the offset table starts. */
  readonly end: number;
}

class ExrError extends Error {}

function readString(bytes: Buffer, offset: number, limit: number): [string, number] {
  const end = bytes.indexOf(0, offset);
  if (end < 0 || end - offset > limit) throw new ExrError('a header name is not terminated');
  return [bytes.toString('latin1', offset, end), end + 1];
}

function readHeader(bytes: Buffer): ExrHeader {
  if (bytes.length < 8 || bytes.readInt32LE(0) !== EXR_MAGIC) throw new ExrError('it is not an OpenEXR file');
  const version = bytes.readUInt32LE(4);
  if ((version & 0xff) !== 2) throw new ExrError(`OpenEXR version ${version & 0xff}, not 2`);
  if ((version & (FLAG_TILED | FLAG_NON_IMAGE | FLAG_MULTIPART)) !== 0) throw new ExrError('it is tiled, deep or multi-part, not a scanline image');
  let offset = 8;
  let width: number | undefined;
  let height: number | undefined;
  let compression: number | undefined;
  let channels: { name: string; pixelType: number }[] | undefined;
  for (;;) {
    if (offset >= Math.min(bytes.length, HEADER_BYTES_MAX)) throw new ExrError('the header does not end');
    const [name, afterName] = readString(bytes, offset, 255);
    if (name === '') {
      offset = afterName;
      break;
    }
    const [type, afterType] = readString(bytes, afterName, 255);
    if (afterType + 4 > bytes.length) throw new ExrError(`attribute ${name} is cut off`);
    const size = bytes.readInt32LE(afterType);
    const value = afterType + 4;
    if (size < 0 || value + size > bytes.length) throw new ExrError(`attribute ${name} is cut off`);
    if (name === 'dataWindow' && type === 'box2i' && size === 16) {
      const [xMin, yMin, xMax, yMax] = [0, 4, 8, 12].map((at) => bytes.readInt32LE(value + at)) as [number, number, number, number];
      if (xMax < xMin || yMax < yMin) throw new ExrError('the data window is empty');
      width = xMax - xMin + 1;
      height = yMax - yMin + 1;
    } else if (name === 'compression' && type === 'compression' && size === 1) {
      compression = bytes.readUInt8(value);
    } else if (name === 'channels' && type === 'chlist') {
      channels = [];
      let at = value;
      while (at < value + size && bytes[at] !== 0) {
        const [channel, afterChannel] = readString(bytes, at, 255);
        if (afterChannel + 16 > value + size) throw new ExrError('the channel list is cut off');
        channels.push({ name: channel, pixelType: bytes.readInt32LE(afterChannel) });
        if (channels.length > CHANNELS_MAX) throw new ExrError('too many channels');
        at = afterChannel + 16;
      }
    }
    offset = value + size;
  }
  if (width === undefined || height === undefined) throw new ExrError('the header has no data window');
  if (compression === undefined || compression >= LINES_PER_CHUNK.length) throw new ExrError('the header has no known compression');
  if (channels === undefined || channels.length === 0) throw new ExrError('the header has no channels');
  return { width, height, channels, compression, end: offset };
}

/** The attributes OpenEXR requires of a scanline image; a normalised tile carries these only. */
const REQUIRED_ATTRIBUTES: ReadonlySet<string> = new Set(['channels', 'compression', 'dataWindow', 'displayWindow', 'lineOrder', 'pixelAspectRatio', 'screenWindowCenter', 'screenWindowWidth']);

/**
 * The seller's tile with only the attributes OpenEXR requires: Blender also writes the render's
 * date, its times, the scene file's path on the seller's machine and other metadata, which would
 * leak the seller's details to the buyer and make two renders of the same work differ in their
 * bytes (so that their result hashes could not be compared). The pixels, the chunks and their
 * order are kept; the chunk offsets move by the bytes removed. Throws for a file this module does
 * not read (the worker then refuses the job).
 */
export function normalizeExr(result: Uint8Array): Uint8Array {
  const bytes = Buffer.from(result.buffer, result.byteOffset, result.byteLength);
  let header: ExrHeader;
  try {
    header = readHeader(bytes);
  } catch (error) {
    if (error instanceof ExrError) throw new Error(`not an EXR image the worker can normalise: ${error.message}`);
    throw error;
  }
  const kept: Buffer[] = [bytes.subarray(0, 8)];
  for (let offset = 8; ; ) {
    const [name, afterName] = readString(bytes, offset, 255);
    if (name === '') break;
    const [, afterType] = readString(bytes, afterName, 255);
    const end = afterType + 4 + bytes.readInt32LE(afterType);
    if (REQUIRED_ATTRIBUTES.has(name)) kept.push(bytes.subarray(offset, end));
    offset = end;
  }
  kept.push(Buffer.from([0]));
  const newHeader = Buffer.concat(kept);
  const removed = header.end - newHeader.length;
  const chunks = Math.ceil(header.height / LINES_PER_CHUNK[header.compression]!);
  const table = Buffer.from(bytes.subarray(header.end, header.end + chunks * 8));
  if (table.length !== chunks * 8) throw new Error('not an EXR image the worker can normalise: the chunk offset table is cut off');
  for (let chunk = 0; chunk < chunks; chunk++) table.writeBigUInt64LE(table.readBigUInt64LE(chunk * 8) - BigInt(removed), chunk * 8);
  return new Uint8Array(Buffer.concat([newHeader, table, bytes.subarray(header.end + chunks * 8)]));
}

/**
 * Why `result` is not the image the Blender job asked for, or null when it is well-formed. `work`
 * is the job, or its first JOB_HEAD_BYTES_MAX bytes of `workSize` (the header is all it reads).
 */
export function checkBlenderTile(work: Uint8Array, result: Uint8Array, workSize = work.length): string | null {
  let rendered;
  try {
    rendered = decodeJobHeader(work, workSize).header.rendered;
  } catch (error) {
    if (error instanceof JobFormatError) return `the work is not a Blender job: ${error.message}`;
    throw error;
  }
  const bytes = Buffer.from(result.buffer, result.byteOffset, result.byteLength);
  try {
    const header = readHeader(bytes);
    if (header.width !== rendered.width || header.height !== rendered.height) {
      return `the image is ${header.width} x ${header.height} pixels, the tile ${rendered.width} x ${rendered.height}`;
    }
    const names = header.channels.map((channel) => channel.name.split('.').pop());
    for (const needed of ['R', 'G', 'B']) if (!names.includes(needed)) return `the image has no ${needed} channel`;
    const notFloat = header.channels.find((channel) => channel.pixelType !== 1 && channel.pixelType !== 2);
    if (notFloat !== undefined) return `channel ${notFloat.name} is not half or float`;
    const image = readPixels(bytes, header);
    if (typeof image === 'string') return image;
    for (const channel of image.channels) {
      const at = channel.values.findIndex((value) => !Number.isFinite(value));
      if (at >= 0) return `channel ${channel.name} has a NaN or infinite value at x ${at % image.width}, y ${Math.floor(at / image.width)}`;
    }
    return null;
  } catch (error) {
    if (error instanceof ExrError) return `the result is not a float EXR image: ${error.message}`;
    throw error;
  }
}

/** A chunk's pixel bytes: stored as they are when compressing did not help, else ZIP (zlib, a delta predictor, two interleaved halves). */
function chunkPixels(data: Buffer, size: number): Buffer | string {
  if (data.length === size) return data;
  let packed: Buffer;
  try {
    packed = inflateSync(data, { maxOutputLength: size });
  } catch {
    return 'the compressed pixels do not inflate to the chunk\'s size';
  }
  if (packed.length !== size) return `the pixels inflate to ${packed.length} bytes, not ${size}`;
  for (let i = 1; i < packed.length; i++) packed[i] = (packed[i - 1]! + packed[i]! - 128) & 0xff;
  const pixels = Buffer.alloc(size);
  const half = (size + 1) >> 1;
  for (let i = 0; i < size; i++) pixels[i] = packed[(i & 1) === 0 ? i >> 1 : half + (i >> 1)]!;
  return pixels;
}

/** A decoded image: each channel's values, row by row from the data window's top. */
export interface ExrImage {
  readonly width: number;
  readonly height: number;
  readonly channels: readonly { readonly name: string; readonly values: Float32Array }[];
}

/** Decodes a scanline EXR as the worker writes it (ZIP or uncompressed; half or float); why not, as a string. */
export function decodeExr(result: Uint8Array): ExrImage | string {
  const bytes = Buffer.from(result.buffer, result.byteOffset, result.byteLength);
  try {
    const header = readHeader(bytes);
    const notFloat = header.channels.find((channel) => channel.pixelType !== 1 && channel.pixelType !== 2);
    if (notFloat !== undefined) return `channel ${notFloat.name} is not half or float`;
    return readPixels(bytes, header);
  } catch (error) {
    if (error instanceof ExrError) return `not a float EXR image: ${error.message}`;
    throw error;
  }
}

function readPixels(bytes: Buffer, header: ExrHeader): ExrImage | string {
  if (![COMPRESSION_NONE, COMPRESSION_ZIPS, COMPRESSION_ZIP].includes(header.compression)) {
    return `compression ${header.compression} is not what the worker writes (ZIP or none)`;
  }
  const { width, height } = header;
  const linesPerChunk = LINES_PER_CHUNK[header.compression]!;
  const chunks = Math.ceil(height / linesPerChunk);
  const tableEnd = header.end + chunks * 8;
  if (tableEnd > bytes.length) return 'the chunk offset table is cut off';
  const lineBytes = header.channels.reduce((sum, channel) => sum + PIXEL_BYTES[channel.pixelType]! * width, 0);
  const channels = header.channels.map((channel) => ({ name: channel.name, pixelType: channel.pixelType, values: new Float32Array(width * height) }));
  for (let chunk = 0; chunk < chunks; chunk++) {
    const at = Number(bytes.readBigUInt64LE(header.end + chunk * 8));
    // Each chunk starts after the table: its y coordinate, its data size, then that much data.
    if (at < tableEnd || at + 8 > bytes.length) return `chunk ${chunk} lies outside the file`;
    const dataSize = bytes.readInt32LE(at + 4);
    if (dataSize < 0 || at + 8 + dataSize > bytes.length) return `chunk ${chunk} is cut off`;
    const lines = Math.min(linesPerChunk, height - chunk * linesPerChunk);
    const pixels = chunkPixels(bytes.subarray(at + 8, at + 8 + dataSize), lines * lineBytes);
    if (typeof pixels === 'string') return `chunk ${chunk}: ${pixels}`;
    // Chunks are in increasing y: within one, each line holds every channel's `width` values in turn.
    let offset = 0;
    for (let line = 0; line < lines; line++) {
      const row = (chunk * linesPerChunk + line) * width;
      for (const channel of channels) {
        for (let x = 0; x < width; x++) {
          channel.values[row + x] = channel.pixelType === 1 ? halfToFloat(pixels.readUInt16LE(offset)) : pixels.readFloatLE(offset);
          offset += PIXEL_BYTES[channel.pixelType]!;
        }
      }
    }
  }
  return { width, height, channels: channels.map(({ name, values }) => ({ name, values })) };
}

/** IEEE 754 half precision to a number (NaN and infinities kept). */
function halfToFloat(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >> 10) & 0x1f;
  const fraction = half & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

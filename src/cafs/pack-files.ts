// Chunks appended to pack files: one sequential write per chunk into the active pack instead of
// a file created and renamed per chunk. A record is a 40-byte header (magic, length, key) and the
// chunk's bytes. The index (key -> pack, offset, length) lives in memory and is rebuilt at open
// by reading the headers; a torn tail (a crash mid-append) fails the magic or runs past the end
// of the pack and is cut off. Reads are checked against the key by the store, so a record whose
// bytes went bad is an error, never data. Removed chunks leave dead bytes; a pack that is mostly
// dead is compacted (its live chunks appended anew, then the pack deleted; a crash in between
// leaves duplicates, and the first copy found wins). A removal is kept in memory only: until its
// pack is compacted, a restart finds the chunk again, unheld, and the next collection removes it.
import { closeSync, existsSync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readSync, rmSync, writeSync } from 'node:fs';
import { read as readAt } from 'node:fs';
import { join } from 'node:path';
import { assert } from '../assert.js';
import { MissingChunkError } from './chunk-store.js';
import { CHUNK_BYTES_MAX } from './limits.js';

/** 'BWP1': marks the start of every record. */
const RECORD_MAGIC = 0x42575031;
const HEADER_BYTES = 40;
/** A pack is closed for appends past this size and a new one started. */
export const PACK_BYTES_TARGET = 256 * 1024 * 1024;
/** A pack is compacted once this share of its bytes is dead. */
const COMPACT_DEAD_SHARE = 0.5;
const PACK_NAME = /^(\d{8})\.pack$/;

interface Location {
  readonly pack: number;
  readonly offset: number;
  readonly size: number;
}

interface Pack {
  readonly fd: number;
  /** Bytes in the pack (the next record's offset for the active one). */
  size: number;
  /** Bytes of records whose chunk was removed or found again earlier. */
  deadBytes: number;
  /** Reads in flight; a compacted pack's descriptor is closed when they are done. */
  reads: number;
  retired: boolean;
}

/** The chunk bytes of a DiskChunkStore: where each chunk is, and its raw (unchecked) bytes. */
export class PackFiles {
  private readonly index = new Map<string, Location>();
  private readonly packs = new Map<number, Pack>();
  private active = 0;
  /** Packs written to since the last sync. */
  private readonly dirty = new Set<number>();

  constructor(private readonly directory: string, private readonly packBytesTarget = PACK_BYTES_TARGET) {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    const numbers = readdirSync(directory).flatMap((name) => {
      const match = PACK_NAME.exec(name);
      return match === null ? [] : [Number(match[1])];
    }).sort((a, b) => a - b);
    for (const number of numbers) this.openPack(number, number === numbers.at(-1));
    this.active = numbers.at(-1) ?? 0;
    if (!this.packs.has(this.active) || this.packs.get(this.active)!.size >= this.packBytesTarget) this.startPack();
  }

  /** Every chunk present, with its size. */
  *chunks(): IterableIterator<[key: string, size: number]> {
    for (const [key, location] of this.index) yield [key, location.size];
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  get count(): number {
    return this.index.size;
  }

  read(key: string): Promise<Uint8Array> {
    const location = this.locate(key);
    const pack = this.packs.get(location.pack)!;
    const buffer = Buffer.allocUnsafe(location.size);
    pack.reads += 1;
    return new Promise((resolve, reject) => {
      readAt(pack.fd, buffer, 0, location.size, location.offset + HEADER_BYTES, (error, bytesRead) => {
        pack.reads -= 1;
        if (pack.retired && pack.reads === 0) closeSync(pack.fd);
        if (error !== null) reject(error);
        else resolve(new Uint8Array(buffer.buffer, buffer.byteOffset, bytesRead));
      });
    });
  }

  readSync(key: string): Uint8Array {
    const location = this.locate(key);
    const buffer = Buffer.allocUnsafe(location.size);
    const bytesRead = readSync(this.packs.get(location.pack)!.fd, buffer, 0, location.size, location.offset + HEADER_BYTES);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, bytesRead);
  }

  /** Appends the chunk; once this returns its bytes are in the operating system's hands (a killed process loses nothing). */
  write(key: string, data: Uint8Array): void {
    assert(data.length <= CHUNK_BYTES_MAX, `a chunk has at most ${CHUNK_BYTES_MAX} bytes`);
    if (this.index.has(key)) return;
    let pack = this.packs.get(this.active)!;
    if (pack.size >= this.packBytesTarget) pack = this.startPack();
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32BE(RECORD_MAGIC, 0);
    header.writeUInt32BE(data.length, 4);
    header.write(key, 8, 'hex');
    const offset = pack.size;
    // One write of header and bytes together, so a record is torn only by a crash inside it.
    writeFully(pack.fd, Buffer.concat([header, data]), offset);
    pack.size += HEADER_BYTES + data.length;
    this.index.set(key, { pack: this.active, offset, size: data.length });
    this.dirty.add(this.active);
  }

  /** Makes every write so far durable (before a manifest that needs them is written). */
  sync(): void {
    for (const number of this.dirty) {
      const pack = this.packs.get(number);
      if (pack !== undefined) fdatasyncSync(pack.fd);
    }
    this.dirty.clear();
  }

  remove(keys: readonly string[]): void {
    const touched = new Set<number>();
    for (const key of keys) {
      const location = this.index.get(key);
      if (location === undefined) continue;
      this.index.delete(key);
      this.packs.get(location.pack)!.deadBytes += HEADER_BYTES + location.size;
      touched.add(location.pack);
    }
    // The active pack too: a fresh one takes the appends, so it can be compacted like the rest.
    if (touched.has(this.active) && this.mostlyDead(this.packs.get(this.active)!)) this.startPack();
    const compacted = new Set([...touched].filter((number) => number !== this.active && this.mostlyDead(this.packs.get(number)!)));
    if (compacted.size > 0) this.compact(compacted);
  }

  close(): void {
    for (const pack of this.packs.values()) closeSync(pack.fd);
    this.packs.clear();
  }

  private locate(key: string): Location {
    const location = this.index.get(key);
    if (location === undefined) throw new MissingChunkError(`chunk ${key.slice(0, 16)}… is not in the store`);
    assert(this.packs.has(location.pack), 'the chunk store is closed');
    return location;
  }

  private path(number: number): string {
    return join(this.directory, `${String(number).padStart(8, '0')}.pack`);
  }

  private startPack(): Pack {
    this.active += 1;
    return this.openPack(this.active);
  }

  /**
   * Opens a pack and indexes its records. Only the newest pack is appended to, so only it can end
   * in a torn record, which is cut off; an older pack with a bad header keeps the records before it
   * (the rest are not found, and are never overwritten).
   */
  private openPack(number: number, newest = true): Pack {
    const path = this.path(number);
    const fd = openSync(path, existsSync(path) ? 'r+' : 'w+', 0o600);
    const length = fstatSync(fd).size;
    const pack: Pack = { fd, size: 0, deadBytes: 0, reads: 0, retired: false };
    this.packs.set(number, pack);
    const header = Buffer.alloc(HEADER_BYTES);
    let offset = 0;
    while (offset + HEADER_BYTES <= length) {
      if (readSync(fd, header, 0, HEADER_BYTES, offset) !== HEADER_BYTES) break;
      const size = header.readUInt32BE(4);
      if (header.readUInt32BE(0) !== RECORD_MAGIC || size > CHUNK_BYTES_MAX || offset + HEADER_BYTES + size > length) break;
      const key = header.toString('hex', 8, 40);
      if (this.index.has(key)) pack.deadBytes += HEADER_BYTES + size; // a copy left by an interrupted compaction
      else this.index.set(key, { pack: number, offset, size });
      offset += HEADER_BYTES + size;
    }
    if (offset < length && newest) ftruncateSync(fd, offset); // a record torn by a crash: never acknowledged
    pack.size = newest ? offset : length;
    pack.deadBytes += pack.size - offset; // what follows a bad header in an older pack is lost to the index
    return pack;
  }

  private mostlyDead(pack: Pack): boolean {
    return pack.deadBytes > 0 && pack.deadBytes >= pack.size * COMPACT_DEAD_SHARE;
  }

  /** Appends the live chunks of these packs anew, then deletes the packs. */
  private compact(numbers: ReadonlySet<number>): void {
    const live = [...this.index].filter(([, location]) => numbers.has(location.pack));
    for (const [key] of live) {
      const data = this.readSync(key);
      this.index.delete(key);
      this.write(key, data);
    }
    this.sync(); // the copies are durable before the packs that held them go
    for (const number of numbers) {
      const pack = this.packs.get(number)!;
      this.packs.delete(number);
      rmSync(this.path(number)); // a read in flight still reads the unlinked file through its descriptor
      if (pack.reads === 0) closeSync(pack.fd);
      else pack.retired = true;
    }
  }
}

function writeFully(fd: number, data: Uint8Array, position: number): void {
  let written = 0;
  while (written < data.length) written += writeSync(fd, data, written, data.length - written, position + written);
}

/**
 * Positional reads of a local file. The reader asks for byte ranges (footer, column chunks),
 * never for the whole file.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { isMainThread } from "node:worker_threads";
import { takeBytes } from "../byte-pool.js";
import { ParquetError } from "./errors.js";

export interface OpenFile {
  path: string;
  size: number;
  /** Reads go through this handle (libuv's thread pool); undefined: synchronous reads of `fd`. */
  handle: FileHandle | undefined;
  fd: number;
}

export interface OpenOptions {
  /**
   * Open, read and close with blocking calls. Default: in worker threads, which have nothing
   * else to run meanwhile, so each call saves two hops through libuv's thread pool (and a pool
   * thread competing for the same cores). The main thread may ask for it for short reads.
   */
  sync?: boolean;
}

export async function openFile(path: string, options: OpenOptions = {}): Promise<OpenFile> {
  const sync = options.sync ?? !isMainThread;
  let handle: FileHandle | undefined;
  let fd: number;
  try {
    if (sync) fd = openSync(path, "r");
    else {
      handle = await open(path, "r");
      fd = handle.fd;
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const what =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory, not a file" : `cannot open (${code ?? String(err)})`;
    throw new ParquetError(path, what, { cause: err });
  }
  const file: OpenFile = { path, size: 0, handle, fd };
  try {
    const st = handle ? await handle.stat() : fstatSync(fd);
    if (!st.isFile()) throw new ParquetError(path, "not a regular file");
    file.size = st.size;
    return file;
  } catch (err) {
    await closeFile(file);
    throw err;
  }
}

export async function closeFile(file: OpenFile): Promise<void> {
  if (file.handle) await file.handle.close();
  else closeSync(file.fd);
}

/**
 * Read exactly `length` bytes at `position` (looping over short reads). `pooled`: into scratch
 * from byte-pool.ts, which the caller gives back.
 */
export async function readAt(file: OpenFile, position: number, length: number, pooled = false): Promise<Uint8Array> {
  if (position < 0 || position + length > file.size) {
    throw new ParquetError(
      file.path,
      `byte range ${position}..${position + length} lies outside the file (${file.size} bytes)`,
    );
  }
  // allocUnsafe: every byte is overwritten below, so zero-filling would be wasted work.
  const buf = pooled ? takeBytes(length) : Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const bytesRead = file.handle ? (await file.handle.read(buf, done, length - done, position + done)).bytesRead : readSync(file.fd, buf, done, length - done, position + done);
    if (bytesRead === 0) {
      throw new ParquetError(file.path, `file ended at byte ${position + done} while reading ${length} bytes at ${position} (was it truncated while being read?)`);
    }
    done += bytesRead;
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, length);
}

export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Read several ranges, merging neighbours closer than `maxGap` bytes into one read (column
 * chunks of a row group are usually adjacent). Returns one view per requested range; with
 * `pooled`, views of scratch memory to give back (`giveBytes` on each) once decoded.
 */
export async function readRanges(file: OpenFile, ranges: readonly ByteRange[], pooled = false, maxGap = 1 << 16): Promise<Uint8Array[]> {
  const order = ranges.map((_, i) => i).sort((a, b) => ranges[a].start - ranges[b].start);
  const out: Uint8Array[] = new Array(ranges.length);
  let i = 0;
  const reads: Promise<void>[] = [];
  while (i < order.length) {
    const first = ranges[order[i]];
    let end = first.end;
    let j = i + 1;
    while (j < order.length && ranges[order[j]].start <= end + maxGap) {
      end = Math.max(end, ranges[order[j]].end);
      j++;
    }
    const members = order.slice(i, j);
    const start = first.start;
    reads.push(
      readAt(file, start, end - start, pooled).then((bytes) => {
        for (const m of members) out[m] = bytes.subarray(ranges[m].start - start, ranges[m].end - start);
      }),
    );
    i = j;
  }
  await Promise.all(reads);
  return out;
}

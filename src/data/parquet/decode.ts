/**
 * Decode the pages of one flat column chunk into a caller-allocated column (a `Sink`), at a row
 * offset. hyparquet parses the thrift page headers and the delta encodings; the rest (levels,
 * PLAIN, dictionaries, byte-stream-split, null scatter) is done here, straight into typed
 * arrays: no per-value allocation for numeric columns, one dispatch per page.
 */
import { parquetHeader } from "hyparquet/src/column.js";
import { deltaBinaryUnpack, deltaByteArray, deltaLengthByteArray } from "hyparquet/src/delta.js";
import type { DataReader, PageHeader } from "hyparquet";
import { decompress, decompressInto } from "./decompress.js";
import { decodeHybrid } from "./rle.js";
import { deltaInt32 } from "./delta.js";
import type { ParquetCodec } from "./types.js";

/**
 * Storage kinds: the physical type, as decoded before logical conversions. "dec" is a
 * FIXED_LEN_BYTE_ARRAY decimal, held as unscaled doubles.
 */
export type Kind = "f64" | "f32" | "i32" | "i64" | "bool" | "str" | "dec";

export type KindArray = Float64Array | Float32Array | Int32Array | BigInt64Array | Uint8Array | (string | null)[];

/** A column being filled, row group after row group. */
export interface Sink {
  kind: Kind;
  values: KindArray;
  /** 1 = value present. Allocated (all ones) at the first null of an integer/boolean column. */
  valid: Uint8Array | undefined;
  nulls: number;
}

/** Raised for well-formed data that uses something this decoder does not implement. */
export class UnsupportedEncodingError extends Error {}

export interface ChunkTarget {
  sink: Sink;
  /** Row of the sink where this chunk's first value goes. */
  rowOffset: number;
  /** Rows the chunk must hold (the row group's row count). */
  rows: number;
  codec: ParquetCodec;
  /** OPTIONAL column: pages carry definition levels (max level 1). */
  nullable: boolean;
  /** Byte width of FIXED_LEN_BYTE_ARRAY values. */
  typeLength?: number;
}

const textDecoder = new TextDecoder();

export function newSink(kind: Kind, rows: number): Sink {
  let values: KindArray;
  switch (kind) {
    case "f64":
    case "dec":
      values = new Float64Array(rows);
      break;
    case "f32":
      values = new Float32Array(rows);
      break;
    case "i32":
      values = new Int32Array(rows);
      break;
    case "i64":
      values = new BigInt64Array(rows);
      break;
    case "bool":
      values = new Uint8Array(rows);
      break;
    case "str":
      values = new Array<string | null>(rows).fill(null);
      break;
  }
  return { kind, values, valid: undefined, nulls: 0 };
}

/** Decode every page of a column chunk. `bytes` holds exactly the chunk. */
export function decodeChunk(bytes: Uint8Array, t: ChunkTarget): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const reader: DataReader = { view, offset: 0 };
  let dict: KindArray | undefined;
  let done = 0;
  while (done < t.rows) {
    if (reader.offset >= bytes.length) {
      throw new Error(`column chunk ends after ${done} of ${t.rows} rows`);
    }
    const pageAt = reader.offset;
    const header: PageHeader = parquetHeader(reader);
    const start = reader.offset;
    const size = header.compressed_page_size;
    if (!(size >= 0) || start + size > bytes.length) {
      throw new Error(`page at byte ${pageAt} of the chunk claims ${size} bytes, only ${bytes.length - start} remain`);
    }
    reader.offset = start + size;
    const body = bytes.subarray(start, start + size);
    switch (header.type) {
      case "DICTIONARY_PAGE": {
        const dh = header.dictionary_page_header;
        if (!dh) throw new Error("dictionary page without its header");
        const page = decompress(t.codec, body, header.uncompressed_page_size);
        dict = emptyOf(t.sink.kind, dh.num_values);
        decodePlain(page, 0, t.sink.kind, dh.num_values, dict, 0, t.typeLength);
        break;
      }
      case "DATA_PAGE": {
        const h = header.data_page_header;
        if (!h) throw new Error("data page without its header");
        checkRows(done, h.num_values, t.rows);
        // A required column's v1 page is only its values, so it can go straight into the sink.
        if (!t.nullable && h.encoding === "PLAIN" && plainInto(t, done, h.num_values, t.codec, body, header.uncompressed_page_size)) {
          done += h.num_values;
          break;
        }
        const page = decompress(t.codec, body, header.uncompressed_page_size);
        let pos = 0;
        let defs: Uint8Array | undefined;
        if (t.nullable) {
          if (h.definition_level_encoding !== "RLE") {
            throw new UnsupportedEncodingError(`definition levels in ${h.definition_level_encoding} encoding`);
          }
          if (page.length < 4) throw new Error("data page too short for its definition levels");
          const len = page[0] | (page[1] << 8) | (page[2] << 16) | (page[3] << 24);
          if (len < 0 || 4 + len > page.length) throw new Error(`definition levels claim ${len} bytes, the page has ${page.length - 4}`);
          defs = new Uint8Array(h.num_values);
          decodeHybrid(page, 4, 4 + len, 1, h.num_values, defs, 0);
          pos = 4 + len;
        }
        decodeValues(page, pos, h.encoding, h.num_values, defs, dict, t, done);
        done += h.num_values;
        break;
      }
      case "DATA_PAGE_V2": {
        const h = header.data_page_header_v2;
        if (!h) throw new Error("data page v2 without its header");
        if (h.num_rows !== h.num_values) throw new Error(`data page v2 has ${h.num_values} values in ${h.num_rows} rows in a flat column`);
        checkRows(done, h.num_values, t.rows);
        const rl = h.repetition_levels_byte_length;
        const dl = h.definition_levels_byte_length;
        if (rl < 0 || dl < 0 || rl + dl > body.length) throw new Error(`data page v2 level lengths ${rl} + ${dl} exceed its ${body.length} bytes`);
        let defs: Uint8Array | undefined;
        if (t.nullable && dl > 0) {
          defs = new Uint8Array(h.num_values);
          decodeHybrid(body, rl, rl + dl, 1, h.num_values, defs, 0);
        }
        // Levels are never compressed in v2; the values are unless is_compressed says otherwise.
        const raw = body.subarray(rl + dl);
        const codec = h.is_compressed === false ? "UNCOMPRESSED" : t.codec;
        const size = header.uncompressed_page_size - rl - dl;
        if (h.encoding === "PLAIN" && (!defs || allSet(defs)) && plainInto(t, done, h.num_values, codec, raw, size)) {
          done += h.num_values;
          break;
        }
        const page = codec === "UNCOMPRESSED" ? raw : decompress(codec, raw, size);
        decodeValues(page, 0, h.encoding, h.num_values, defs, dict, t, done);
        done += h.num_values;
        break;
      }
      case "INDEX_PAGE":
        break;
      default:
        throw new Error(`unknown page type ${String(header.type)}`);
    }
  }
}

/**
 * Decompress a dense PLAIN page of fixed-width values directly into the sink's bytes at row
 * `done`. False (nothing written) when the values are not fixed-width, the page's size is not
 * exactly n values, or the codec cannot decompress into a given buffer.
 */
function plainInto(t: ChunkTarget, done: number, n: number, codec: ParquetCodec, input: Uint8Array, size: number): boolean {
  const w = WIDTH[t.sink.kind];
  if (w === 0 || size !== n * w) return false;
  const target = t.sink.values as Float64Array | Float32Array | Int32Array | BigInt64Array;
  return decompressInto(codec, input, new Uint8Array(target.buffer, target.byteOffset + (t.rowOffset + done) * w, size));
}

function allSet(defs: Uint8Array): boolean {
  for (let i = 0; i < defs.length; i++) if (defs[i] !== 1) return false;
  return true;
}

function checkRows(done: number, n: number, rows: number): void {
  if (!(n >= 0) || done + n > rows) {
    throw new Error(`pages hold more values than the row group's ${rows} rows (${done} + ${n})`);
  }
}

function emptyOf(kind: Kind, n: number): KindArray {
  switch (kind) {
    case "f64":
    case "dec":
      return new Float64Array(n);
    case "f32":
      return new Float32Array(n);
    case "i32":
      return new Int32Array(n);
    case "i64":
      return new BigInt64Array(n);
    case "bool":
      return new Uint8Array(n);
    case "str":
      return new Array<string | null>(n);
  }
}

/**
 * Decode the values of one data page. Without nulls they land directly in the sink; with nulls
 * they are decoded densely into a scratch array, then scattered along the definition levels.
 */
function decodeValues(
  page: Uint8Array,
  pos: number,
  encoding: string,
  n: number,
  defs: Uint8Array | undefined,
  dict: KindArray | undefined,
  t: ChunkTarget,
  done: number,
): void {
  const sink = t.sink;
  const at = t.rowOffset + done;
  let present = n;
  if (defs) {
    present = 0;
    for (let i = 0; i < n; i++) present += defs[i];
  }
  if (present === n) {
    decodeDense(page, pos, encoding, sink.kind, n, sink.values, at, dict, t.typeLength);
    return;
  }
  const dense = emptyOf(sink.kind, present);
  decodeDense(page, pos, encoding, sink.kind, present, dense, 0, dict, t.typeLength);
  scatter(sink, dense, defs as Uint8Array, n, at);
  sink.nulls += n - present;
}

function decodeDense(
  page: Uint8Array,
  pos: number,
  encoding: string,
  kind: Kind,
  n: number,
  out: KindArray,
  at: number,
  dict: KindArray | undefined,
  typeLength: number | undefined,
): void {
  if (n === 0) return;
  switch (encoding) {
    case "PLAIN":
      decodePlain(page, pos, kind, n, out, at, typeLength);
      return;
    case "PLAIN_DICTIONARY":
    case "RLE_DICTIONARY": {
      if (!dict) throw new Error(`${encoding} page without a dictionary page before it`);
      if (pos >= page.length) throw new Error("dictionary-encoded page has no bit width");
      const width = page[pos];
      const idx = new Int32Array(n);
      decodeHybrid(page, pos + 1, page.length, width, n, idx, 0);
      gather(kind, dict, idx, n, out, at);
      return;
    }
    case "RLE": {
      if (kind !== "bool") throw new UnsupportedEncodingError(`RLE encoding of values other than booleans`);
      if (pos + 4 > page.length) throw new Error("RLE boolean page too short");
      const len = page[pos] | (page[pos + 1] << 8) | (page[pos + 2] << 16) | (page[pos + 3] << 24);
      if (len < 0 || pos + 4 + len > page.length) throw new Error(`RLE booleans claim ${len} bytes, the page has ${page.length - pos - 4}`);
      decodeHybrid(page, pos + 4, pos + 4 + len, 1, n, out as Uint8Array, at);
      return;
    }
    case "BYTE_STREAM_SPLIT":
      decodeByteStreamSplit(page, pos, kind, n, out, at);
      return;
    case "DELTA_BINARY_PACKED": {
      if (kind !== "i32" && kind !== "i64") throw new UnsupportedEncodingError(`DELTA_BINARY_PACKED for ${kind} values`);
      if (kind === "i32") {
        deltaInt32(page, { pos }, n, out as Int32Array, at);
        return;
      }
      const reader: DataReader = { view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: pos };
      deltaBinaryUnpack(reader, n, (out as BigInt64Array).subarray(at, at + n));
      return;
    }
    case "DELTA_LENGTH_BYTE_ARRAY":
    case "DELTA_BYTE_ARRAY": {
      if (kind !== "str") throw new UnsupportedEncodingError(`${encoding} for ${kind} values`);
      const reader: DataReader = { view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: pos };
      const raw = new Array<Uint8Array>(n);
      if (encoding === "DELTA_LENGTH_BYTE_ARRAY") deltaLengthByteArray(reader, n, raw);
      else deltaByteArray(reader, n, raw);
      if (reader.offset > page.length) throw new Error(`${encoding} values run past the end of the page`);
      const strs = out as (string | null)[];
      for (let i = 0; i < n; i++) strs[at + i] = textDecoder.decode(raw[i]);
      return;
    }
    default:
      throw new UnsupportedEncodingError(`value encoding ${encoding}`);
  }
}

const WIDTH: Record<Kind, number> = { f64: 8, i64: 8, f32: 4, i32: 4, bool: 0, str: 0, dec: 0 };

function decodePlain(page: Uint8Array, pos: number, kind: Kind, n: number, out: KindArray, at: number, typeLength?: number): void {
  const w = WIDTH[kind];
  if (w > 0) {
    const bytes = n * w;
    if (pos + bytes > page.length) throw new Error(`PLAIN page holds ${page.length - pos} bytes, ${n} values need ${bytes}`);
    // A byte copy: the output may be 8-byte aligned while the page bytes are not.
    const target = out as Float64Array | Float32Array | Int32Array | BigInt64Array;
    new Uint8Array(target.buffer, target.byteOffset + at * w, bytes).set(page.subarray(pos, pos + bytes));
    return;
  }
  if (kind === "bool") {
    if (pos + Math.ceil(n / 8) > page.length) throw new Error(`PLAIN boolean page too short for ${n} values`);
    const o = out as Uint8Array;
    for (let i = 0; i < n; i++) o[at + i] = (page[pos + (i >>> 3)] >>> (i & 7)) & 1;
    return;
  }
  if (kind === "dec") {
    decodeDecimalBytes(page, pos, n, typeLength ?? 0, out as Float64Array, at);
    return;
  }
  // BYTE_ARRAY: 4-byte little-endian length, then the bytes.
  const strs = out as (string | null)[];
  const buf = Buffer.from(page.buffer, page.byteOffset, page.byteLength);
  let p = pos;
  for (let i = 0; i < n; i++) {
    if (p + 4 > page.length) throw new Error(`PLAIN byte array page ends after ${i} of ${n} values`);
    const len = page[p] | (page[p + 1] << 8) | (page[p + 2] << 16) | (page[p + 3] << 24);
    p += 4;
    if (len < 0 || p + len > page.length) throw new Error(`PLAIN byte array value ${i} claims ${len} bytes past the end of the page`);
    // Buffer#toString is markedly faster than TextDecoder for the short strings of id columns.
    strs[at + i] = buf.toString("utf8", p, p + len);
    p += len;
  }
}

/** Big-endian two's-complement integers of `len` bytes -> unscaled doubles (exact to 2^53). */
function decodeDecimalBytes(page: Uint8Array, pos: number, n: number, len: number, out: Float64Array, at: number): void {
  if (len < 1) throw new Error(`decimal values of ${len} bytes`);
  if (pos + n * len > page.length) throw new Error(`PLAIN page too short for ${n} decimals of ${len} bytes`);
  for (let i = 0; i < n; i++) {
    const p = pos + i * len;
    let v = page[p] >= 128 ? page[p] - 256 : page[p];
    for (let b = 1; b < len; b++) v = v * 256 + page[p + b];
    out[at + i] = v;
  }
}

function decodeByteStreamSplit(page: Uint8Array, pos: number, kind: Kind, n: number, out: KindArray, at: number): void {
  const w = WIDTH[kind];
  if (w === 0) throw new UnsupportedEncodingError(`BYTE_STREAM_SPLIT for ${kind} values`);
  if (pos + n * w > page.length) throw new Error(`BYTE_STREAM_SPLIT page too short for ${n} values`);
  const target = out as Float64Array | Float32Array | Int32Array | BigInt64Array;
  const dst = new Uint8Array(target.buffer, target.byteOffset + at * w, n * w);
  for (let b = 0; b < w; b++) {
    const src = pos + b * n;
    for (let i = 0; i < n; i++) dst[i * w + b] = page[src + i];
  }
}

/** out[at + i] = dict[idx[i]]. One function per array type keeps each element access monomorphic. */
function gather(kind: Kind, dict: KindArray, idx: Int32Array, n: number, out: KindArray, at: number): void {
  let bad: number;
  switch (kind) {
    case "f64":
    case "dec":
      bad = gatherF64(dict as Float64Array, idx, n, out as Float64Array, at);
      break;
    case "f32":
      bad = gatherF32(dict as Float32Array, idx, n, out as Float32Array, at);
      break;
    case "i32":
      bad = gatherI32(dict as Int32Array, idx, n, out as Int32Array, at);
      break;
    case "bool":
      bad = gatherU8(dict as Uint8Array, idx, n, out as Uint8Array, at);
      break;
    case "i64":
      // Pairs of 32-bit words: reading a BigInt64Array element would allocate a BigInt.
      bad = gatherPairs(words(dict as BigInt64Array), idx, n, words(out as BigInt64Array), at);
      break;
    case "str":
      bad = gatherStr(dict as (string | null)[], idx, n, out as (string | null)[], at);
      break;
  }
  if (bad !== -1) throw new Error(`dictionary index ${bad >>> 0} out of range (dictionary has ${dict.length} entries)`);
}

// Each returns -1, or an index that was out of range (checked in the loop, reported once).
function gatherF64(d: Float64Array, idx: Int32Array, n: number, o: Float64Array, at: number): number {
  const size = d.length;
  let bad = -1;
  for (let i = 0; i < n; i++) {
    const k = idx[i];
    if (k >>> 0 >= size) bad = k;
    o[at + i] = d[k];
  }
  return bad;
}
function gatherF32(d: Float32Array, idx: Int32Array, n: number, o: Float32Array, at: number): number {
  const size = d.length;
  let bad = -1;
  for (let i = 0; i < n; i++) {
    const k = idx[i];
    if (k >>> 0 >= size) bad = k;
    o[at + i] = d[k];
  }
  return bad;
}
function gatherI32(d: Int32Array, idx: Int32Array, n: number, o: Int32Array, at: number): number {
  const size = d.length;
  let bad = -1;
  for (let i = 0; i < n; i++) {
    const k = idx[i];
    if (k >>> 0 >= size) bad = k;
    o[at + i] = d[k];
  }
  return bad;
}
function gatherU8(d: Uint8Array, idx: Int32Array, n: number, o: Uint8Array, at: number): number {
  const size = d.length;
  let bad = -1;
  for (let i = 0; i < n; i++) {
    const k = idx[i];
    if (k >>> 0 >= size) bad = k;
    o[at + i] = d[k];
  }
  return bad;
}
function gatherPairs(d: Int32Array, idx: Int32Array, n: number, o: Int32Array, at: number): number {
  const size = d.length / 2;
  let bad = -1;
  for (let i = 0; i < n; i++) {
    const k = idx[i];
    if (k >>> 0 >= size) bad = k;
    o[2 * (at + i)] = d[2 * k];
    o[2 * (at + i) + 1] = d[2 * k + 1];
  }
  return bad;
}
function gatherStr(d: (string | null)[], idx: Int32Array, n: number, o: (string | null)[], at: number): number {
  const size = d.length;
  let bad = -1;
  for (let i = 0; i < n; i++) {
    const k = idx[i];
    if (k >>> 0 >= size) bad = k;
    o[at + i] = d[k];
  }
  return bad;
}

export function words(a: BigInt64Array | BigUint64Array): Int32Array {
  return new Int32Array(a.buffer, a.byteOffset, a.length * 2);
}

/** Spread `dense` over the rows whose definition level is 1; nulls become NaN / 0 + invalid. */
function scatter(sink: Sink, dense: KindArray, defs: Uint8Array, n: number, at: number): void {
  switch (sink.kind) {
    case "f64":
    case "dec":
      scatterF64(dense as Float64Array, defs, n, sink.values as Float64Array, at);
      return;
    case "f32":
      scatterF32(dense as Float32Array, defs, n, sink.values as Float32Array, at);
      return;
    case "str":
      scatterStr(dense as (string | null)[], defs, n, sink.values as (string | null)[], at);
      return;
    case "i32":
      scatterI32(dense as Int32Array, defs, n, sink.values as Int32Array, at);
      break;
    case "bool":
      scatterU8(dense as Uint8Array, defs, n, sink.values as Uint8Array, at);
      break;
    case "i64":
      scatterPairs(words(dense as BigInt64Array), defs, n, words(sink.values as BigInt64Array), at);
      break;
  }
  // Integer and boolean columns keep a validity mask; finalisation turns them into NaN.
  if (!sink.valid) sink.valid = new Uint8Array(sink.values.length).fill(1);
  sink.valid.set(defs.subarray(0, n), at);
}

function scatterF64(d: Float64Array, defs: Uint8Array, n: number, o: Float64Array, at: number): void {
  let k = 0;
  for (let i = 0; i < n; i++) o[at + i] = defs[i] ? d[k++] : NaN;
}
function scatterF32(d: Float32Array, defs: Uint8Array, n: number, o: Float32Array, at: number): void {
  let k = 0;
  for (let i = 0; i < n; i++) o[at + i] = defs[i] ? d[k++] : NaN;
}
function scatterI32(d: Int32Array, defs: Uint8Array, n: number, o: Int32Array, at: number): void {
  let k = 0;
  for (let i = 0; i < n; i++) o[at + i] = defs[i] ? d[k++] : 0;
}
function scatterU8(d: Uint8Array, defs: Uint8Array, n: number, o: Uint8Array, at: number): void {
  let k = 0;
  for (let i = 0; i < n; i++) o[at + i] = defs[i] ? d[k++] : 0;
}
function scatterStr(d: (string | null)[], defs: Uint8Array, n: number, o: (string | null)[], at: number): void {
  let k = 0;
  for (let i = 0; i < n; i++) o[at + i] = defs[i] ? d[k++] : null;
}
function scatterPairs(d: Int32Array, defs: Uint8Array, n: number, o: Int32Array, at: number): void {
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (defs[i]) {
      o[2 * (at + i)] = d[2 * k];
      o[2 * (at + i) + 1] = d[2 * k + 1];
      k++;
    } else {
      o[2 * (at + i)] = 0;
      o[2 * (at + i) + 1] = 0;
    }
  }
}

/**
 * Page compressors for the writer. hyparquet-writer has snappy built in; gzip and brotli come
 * from node:zlib, lz4_raw from lz4.ts, zstd from node:zlib where Node has it (22.15+).
 */
import * as zlib from "node:zlib";
import type { CompressionCodec } from "hyparquet";
import { lz4CompressBlock } from "./lz4.js";
import type { WriteCompression } from "./types.js";

export type Compressor = (input: Uint8Array) => Uint8Array;

type NativeZstd = (buf: Uint8Array, options?: zlib.ZlibOptions) => Buffer;
const nativeZstd = (zlib as unknown as { zstdCompressSync?: NativeZstd }).zstdCompressSync;

/** The codecs `writeParquetFile` accepts on this Node. */
export const writableCompressions: readonly WriteCompression[] = [
  "snappy",
  "zstd",
  "gzip",
  "brotli",
  "lz4_raw",
  "uncompressed",
].filter((c) => c !== "zstd" || nativeZstd !== undefined) as WriteCompression[];

/**
 * Snappy: every Node writes it (zstd needs 22.15+), every reader reads it, and it decodes
 * fastest in skein's reader. The same default on every machine keeps outputs reproducible.
 */
export const defaultCompression: WriteCompression = "snappy";

export interface CodecChoice {
  codec: CompressionCodec;
  /** Undefined for codecs hyparquet-writer does itself (snappy, uncompressed). */
  compressor?: Compressor;
}

/** Returns undefined for a codec this Node cannot write (zstd before Node 22.15). */
export function codecFor(c: WriteCompression): CodecChoice | undefined {
  switch (c) {
    case "uncompressed":
      return { codec: "UNCOMPRESSED" };
    case "snappy":
      return { codec: "SNAPPY" };
    case "gzip":
      return { codec: "GZIP", compressor: (input) => zlib.gzipSync(input, { level: 6 }) };
    case "brotli":
      // Quality 11 (zlib's default) is an order of magnitude slower for a few % smaller pages.
      return {
        codec: "BROTLI",
        compressor: (input) =>
          zlib.brotliCompressSync(input, {
            params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: input.length },
          }),
      };
    case "zstd":
      return nativeZstd ? { codec: "ZSTD", compressor: (input) => nativeZstd(input) } : undefined;
    case "lz4_raw":
      return { codec: "LZ4_RAW", compressor: lz4CompressBlock };
    default:
      return undefined;
  }
}

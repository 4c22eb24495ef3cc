/**
 * Page compressors for the writer. hyparquet-writer has snappy built in; gzip and brotli come
 * from node:zlib, lz4_raw from lz4.ts, zstd from node:zlib where Node has it (22.15+) and from
 * the zstd reference library compiled to WebAssembly (@bokuweb/zstd-wasm) before that.
 */
import * as zlib from "node:zlib";
import { compress as wasmZstdCompress, init as wasmZstdInit } from "@bokuweb/zstd-wasm";
import type { CompressionCodec } from "hyparquet";
import { lz4CompressBlock } from "./lz4.js";
import type { WriteCompression } from "./types.js";

export type Compressor = (input: Uint8Array) => Uint8Array;

type NativeZstd = (buf: Uint8Array, options?: zlib.ZlibOptions) => Buffer;
const nativeZstd = (zlib as unknown as { zstdCompressSync?: NativeZstd }).zstdCompressSync;

/** zstd's default level, as node:zlib and the zstd CLI use. */
const ZSTD_LEVEL = 3;
let wasmZstdReady: Promise<void> | undefined;
let wasmZstdLoaded = false;

/** Load the WebAssembly zstd (once per process) unless node:zlib has zstd. Call before codecFor("zstd"). */
export async function prepareCodec(c: WriteCompression): Promise<void> {
  if (c !== "zstd" || nativeZstd !== undefined || wasmZstdLoaded) return;
  await (wasmZstdReady ??= wasmZstdInit());
  wasmZstdLoaded = true;
}

/** The codecs `writeParquetFile` accepts. */
export const writableCompressions: readonly WriteCompression[] = ["snappy", "zstd", "gzip", "brotli", "lz4_raw", "uncompressed"];

/**
 * Snappy: every reader reads it, and it decodes fastest in skein's reader. The same default on
 * every machine keeps outputs reproducible.
 */
export const defaultCompression: WriteCompression = "snappy";

export interface CodecChoice {
  codec: CompressionCodec;
  /** Undefined for codecs hyparquet-writer does itself (snappy, uncompressed). */
  compressor?: Compressor;
}

/** Returns undefined for an unknown codec, or zstd on Node < 22.15 before `prepareCodec("zstd")`. */
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
      if (nativeZstd) return { codec: "ZSTD", compressor: (input) => nativeZstd(input) };
      return wasmZstdLoaded ? { codec: "ZSTD", compressor: (input) => wasmZstdCompress(input, ZSTD_LEVEL) } : undefined;
    case "lz4_raw":
      return { codec: "LZ4_RAW", compressor: lz4CompressBlock };
    default:
      return undefined;
  }
}

/**
 * Page decompression. Node's own zlib does gzip, brotli and (from Node 22.15) zstd natively;
 * hyparquet-compressors covers the rest: snappy in wasm (hysnappy, ~3x hyparquet's JS snappy on
 * float pages), zstd in JS on Node 20 (fzstd), lz4 and lz4_raw in JS. Dense PLAIN pages of
 * fixed-width values skip the page buffer: `decompressInto` writes them straight into their
 * column (snappy.ts, our own decoder, since hysnappy can only return a new array).
 */
import * as zlib from "node:zlib";
import { compressors, decompressLz4, decompressLz4Raw, decompressZstd } from "hyparquet-compressors";
import { snappyDecompressInto } from "./snappy.js";
import type { ParquetCodec } from "./types.js";

type NativeZstd = (buf: Uint8Array, options?: zlib.ZlibOptions) => Buffer;
/** node:zlib has zstd from Node 22.15 / 23.8; the typings of Node 20 do not know it. */
const nativeZstd = (zlib as unknown as { zstdDecompressSync?: NativeZstd }).zstdDecompressSync;
/** hysnappy's wasm instance, created once when hyparquet-compressors loads. */
const snappyWasm = compressors.SNAPPY as (input: Uint8Array, outputLength: number) => Uint8Array;

/** Which implementation decodes each codec here (reported by the engine benchmark). */
export const decompressorNames: Readonly<Record<ParquetCodec, string>> = {
  UNCOMPRESSED: "none",
  SNAPPY: "hysnappy (wasm, via hyparquet-compressors)",
  GZIP: "node:zlib",
  BROTLI: "node:zlib",
  ZSTD: nativeZstd ? "node:zlib" : "fzstd (JS, via hyparquet-compressors)",
  LZ4: "hyparquet-compressors (JS)",
  LZ4_RAW: "hyparquet-compressors (JS)",
  LZO: "unsupported",
};

export class UnsupportedCodecError extends Error {}

/**
 * Decompress one page. Throws on a codec skein cannot read, on corrupt input, and when the
 * output length differs from the page header's `size`.
 */
export function decompress(codec: ParquetCodec, input: Uint8Array, size: number): Uint8Array {
  let out: Uint8Array;
  try {
    out = run(codec, input, size);
  } catch (err) {
    if (err instanceof UnsupportedCodecError) throw err;
    throw new Error(`${codec} decompression failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (out.length !== size) {
    throw new Error(`${codec} page decompressed to ${out.length} bytes, its header says ${size}`);
  }
  return out;
}

/**
 * Decompress one page straight into `out` (exactly the page's uncompressed size), for the codecs
 * that can (snappy, uncompressed): returns false, writing nothing, for the others. A PLAIN page
 * of fixed-width values goes this way directly into its column, skipping the page buffer.
 */
export function decompressInto(codec: ParquetCodec, input: Uint8Array, out: Uint8Array): boolean {
  if (codec === "UNCOMPRESSED") {
    if (input.length !== out.length) throw new Error(`page holds ${input.length} bytes, its header says ${out.length}`);
    out.set(input);
    return true;
  }
  if (codec !== "SNAPPY") return false;
  try {
    snappyDecompressInto(input, out);
  } catch (err) {
    throw new Error(`SNAPPY decompression failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return true;
}

function run(codec: ParquetCodec, input: Uint8Array, size: number): Uint8Array {
  let out: Uint8Array;
  switch (codec) {
    case "UNCOMPRESSED":
      out = input;
      break;
    case "SNAPPY":
      out = snappyWasm(input, size);
      break;
    case "GZIP":
      // maxOutputLength turns a lying header (or a zip bomb) into an error, not an allocation.
      out = zlib.gunzipSync(input, { maxOutputLength: Math.max(size, 1) });
      break;
    case "BROTLI":
      out = zlib.brotliDecompressSync(input, { maxOutputLength: Math.max(size, 1) });
      break;
    case "ZSTD":
      // No output buffer for fzstd: it compares that argument with `== 1`, which stringifies
      // the whole array on every call.
      out = nativeZstd ? nativeZstd(input, { maxOutputLength: Math.max(size, 1) }) : decompressZstd(input);
      break;
    case "LZ4_RAW":
      out = decompressLz4Raw(input, size);
      break;
    case "LZ4":
      out = decompressLz4(input, size);
      break;
    default:
      throw new UnsupportedCodecError(`compression codec ${codec} is not supported`);
  }
  return out;
}

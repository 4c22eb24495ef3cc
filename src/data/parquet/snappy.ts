/**
 * Snappy block decompression into a buffer the caller owns: a PLAIN float page can land
 * directly in its column, with no intermediate page. Float data compresses poorly, so pages are
 * mostly long literals, copied here with `Uint8Array#set` (a memcpy); short literals and
 * back-references go byte by byte. Format: github.com/google/snappy/blob/main/format_description.txt
 */

/** Literals at least this long are copied with `set` (the call costs more than a short loop). */
const SET_MIN = 32;

/** The uncompressed length a snappy block declares (its varint preamble), and where its elements start. */
export function snappyLength(input: Uint8Array): { length: number; start: number } {
  let length = 0;
  let shift = 0;
  let pos = 0;
  for (;;) {
    if (pos >= input.length || shift > 28) throw new Error("snappy: bad length preamble");
    const b = input[pos++];
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return { length, start: pos };
    shift += 7;
  }
}

/**
 * Decompress the snappy block `input` into `out`, which must be exactly as long as the block
 * declares. Throws on any malformed element (no read or write outside the two arrays).
 */
export function snappyDecompressInto(input: Uint8Array, out: Uint8Array): void {
  const { length, start } = snappyLength(input);
  if (length !== out.length) throw new Error(`snappy: block holds ${length} bytes, ${out.length} expected`);
  const end = input.length;
  let pos = start;
  let o = 0;
  while (pos < end) {
    const tag = input[pos++];
    const type = tag & 3;
    if (type === 0) {
      let len = (tag >>> 2) + 1;
      if (len > 60) {
        const extra = len - 60;
        if (pos + extra > end) throw new Error("snappy: literal length past the end of the input");
        len = 0;
        for (let b = extra - 1; b >= 0; b--) len = len * 256 + input[pos + b];
        len += 1;
        pos += extra;
      }
      if (pos + len > end || o + len > length) throw new Error("snappy: literal overruns its input or output");
      if (len >= SET_MIN) out.set(input.subarray(pos, pos + len), o);
      else for (let i = 0; i < len; i++) out[o + i] = input[pos + i];
      pos += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (type === 1) {
      if (pos >= end) throw new Error("snappy: copy element cut off");
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | input[pos++];
    } else if (type === 2) {
      if (pos + 2 > end) throw new Error("snappy: copy element cut off");
      len = (tag >>> 2) + 1;
      offset = input[pos] | (input[pos + 1] << 8);
      pos += 2;
    } else {
      if (pos + 4 > end) throw new Error("snappy: copy element cut off");
      len = (tag >>> 2) + 1;
      offset = (input[pos] | (input[pos + 1] << 8) | (input[pos + 2] << 16)) + input[pos + 3] * 16777216;
      pos += 4;
    }
    if (offset === 0 || offset > o) throw new Error(`snappy: copy offset ${offset} at output byte ${o}`);
    if (o + len > length) throw new Error("snappy: copy overruns the output");
    // Overlapping copies (offset < len) repeat a pattern, so they must go forward byte by byte.
    if (offset >= len && len >= SET_MIN) out.copyWithin(o, o - offset, o - offset + len);
    else for (let i = 0; i < len; i++) out[o + i] = out[o - offset + i];
    o += len;
  }
  if (o !== length) throw new Error(`snappy: block ends after ${o} of ${length} bytes`);
}

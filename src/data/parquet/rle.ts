/**
 * The RLE / bit-packed hybrid encoding (definition levels, dictionary indices, RLE booleans),
 * decoded straight into a caller-supplied typed array. Bounds are checked per run, not per
 * value; running out of bytes is an error, never a silent zero.
 */

/**
 * Decode `count` values of width `bitWidth` (0..32) from `bytes[pos, end)` into
 * `out[outAt, outAt + count)`. Returns the position after the last byte consumed.
 */
export function decodeHybrid(
  bytes: Uint8Array,
  pos: number,
  end: number,
  bitWidth: number,
  count: number,
  out: Int32Array | Uint8Array,
  outAt: number,
): number {
  if (bitWidth < 0 || bitWidth > 32) throw new Error(`RLE bit width ${bitWidth} out of range 0..32`);
  let o = outAt;
  const stop = outAt + count;
  if (bitWidth === 0) {
    // Every value is 0 and the encoder may have written no bytes at all.
    out.fill(0, o, stop);
    return pos;
  }
  const valueBytes = (bitWidth + 7) >>> 3;
  while (o < stop) {
    // ULEB128 run header; multiplication, not shifts, so headers above 2^31 stay exact.
    let header = 0;
    let scale = 1;
    let b: number;
    do {
      if (pos >= end) throw new Error(`RLE data ends after ${o - outAt} of ${count} values`);
      b = bytes[pos++];
      header += (b & 0x7f) * scale;
      scale *= 128;
    } while (b & 0x80);
    if (header % 2 === 0) {
      // RLE run: one value repeated.
      const run = header / 2;
      if (pos + valueBytes > end) throw new Error(`RLE data ends inside a run value after ${o - outAt} of ${count} values`);
      let value = 0;
      for (let i = 0; i < valueBytes; i++) value += bytes[pos + i] * 2 ** (8 * i);
      if (value >= 2 ** bitWidth) throw new Error(`RLE run value ${value} does not fit in ${bitWidth} bits`);
      pos += valueBytes;
      const take = Math.min(run, stop - o);
      out.fill(value, o, o + take);
      o += take;
    } else {
      // Bit-packed run: groups of 8 values, LSB first.
      const n = (header - 1) * 4; // (header >> 1) * 8
      const take = Math.min(n, stop - o);
      const needed = Math.ceil((take * bitWidth) / 8);
      if (pos + needed > end) throw new Error(`RLE data ends inside a bit-packed run after ${o - outAt} of ${count} values`);
      if (bitWidth === 1) unpack1(bytes, pos, take, out, o);
      else if (bitWidth <= 24) unpackNarrow(bytes, pos, bitWidth, take, out, o);
      else unpackWide(bytes, pos, bitWidth, take, out, o);
      o += take;
      // The run's padding bytes belong to it even when the last values are not needed.
      pos = Math.min(pos + (n / 8) * bitWidth, end);
    }
  }
  return pos;
}

function unpack1(bytes: Uint8Array, pos: number, take: number, out: Int32Array | Uint8Array, o: number): void {
  for (let k = 0; k < take; k++) out[o + k] = (bytes[pos + (k >>> 3)] >>> (k & 7)) & 1;
}

function unpackNarrow(bytes: Uint8Array, pos: number, bitWidth: number, take: number, out: Int32Array | Uint8Array, o: number): void {
  const mask = (1 << bitWidth) - 1;
  let acc = 0;
  let bits = 0;
  let p = pos;
  for (let k = 0; k < take; k++) {
    // bits < bitWidth <= 24 before each refill, so acc never reaches bit 31.
    while (bits < bitWidth) {
      acc |= bytes[p++] << bits;
      bits += 8;
    }
    out[o + k] = acc & mask;
    acc >>>= bitWidth;
    bits -= bitWidth;
  }
}

/** Widths 25..32 (dictionaries beyond 16M entries): float arithmetic, no 32-bit overflow. */
function unpackWide(bytes: Uint8Array, pos: number, bitWidth: number, take: number, out: Int32Array | Uint8Array, o: number): void {
  const modulus = 2 ** bitWidth;
  for (let k = 0; k < take; k++) {
    const bit = k * bitWidth;
    let p = pos + Math.floor(bit / 8);
    const shift = bit % 8;
    let v = 0;
    let scale = 1;
    for (let got = 0; got < bitWidth + shift; got += 8) {
      v += bytes[p++] * scale;
      scale *= 256;
    }
    out[o + k] = Math.floor(v / 2 ** shift) % modulus;
  }
}

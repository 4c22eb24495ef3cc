/**
 * DELTA_BINARY_PACKED for INT32 columns, modulo 2^32 throughout. Some writers (DuckDB for
 * UINTEGER) encode the first value and the block minima as 64-bit zigzag varints; keeping the
 * low 33 bits of every varint makes those decode right, where reading them as 32-bit varints
 * does not. (INT64 columns use hyparquet's BigInt decoder.)
 */

export interface Cursor {
  pos: number;
}

/** Decode `n` INT32 values from `bytes` at `c.pos` into `out[at, at + n)`; advances `c.pos`. */
export function deltaInt32(bytes: Uint8Array, c: Cursor, n: number, out: Int32Array, at: number): void {
  const end = bytes.length;
  const blockSize = uleb(bytes, c, end);
  const miniblocks = uleb(bytes, c, end);
  uleb(bytes, c, end); // total count: the page header's count is authoritative
  const perMini = blockSize / miniblocks;
  if (!(miniblocks > 0) || !Number.isInteger(perMini) || perMini % 8 !== 0) {
    throw new Error(`DELTA_BINARY_PACKED block of ${blockSize} values in ${miniblocks} miniblocks`);
  }
  let value = zigzag32(bytes, c, end);
  if (n === 0) return;
  out[at] = value;
  let k = 1;
  while (k < n) {
    const minDelta = zigzag32(bytes, c, end);
    const widths = c.pos;
    if (widths + miniblocks > end) throw new Error("DELTA_BINARY_PACKED data ends inside a block header");
    let p = widths + miniblocks;
    for (let m = 0; m < miniblocks && k < n; m++) {
      const w = bytes[widths + m];
      const take = Math.min(perMini, n - k);
      if (p + Math.ceil((take * w) / 8) > end) throw new Error(`DELTA_BINARY_PACKED data ends after ${k} of ${n} values`);
      if (w === 0) {
        for (let j = 0; j < take; j++) out[at + k + j] = value = (value + minDelta) | 0;
      } else {
        let bit = 0;
        for (let j = 0; j < take; j++) {
          // Residual bits at 32 and above vanish modulo 2^32.
          let residual = 0;
          let got = 0;
          let q = p + (bit >>> 3);
          let shift = bit & 7;
          while (got < w) {
            const b = bytes[q++] >>> shift;
            if (got < 32) residual |= b << got;
            got += 8 - shift;
            shift = 0;
          }
          if (w < 32) residual &= (1 << w) - 1;
          bit += w;
          value = (value + minDelta + residual) | 0;
          out[at + k + j] = value;
        }
      }
      k += take;
      // A miniblock occupies its full padded length, even when only some values are used.
      p += (perMini * w) / 8;
    }
    c.pos = Math.min(p, end);
  }
}

function uleb(bytes: Uint8Array, c: Cursor, end: number): number {
  let v = 0;
  let scale = 1;
  let b: number;
  do {
    if (c.pos >= end) throw new Error("DELTA_BINARY_PACKED header runs past the end of the page");
    b = bytes[c.pos++];
    v += (b & 0x7f) * scale;
    scale *= 128;
  } while (b & 0x80);
  return v;
}

/** A zigzag varint of up to 64 bits, reduced to an int32 (its low 33 bits decide it). */
function zigzag32(bytes: Uint8Array, c: Cursor, end: number): number {
  let lo = 0; // low 32 bits of the varint
  let bit32 = 0; // its bit 32
  let shift = 0;
  let b: number;
  do {
    if (c.pos >= end) throw new Error("DELTA_BINARY_PACKED varint runs past the end of the page");
    b = bytes[c.pos++];
    const seven = b & 0x7f;
    if (shift < 32) lo |= seven << shift;
    if (shift <= 32 && shift + 7 > 32) bit32 = (seven >>> (32 - shift)) & 1;
    shift += 7;
  } while (b & 0x80);
  // zigzag: value = (z >>> 1) ^ -(z & 1), taken modulo 2^32
  return ((lo >>> 1) | (bit32 << 31)) ^ -(lo & 1);
}

/**
 * LZ4 block compression (the LZ4_RAW codec of Parquet): greedy matching over a 4-byte hash
 * table, with LZ4's skip acceleration so incompressible input passes quickly. Neither Node nor
 * our dependencies compress LZ4; decompression is hyparquet-compressors'.
 *
 * Block rules honoured: the last 5 bytes are literals, and no match starts within the last 12.
 */

const HASH_BITS = 16;
const MIN_MATCH = 4;
const MAX_OFFSET = 65535;
const LAST_LITERALS = 5;
const MF_LIMIT = 12;

/** Upper bound of the compressed size of `n` bytes. */
export function lz4Bound(n: number): number {
  return n + Math.ceil(n / 255) + 16;
}

export function lz4CompressBlock(src: Uint8Array): Uint8Array {
  const n = src.length;
  const out = new Uint8Array(lz4Bound(n));
  let op = 0;
  let anchor = 0;
  if (n >= MF_LIMIT + 1) {
    const table = new Int32Array(1 << HASH_BITS).fill(-1);
    const matchLimit = n - LAST_LITERALS;
    const lastStart = n - MF_LIMIT;
    let ip = 0;
    let misses = 0;
    while (ip <= lastStart) {
      const seq = src[ip] | (src[ip + 1] << 8) | (src[ip + 2] << 16) | (src[ip + 3] << 24);
      const h = Math.imul(seq, 2654435761) >>> (32 - HASH_BITS);
      const ref = table[h];
      table[h] = ip;
      if (
        ref < 0 ||
        ip - ref > MAX_OFFSET ||
        (src[ref] | (src[ref + 1] << 8) | (src[ref + 2] << 16) | (src[ref + 3] << 24)) !== seq
      ) {
        // Step grows with consecutive misses (1 for the first 64, then 2, ...).
        ip += 1 + (misses++ >>> 6);
        continue;
      }
      misses = 0;
      let len = MIN_MATCH;
      while (ip + len < matchLimit && src[ref + len] === src[ip + len]) len++;
      op = writeSequence(src, out, op, anchor, ip, ip - ref, len);
      ip += len;
      anchor = ip;
    }
  }
  // Final literals-only sequence.
  const lit = n - anchor;
  const token = op++;
  if (lit >= 15) {
    out[token] = 0xf0;
    op = writeLength(out, op, lit - 15);
  } else {
    out[token] = lit << 4;
  }
  out.set(src.subarray(anchor, n), op);
  op += lit;
  return out.subarray(0, op);
}

function writeSequence(src: Uint8Array, out: Uint8Array, op: number, anchor: number, ip: number, offset: number, len: number): number {
  const lit = ip - anchor;
  const token = op++;
  let t = 0;
  if (lit >= 15) {
    t = 0xf0;
    op = writeLength(out, op, lit - 15);
  } else {
    t = lit << 4;
  }
  out.set(src.subarray(anchor, ip), op);
  op += lit;
  out[op++] = offset & 0xff;
  out[op++] = offset >>> 8;
  const ml = len - MIN_MATCH;
  if (ml >= 15) {
    t |= 0x0f;
    op = writeLength(out, op, ml - 15);
  } else {
    t |= ml;
  }
  out[token] = t;
  return op;
}

function writeLength(out: Uint8Array, op: number, rest: number): number {
  while (rest >= 255) {
    out[op++] = 255;
    rest -= 255;
  }
  out[op++] = rest;
  return op;
}

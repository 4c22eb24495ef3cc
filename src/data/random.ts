/**
 * Counter-based random numbers: every value is a hash of (seed, row, stream), so row i gets the
 * same numbers whichever partition computes it. The hash chains murmur3's 32-bit finaliser
 * (a bijection with full avalanche) over the inputs, SplitMix-style; no state, no BigInt.
 */

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit state for (seed, row); row may be any integer below 2^53. */
export function rowState(seed: number, row: number): number {
  const lo = row >>> 0;
  const hi = Math.floor(row / 4294967296) >>> 0;
  let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
  h = fmix32(h ^ lo);
  h = fmix32((h + 0x7f4a7c15) ^ hi);
  return h;
}

/** 32 random bits of stream `k` of a row state. */
export function bits(state: number, k: number): number {
  return fmix32(fmix32((state ^ Math.imul(k + 1, 0x9e3779b9)) >>> 0) + 0x632be5ab);
}

/** Uniform in [0, 1) with 53 random bits, from streams 2k and 2k + 1. */
export function uniform(state: number, k: number): number {
  const a = bits(state, 2 * k) >>> 5;
  const b = bits(state, 2 * k + 1) >>> 6;
  return (a * 67108864 + b) / 9007199254740992;
}

/** Standard normal (Box-Muller), from uniform streams 2k and 2k + 1. */
export function normal(state: number, k: number): number {
  const u = 1 - uniform(state, 2 * k); // (0, 1]: log is finite
  const v = uniform(state, 2 * k + 1);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

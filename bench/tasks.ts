/**
 * Task functions the benchmarks submit. They live in their own module, with no side effects on
 * import, because workers import the module a function comes from to run it.
 */

export function inc(x: number): number {
  return x + 1;
}

export function add(x: number, y: number): number {
  return x + y;
}

export function sum(xs: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s;
}

/** Does nothing: measures pure per-task overhead. */
export function noop(..._args: readonly unknown[]): null {
  return null;
}

export function makeArray(n: number, fill: number): Float64Array {
  return new Float64Array(n).fill(fill);
}

export function lengthOf(a: { readonly length: number }): number {
  return a.length;
}

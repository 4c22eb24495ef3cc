/** Plain data objects (`{...}` or `Object.create(null)`), as opposed to class instances. */
export function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

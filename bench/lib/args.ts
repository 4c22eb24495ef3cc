/**
 * A small command-line parser for the benchmarks: boolean flags, `--name value` / `--name=value`
 * options and positional arguments. Unknown options are errors naming the option, so a typo
 * never silently runs the default size.
 */

export interface ArgSpec {
  /** Boolean flags without the leading dashes, e.g. ["quick", "no-anchor"]. */
  readonly flags?: readonly string[];
  /** Options that take a value, e.g. ["scale", "repeat"]. */
  readonly values?: readonly string[];
}

export interface ParsedArgs {
  readonly flags: ReadonlySet<string>;
  readonly values: ReadonlyMap<string, string>;
  readonly positional: readonly string[];
}

export function parseArgs(argv: readonly string[], spec: ArgSpec, prog = "skein bench"): ParsedArgs {
  const flagNames = new Set(spec.flags ?? []);
  const valueNames = new Set(spec.values ?? []);
  const flags = new Set<string>();
  const values = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--") || a === "--") {
      if (a !== "--") positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    if (flagNames.has(name)) {
      if (eq >= 0) throw new Error(`${prog}: option --${name} takes no value, got "${a}"`);
      flags.add(name);
    } else if (valueNames.has(name)) {
      let v: string | undefined;
      if (eq >= 0) v = a.slice(eq + 1);
      else v = argv[++i];
      if (v === undefined) throw new Error(`${prog}: option --${name} needs a value`);
      values.set(name, v);
    } else {
      const known = [...flagNames, ...valueNames].map((n) => `--${n}`).join(", ");
      throw new Error(`${prog}: unknown option "${a}" (known: ${known || "none"})`);
    }
  }
  return { flags, values, positional };
}

/** A positive finite number from option `name`, or `fallback` when absent. */
export function numberOption(args: ParsedArgs, name: string, fallback: number, prog = "skein bench"): number {
  const raw = args.values.get(name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(v) || v <= 0) {
    throw new Error(`${prog}: --${name} must be a positive number, got "${raw}"`);
  }
  return v;
}

/** A positive integer from option `name`, or `fallback` when absent. */
export function intOption(args: ParsedArgs, name: string, fallback: number, prog = "skein bench"): number {
  const v = numberOption(args, name, fallback, prog);
  if (!Number.isInteger(v)) throw new Error(`${prog}: --${name} must be a positive integer, got "${args.values.get(name)}"`);
  return v;
}

/**
 * Python's `max(2, int(round(n * scale)))` (round half to even), so workload sizes and case names
 * agree with the anchor scripts' at every scale.
 */
export function scaled(n: number, scale: number): number {
  const x = n * scale;
  const fl = Math.floor(x);
  const diff = x - fl;
  let r: number;
  if (diff > 0.5) r = fl + 1;
  else if (diff < 0.5) r = fl;
  else r = fl % 2 === 0 ? fl : fl + 1;
  return Math.max(2, r);
}

/**
 * Values of command-line options: memory sizes, resources, counts. Each parser throws a
 * CliError naming the option and the bad value.
 */
import { totalmem } from "node:os";

export class CliError extends Error {
  static {
    this.prototype.name = "CliError";
  }
}

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
  k: 1e3, m: 1e6, g: 1e9, t: 1e12,
};

/**
 * Bytes per worker from `--memory-limit`, as Dask reads it: "auto" (the machine's memory
 * divided among `nworkers`), "0" (no limit), a byte count, a size with a unit ("4GB", "512MiB",
 * decimal and binary units), or a fraction of the machine's memory ("0.5").
 */
export function parseMemoryLimit(text: string, nworkers: number, total: number = totalmem()): number {
  const t = text.trim().toLowerCase();
  if (t === "auto") return Math.floor(total / Math.max(1, nworkers));
  const m = /^([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*([a-z]*)$/.exec(t);
  const unit = m ? UNITS[m[2] || "b"] : undefined;
  if (!m || unit === undefined) {
    throw new CliError(`skein: --memory-limit must be "auto", a number of bytes, a size like "4GB" or a fraction like "0.5", got ${JSON.stringify(text)}`);
  }
  const n = Number(m[1]);
  if (m[2] === "" && n > 0 && n <= 1 && m[1].includes(".")) return Math.floor(total * n);
  return Math.floor(n * unit);
}

/** `--resources "GPU=1,MEM=2e9"` -> { GPU: 1, MEM: 2e9 }. */
export function parseResources(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(",")) {
    if (part.trim() === "") continue;
    const m = /^\s*([A-Za-z_][\w.-]*)\s*=\s*([^\s=]+)\s*$/.exec(part);
    const n = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(n) || n < 0) {
      throw new CliError(`skein: --resources must look like "GPU=1,MEM=2" (names with non-negative numbers), got ${JSON.stringify(text)}`);
    }
    out[m[1]] = n;
  }
  return out;
}

export function parseCount(option: string, text: string, min = 1): number {
  const n = /^[0-9]+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new CliError(`skein: ${option} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  }
  return n;
}

export function parsePort(text: string, option = "--port"): number {
  const n = /^[0-9]+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n > 65535) throw new CliError(`skein: ${option} must be an integer from 0 to 65535, got ${JSON.stringify(text)}`);
  return n;
}

/** Positive seconds (decimals allowed) -> milliseconds. */
export function parseSeconds(option: string, text: string): number {
  const n = /^[0-9]*\.?[0-9]+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`skein: ${option} must be a positive number of seconds, got ${JSON.stringify(text)}`);
  return Math.round(n * 1000);
}

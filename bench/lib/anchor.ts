/**
 * The Python side of a benchmark: runs a script from `<repo>/../shared/anchors/python` with
 * Debian's /usr/bin/python3 and `--json`, and parses its last stdout line; or reads the figures
 * recorded in `<repo>/../shared/anchors/results` when running Python is not wanted.
 *
 * Nothing here throws for a missing Python, dask or anchors folder: the outcome is then
 * `{ skipped: reason }`, so a benchmark still prints its own figures and says why the anchor is
 * missing. Results are typed loosely (`unknown`) and read with the small accessors at the end.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Debian's interpreter, the one shared/anchors/setup.sh installs packages for. */
export const PYTHON = "/usr/bin/python3";

export interface AnchorData {
  /** "measured": run now; "recorded": read from shared/anchors/results. */
  readonly source: "measured" | "recorded";
  /** Script or result file name, e.g. "bench_scheduler.py". */
  readonly script: string;
  /** The parsed --json line (measured) or the full result file (recorded). */
  readonly data: unknown;
  /** The full result file the script wrote, or the recorded file read. */
  readonly file: string | null;
  /** Wall-clock seconds the script took (measured only). */
  readonly elapsed_s?: number;
}

export interface AnchorSkipped {
  readonly skipped: string;
}

export type AnchorOutcome = AnchorData | AnchorSkipped;

export function isSkipped(a: AnchorOutcome): a is AnchorSkipped {
  return "skipped" in a;
}

/** The project root: two levels above this file (bench/lib/anchor.ts). */
export function repoRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
}

/** `<repo>/../shared/anchors`, or $SKEIN_ANCHORS_DIR when set. */
export function anchorsDir(root: string = repoRoot()): string {
  const env = process.env.SKEIN_ANCHORS_DIR;
  return env ? path.resolve(env) : path.resolve(root, "..", "shared", "anchors");
}

/**
 * The object on the last non-empty stdout line (the scripts' --json contract: progress lines
 * come first). Throws with the offending line when it is not a JSON object.
 */
export function parseAnchorStdout(stdout: string): Record<string, unknown> {
  const lines = stdout.split("\n");
  let i = lines.length - 1;
  while (i >= 0 && lines[i].trim() === "") i--;
  if (i < 0) throw new Error("skein bench: anchor printed nothing on stdout");
  const last = lines[i].trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(last);
  } catch {
    throw new Error(`skein bench: anchor's last stdout line is not JSON: ${JSON.stringify(last.slice(0, 200))}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new Error(`skein bench: anchor's last stdout line is not a JSON object: ${JSON.stringify(last.slice(0, 200))}`);
  }
  return parsed as Record<string, unknown>;
}

interface Exec {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly error?: Error;
}

/** Runs a command, collecting output; stdout lines go to onLine as they arrive. */
function exec(
  cmd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  onLine?: (line: string) => void,
): Promise<Exec> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let pending = "";
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
      if (!onLine) return;
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        onLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    });
    // dask logs to stderr; keep only the tail for error messages.
    child.stderr.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-8000);
    });
    child.on("error", (error) => resolve({ code: null, stdout, stderr, error }));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The environment the anchors expect: no PYTHONPATH, no bytecode written into shared/. */
function pythonEnv(extra: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: "1", ...extra };
  delete env.PYTHONPATH;
  return env;
}

/**
 * Why the anchors cannot run here, or null when they can: the anchors folder, the script,
 * /usr/bin/python3 and the given modules must all be present.
 */
export async function anchorUnavailable(
  script: string,
  modules: readonly string[] = ["dask", "distributed"],
  dir: string = anchorsDir(),
  python: string = PYTHON,
): Promise<string | null> {
  const file = path.join(dir, "python", script);
  if (!existsSync(dir)) return `anchors folder ${dir} not found (set SKEIN_ANCHORS_DIR or check out shared/)`;
  if (!existsSync(file)) return `anchor script ${file} not found`;
  if (!existsSync(python)) return `${python} not found; install Debian's python3 (bash ${path.join(dir, "setup.sh")})`;
  if (modules.length === 0) return null;
  const r = await exec(python, ["-c", `import ${modules.join(", ")}`], pythonEnv({}));
  if (r.error) return `${python} could not be started (${r.error.message})`;
  if (r.code !== 0) {
    const lines = r.stderr.trim().split("\n");
    const last = lines[lines.length - 1] ?? "";
    return `${modules.join("/")} not importable by ${python} (${last}); run: bash ${path.join(dir, "setup.sh")} as root`;
  }
  return null;
}

/** Where the anchors write their full result files: `<repo>/bench/out/anchors` (git-ignored). */
export function defaultOutDir(root: string = repoRoot()): string {
  return path.join(root, "bench", "out", "anchors");
}

export interface RunAnchorOptions {
  /** Modules the script needs (checked first, for a clear skip reason). Default dask, distributed. */
  readonly modules?: readonly string[];
  /** Extra environment; ANCHOR_OUT_DIR defaults to `defaultOutDir()`. */
  readonly env?: Readonly<Record<string, string>>;
  /** Each progress line the script prints before its JSON line. */
  readonly onProgress?: (line: string) => void;
  readonly dir?: string;
  readonly python?: string;
}

/**
 * Runs `python3 <anchors>/python/<script> ...args --json` and returns its --json object, or
 * `{ skipped }` with the reason when Python, dask or the script is missing or the script fails.
 */
export async function runAnchor(
  script: string,
  args: readonly string[],
  opts: RunAnchorOptions = {},
): Promise<AnchorOutcome> {
  const dir = opts.dir ?? anchorsDir();
  const python = opts.python ?? PYTHON;
  const why = await anchorUnavailable(script, opts.modules, dir, python);
  if (why) return { skipped: why };
  const file = path.join(dir, "python", script);
  const t0 = performance.now();
  const onProgress = opts.onProgress;
  // The JSON line is the result, not progress.
  const onLine = onProgress
    ? (line: string) => {
        if (!line.startsWith("{")) onProgress(line);
      }
    : undefined;
  const env = pythonEnv({ ANCHOR_OUT_DIR: defaultOutDir(), ...opts.env });
  const r = await exec(python, [file, ...args, "--json"], env, onLine);
  const elapsed = (performance.now() - t0) / 1e3;
  if (r.error) return { skipped: `${script} could not be started (${r.error.message})` };
  if (r.code !== 0) {
    return { skipped: `${script} ${args.join(" ")} exited ${r.code}: ${r.stderr.trim().slice(-600)}` };
  }
  try {
    const data = parseAnchorStdout(r.stdout);
    const resultFile = data.result_file;
    return {
      source: "measured",
      script,
      data,
      file: typeof resultFile === "string" ? resultFile : null,
      elapsed_s: elapsed,
    };
  } catch (e) {
    return { skipped: `${script}: ${(e as Error).message}` };
  }
}

/** Reads a recorded result file from `<anchors>/results/<file>`, or `{ skipped }` if absent or invalid. */
export function readRecorded(file: string, dir: string = anchorsDir()): AnchorOutcome {
  const full = path.join(dir, "results", file);
  if (!existsSync(full)) return { skipped: `recorded anchor ${full} not found` };
  try {
    return { source: "recorded", script: file, data: JSON.parse(readFileSync(full, "utf8")), file: full };
  } catch (e) {
    return { skipped: `recorded anchor ${full} is not valid JSON (${(e as Error).message})` };
  }
}

// ------------------------------------------------------------------ loose accessors

/** The value at `path` inside nested plain objects, or undefined. */
export function field(obj: unknown, ...keys: readonly string[]): unknown {
  let cur = obj;
  for (const k of keys) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** A finite number at `path`, else null. */
export function num(obj: unknown, ...keys: readonly string[]): number | null {
  const v = field(obj, ...keys);
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** A string at `path`, else null. */
export function str(obj: unknown, ...keys: readonly string[]): string | null {
  const v = field(obj, ...keys);
  return typeof v === "string" ? v : null;
}

/** A plain object at `path`, else null. */
export function record(obj: unknown, ...keys: readonly string[]): Record<string, unknown> | null {
  const v = field(obj, ...keys);
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/**
 * The result rows of an anchor: the object-valued entries of its `results` (scalars such as
 * the recorded files' `cluster_startup_s` are left out).
 */
export function anchorRows(data: unknown): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  const results = record(data, "results");
  if (!results) return out;
  for (const [k, v] of Object.entries(results)) {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) out[k] = v as Record<string, unknown>;
  }
  return out;
}

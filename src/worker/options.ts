/**
 * Worker process options from the command line and the environment (see main.ts for the
 * exact argv). `SKEIN_WORKER_OPTIONS` (JSON) gives the base; flags override it.
 */
import { readTlsFiles } from "../comm/tls.js";
import { MEMORY_ENV, resolveMemoryFractions } from "./memory.js";
import type { WorkerServerOptions } from "./server.js";

export class WorkerOptionsError extends Error {
  static {
    this.prototype.name = "WorkerOptionsError";
  }
}

const FLAGS = ["scheduler", "listen", "nthreads", "name", "memory-limit", "resources", "heartbeat-ms", "tls-ca", "tls-cert", "tls-key",
  "local-directory", "inline-max-ms", "memory-target", "memory-spill", "memory-pause", "memory-terminate"] as const;
type Flag = (typeof FLAGS)[number];

function fail(msg: string): never {
  throw new WorkerOptionsError(`skein worker: ${msg}`);
}

function positiveInt(what: string, v: unknown): number {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) fail(`${what} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

function nonNegative(what: string, v: unknown): number {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) fail(`${what} must be a non-negative number, got ${JSON.stringify(v)}`);
  return n;
}

function resources(what: string, v: unknown): Record<string, number> {
  let r = v;
  if (typeof v === "string") {
    try {
      r = JSON.parse(v);
    } catch {
      fail(`${what} must be JSON like {"GPU":1}, got ${JSON.stringify(v)}`);
    }
  }
  if (r === null || typeof r !== "object" || Array.isArray(r)) fail(`${what} must be an object like {"GPU":1}, got ${JSON.stringify(v)}`);
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(r as Record<string, unknown>)) {
    if (typeof n !== "number" || !Number.isFinite(n) || n < 0) fail(`${what}: resource "${k}" must be a non-negative number, got ${JSON.stringify(n)}`);
    out[k] = n;
  }
  return out;
}

function address(what: string, v: unknown): string {
  if (typeof v !== "string" || !/^(tcp|tls|inproc):\/\/\S+$/.test(v)) fail(`${what} must be an address like tcp://host:port, got ${JSON.stringify(v)}`);
  return v;
}

/** Options for WorkerServer.start from `argv` (without node and script) and `env`. */
export function parseWorkerOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): WorkerServerOptions {
  let base: Record<string, unknown> = {};
  const json = env.SKEIN_WORKER_OPTIONS;
  if (json !== undefined && json.trim() !== "") {
    try {
      base = JSON.parse(json) as Record<string, unknown>;
    } catch (err) {
      fail(`SKEIN_WORKER_OPTIONS is not valid JSON: ${(err as Error).message}`);
    }
    if (base === null || typeof base !== "object" || Array.isArray(base)) fail("SKEIN_WORKER_OPTIONS must be a JSON object");
  }
  const flags = new Map<Flag, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !(FLAGS as readonly string[]).includes(m[1])) fail(`unknown argument ${JSON.stringify(a)} (expected ${FLAGS.map((f) => `--${f}`).join(", ")})`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) fail(`${a} needs a value`);
    flags.set(m[1] as Flag, value);
  }
  const pick = (flag: Flag, key: string): unknown => (flags.has(flag) ? flags.get(flag) : base[key]);

  const scheduler = pick("scheduler", "scheduler");
  if (scheduler === undefined) fail("no scheduler address: pass --scheduler tcp://host:port or set it in SKEIN_WORKER_OPTIONS");
  const opts: WorkerServerOptions = {
    scheduler: address("--scheduler", scheduler),
    nthreads: pick("nthreads", "nthreads") === undefined ? 1 : positiveInt("--nthreads", pick("nthreads", "nthreads")),
  };
  const listenAt = pick("listen", "listen");
  if (listenAt !== undefined) opts.listen = address("--listen", listenAt);
  const name = pick("name", "name");
  if (name !== undefined) opts.name = String(name);
  const mem = pick("memory-limit", "memoryLimit");
  if (mem !== undefined) opts.memoryLimit = nonNegative("--memory-limit", mem);
  const res = pick("resources", "resources");
  if (res !== undefined) opts.resources = resources("--resources", res);
  // Also from the environment, which reaches worker processes however they are started.
  const inline = pick("inline-max-ms", "inlineMaxMs") ?? env.SKEIN_INLINE_MAX_MS;
  if (inline !== undefined) opts.inlineMaxMs = nonNegative("--inline-max-ms (SKEIN_INLINE_MAX_MS)", inline);
  const hb = pick("heartbeat-ms", "heartbeatMs");
  if (hb !== undefined) opts.heartbeatMs = positiveInt("--heartbeat-ms", hb);
  // TLS: three PEM file paths, all or none (flags, or JSON "tls": { ca, cert, key }).
  const tlsJson = (base.tls ?? {}) as Record<string, unknown>;
  const tlsFiles = {
    ca: flags.get("tls-ca") ?? tlsJson.ca,
    cert: flags.get("tls-cert") ?? tlsJson.cert,
    key: flags.get("tls-key") ?? tlsJson.key,
  };
  const given = Object.values(tlsFiles).filter((v) => v !== undefined).length;
  if (given > 0) {
    if (given < 3 || Object.values(tlsFiles).some((v) => typeof v !== "string")) {
      fail("TLS needs all three of --tls-ca, --tls-cert and --tls-key (file paths)");
    }
    try {
      opts.tls = readTlsFiles(tlsFiles as { ca: string; cert: string; key: string });
    } catch (err) {
      throw new WorkerOptionsError((err as Error).message);
    }
  }
  const dir = pick("local-directory", "localDirectory");
  if (dir !== undefined) {
    if (typeof dir !== "string" || dir === "") fail(`--local-directory must be a directory path, got ${JSON.stringify(dir)}`);
    opts.localDirectory = dir;
  }
  // Memory fractions: env SKEIN_MEMORY_* < JSON memoryTarget/... < flags; "false" disables one.
  const fractions: Record<string, unknown> = {};
  for (const name of Object.keys(MEMORY_ENV) as (keyof typeof MEMORY_ENV)[]) {
    const v = pick(`memory-${name}`, `memory${name[0].toUpperCase()}${name.slice(1)}`);
    if (v !== undefined) fractions[name] = v;
  }
  const fromEnv = Object.values(MEMORY_ENV).some((v) => (env[v] ?? "").trim() !== "");
  if (fromEnv || Object.keys(fractions).length > 0) {
    try {
      opts.memoryFractions = resolveMemoryFractions(fractions, env);
    } catch (err) {
      fail((err as Error).message.replace(/^skein worker: /, ""));
    }
  }
  // The token stays out of argv (visible in `ps`): environment only.
  const token = env.SKEIN_TOKEN ?? (typeof base.token === "string" ? base.token : undefined);
  if (token !== undefined && token !== "") opts.token = token;
  return opts;
}

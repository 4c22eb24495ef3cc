/**
 * Field types of every wire message, checked at the scheduler's and the worker's edges.
 *
 * src/comm guarantees only that a received batch is an array of objects with a string `op`.
 * A peer can still send `{op: "free-keys", keys: 7}` or a compute-task whose `deps` is a string;
 * fed to a state machine that would throw half-way through a transition (or worse, not throw
 * and corrupt it). `checkMessage` names the first wrong field so the edge can close that one
 * connection with a logged reason. It checks shapes, not meaning: whether a key exists is the
 * state machines' business.
 *
 * In-process connections carry messages this process built itself; the edges skip the check
 * there (`needsCheck`).
 */
import type { Connection } from "./comm/types.js";
import type { Message } from "./protocol.js";

type Check = (m: Record<string, unknown>) => string | null;

const isStr = (v: unknown): v is string => typeof v === "string";
const isNum = (v: unknown): v is number => typeof v === "number" && !Number.isNaN(v);
const isId = (v: unknown): boolean => typeof v === "number" && Number.isSafeInteger(v);
const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const isBytes = (v: unknown): boolean => v instanceof Uint8Array;

function isObj(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function isStrArray(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== "string") return false;
  return true;
}

function isNumArray(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (!isNum(v[i])) return false;
  return true;
}

function isNumRecord(v: unknown): boolean {
  if (!isObj(v)) return false;
  for (const k in v) if (!isNum(v[k])) return false;
  return true;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Uint8Array) return "bytes";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return v.length > 40 ? "a string" : `"${v}"`;
  return `${typeof v} ${String(v)}`.slice(0, 60);
}

/** "field x must be <what>, got <value>" when `ok` is false. */
function need(m: Record<string, unknown>, field: string, ok: boolean, what: string): string | null {
  return ok ? null : `field "${field}" must be ${what}, got ${describe(m[field])}`;
}

function optional(m: Record<string, unknown>, field: string, ok: (v: unknown) => boolean, what: string): string | null {
  const v = m[field];
  return v === undefined || ok(v) ? null : `field "${field}" must be ${what} when present, got ${describe(v)}`;
}

function first(...problems: (string | null)[]): string | null {
  for (const p of problems) if (p !== null) return p;
  return null;
}

const keysMsg: Check = (m) => need(m, "keys", isStrArray(m.keys), "an array of keys (strings)");

function isDepLocations(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) {
    const d: unknown = v[i];
    if (!isObj(d) || !isStr(d.key) || !isStrArray(d.workers) || !isNum(d.nbytes)) return false;
  }
  return true;
}

const STARTSTOP_ACTIONS = new Set(["compute", "transfer", "disk-read", "disk-write"]);
function isStartStops(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) {
    const s: unknown = v[i];
    if (!isObj(s) || !STARTSTOP_ACTIONS.has(s.action as string) || !isNum(s.start) || !isNum(s.stop)) return false;
  }
  return true;
}

/** `key` strings plus number columns of the same length. */
function isColumns(v: unknown, cols: readonly string[]): boolean {
  if (!isObj(v) || !isStrArray(v.key)) return false;
  const n = (v.key as unknown[]).length;
  for (const col of cols) if (!isNumArray(v[col]) || (v[col] as unknown[]).length !== n) return false;
  return true;
}

/** Columns of equal length, names and workers as lists. */
function isTaskStream(v: unknown): boolean {
  if (!isObj(v) || !isStrArray(v.fnNames) || !Array.isArray(v.workers)) return false;
  for (const w of v.workers as unknown[]) if (!isObj(w) || !isStr(w.address) || !isStr(w.name) || !isNum(w.nthreads)) return false;
  return isColumns(v, ["fn", "worker", "lane", "action", "erred", "start", "stop", "nbytes"]);
}

function isErrorInfo(v: unknown): boolean {
  return (
    isObj(v) && isStr(v.name) && isStr(v.message) && isStr(v.stack) && isStr(v.key) && isStr(v.fn) && isStr(v.worker) &&
    (v.causeKey === undefined || isStr(v.causeKey))
  );
}

/** The first problem with one task of an update-graph, or null. */
function taskProblem(t: unknown): string | null {
  if (!isObj(t)) return `is ${describe(t)}, not an object`;
  if (!isStr(t.key)) return `has a non-string key`;
  if (!isBytes(t.run)) return `${JSON.stringify(t.key)}: "run" must be bytes`;
  if (!isStrArray(t.deps)) return `${JSON.stringify(t.key)}: "deps" must be an array of keys`;
  if (!isStr(t.name)) return `${JSON.stringify(t.key)}: "name" must be a string`;
  if (t.priority !== undefined && !isNum(t.priority)) return `${JSON.stringify(t.key)}: "priority" must be a number`;
  if (t.retries !== undefined && !(Number.isInteger(t.retries) && (t.retries as number) >= 0)) return `${JSON.stringify(t.key)}: "retries" must be a non-negative integer`;
  if (t.workers !== undefined && !isStrArray(t.workers)) return `${JSON.stringify(t.key)}: "workers" must be an array of strings`;
  if (t.allowOtherWorkers !== undefined && !isBool(t.allowOtherWorkers)) return `${JSON.stringify(t.key)}: "allowOtherWorkers" must be a boolean`;
  if (t.resources !== undefined && !isNumRecord(t.resources)) return `${JSON.stringify(t.key)}: "resources" must map names to numbers`;
  if (t.order !== undefined && !isNum(t.order)) return `${JSON.stringify(t.key)}: "order" must be a number`;
  return null;
}

const CHECKS: Record<Message["op"], Check> = {
  "hello-client": (m) =>
    first(need(m, "client", isStr(m.client), "a string"), optional(m, "token", isStr, "a string"), optional(m, "resume", isStr, "a string")),
  "hello-worker": (m) =>
    first(
      need(m, "address", isStr(m.address), "a string"),
      need(m, "name", isStr(m.name), "a string"),
      need(m, "nthreads", Number.isInteger(m.nthreads) && (m.nthreads as number) >= 1, "a positive integer"),
      need(m, "memoryLimit", isNum(m.memoryLimit) && (m.memoryLimit as number) >= 0, "a non-negative number"),
      need(m, "resources", isNumRecord(m.resources), "an object of numbers"),
      need(m, "pid", isNum(m.pid), "a number"),
      optional(m, "token", isStr, "a string"),
    ),
  "hello-peer": (m) => optional(m, "token", isStr, "a string"),
  welcome: (m) => need(m, "id", isStr(m.id), "a string"),
  refused: (m) => need(m, "reason", isStr(m.reason), "a string"),
  "update-graph": (m) => {
    if (!Array.isArray(m.tasks)) return need(m, "tasks", false, "an array of tasks");
    for (let i = 0; i < m.tasks.length; i++) {
      const p = taskProblem(m.tasks[i]);
      if (p !== null) return `task ${i} ${p}`;
    }
    return need(m, "wanted", isStrArray(m.wanted), "an array of keys (strings)");
  },
  "client-releases-keys": keysMsg,
  "client-desires-keys": keysMsg,
  "cancel-keys": keysMsg,
  "client-goodbye": () => null,
  scatter: (m) =>
    first(
      need(m, "id", isId(m.id), "an integer"),
      need(m, "data", isObj(m.data), "an object"),
      optional(m, "workers", isStrArray, "an array of strings"),
      need(m, "broadcast", isBool(m.broadcast), "a boolean"),
    ),
  gather: (m) => first(need(m, "id", isId(m.id), "an integer"), keysMsg(m)),
  "cluster-info": (m) => need(m, "id", isId(m.id), "an integer"),
  "run-spec": (m) => first(need(m, "id", isId(m.id), "an integer"), need(m, "key", isStr(m.key), "a string")),
  "task-stream": (m) =>
    first(need(m, "id", isId(m.id), "an integer"), need(m, "since", isNum(m.since), "a number"), need(m, "until", isNum(m.until), "a number")),
  "task-stream-reply": (m) =>
    first(
      need(m, "id", isId(m.id), "an integer"),
      need(m, "records", isTaskStream(m.records), "task-stream columns"),
      need(m, "transfers", isColumns(m.transfers, ["fn", "worker", "time", "nbytes"]), "transfer columns"),
      need(m, "dropped", isNum(m.dropped), "a number"),
    ),
  "run-spec-reply": (m) =>
    first(
      need(m, "id", isId(m.id), "an integer"),
      need(m, "key", isStr(m.key), "a string"),
      need(m, "found", isBool(m.found), "a boolean"),
      need(m, "run", m.run === null || isBytes(m.run), "bytes or null"),
      need(m, "deps", isStrArray(m.deps), "an array of keys"),
      need(m, "name", isStr(m.name), "a string"),
    ),
  "key-in-memory": (m) => first(need(m, "key", isStr(m.key), "a string"), need(m, "hasValue", isBool(m.hasValue), "a boolean")),
  "key-erred": (m) => first(need(m, "key", isStr(m.key), "a string"), need(m, "error", isErrorInfo(m.error), "an error record")),
  "keys-cancelled": (m) => first(keysMsg(m), need(m, "reason", isStr(m.reason), "a string")),
  "graph-rejected": (m) => first(keysMsg(m), need(m, "message", isStr(m.message), "a string")),
  "gather-reply": (m) =>
    first(need(m, "id", isId(m.id), "an integer"), need(m, "data", isObj(m.data), "an object"), need(m, "missing", isStrArray(m.missing), "an array of keys")),
  "scatter-reply": (m) => first(need(m, "id", isId(m.id), "an integer"), keysMsg(m), optional(m, "error", isStr, "a string")),
  "cluster-info-reply": (m) => first(need(m, "id", isId(m.id), "an integer"), need(m, "workers", Array.isArray(m.workers) && m.workers.every(isObj), "an array of objects")),
  "compute-task": (m) =>
    first(
      need(m, "key", isStr(m.key), "a string"),
      need(m, "run", isBytes(m.run), "bytes"),
      need(m, "name", isStr(m.name), "a string"),
      need(m, "deps", isDepLocations(m.deps), "an array of {key, workers, nbytes}"),
      need(m, "priority", isNumArray(m.priority), "an array of numbers"),
      optional(m, "resources", isNumRecord, "an object of numbers"),
    ),
  "free-keys": keysMsg,
  "update-data": (m) => first(need(m, "id", isId(m.id), "an integer"), need(m, "data", isObj(m.data), "an object")),
  "acquire-replicas": (m) => need(m, "deps", isDepLocations(m.deps), "an array of {key, workers, nbytes}"),
  "steal-request": (m) => need(m, "key", isStr(m.key), "a string"),
  close: (m) => need(m, "reason", isStr(m.reason), "a string"),
  "worker-removed": (m) => need(m, "worker", isStr(m.worker), "a string"),
  "task-finished": (m) =>
    first(
      need(m, "key", isStr(m.key), "a string"),
      need(m, "nbytes", isNum(m.nbytes) && (m.nbytes as number) >= 0, "a non-negative number"),
      need(m, "type", isStr(m.type), "a string"),
      need(m, "hasValue", isBool(m.hasValue), "a boolean"),
      need(m, "startstops", isStartStops(m.startstops), "an array of {action, start, stop}"),
    ),
  "task-erred": (m) =>
    first(
      need(m, "key", isStr(m.key), "a string"),
      need(m, "error", isErrorInfo(m.error), "an error record"),
      need(m, "startstops", isStartStops(m.startstops), "an array of {action, start, stop}"),
    ),
  "add-keys": (m) => first(keysMsg(m), need(m, "nbytes", isNumRecord(m.nbytes), "an object of numbers")),
  "missing-data": (m) => first(need(m, "key", isStr(m.key), "a string"), need(m, "errantWorker", isStr(m.errantWorker), "a string")),
  "steal-response": (m) => first(need(m, "key", isStr(m.key), "a string"), need(m, "state", m.state === null || isStr(m.state), "a string or null")),
  "update-data-reply": (m) => first(need(m, "id", isId(m.id), "an integer"), need(m, "nbytes", isNumRecord(m.nbytes), "an object of numbers")),
  heartbeat: (m) => {
    const mem = m.memory;
    return first(
      need(m, "memory", isObj(mem) && isNum(mem.managed) && isNum(mem.spilled) && isNum(mem.rss), "{managed, spilled, rss} numbers"),
      need(m, "executing", isNum(m.executing), "a number"),
      need(m, "ready", isNum(m.ready), "a number"),
      optional(m, "cpu", isNum, "a number"),
    );
  },
  "worker-status": (m) => need(m, "status", m.status === "running" || m.status === "paused", `"running" or "paused"`),
  "get-data": (m) => first(need(m, "id", isId(m.id), "an integer"), keysMsg(m)),
  data: (m) =>
    first(need(m, "id", isId(m.id), "an integer"), need(m, "data", isObj(m.data), "an object"), need(m, "missing", isStrArray(m.missing), "an array of keys")),
};

/**
 * Null when `msg` has the fields its op requires, with the right types; else what is wrong,
 * e.g. `free-keys: field "keys" must be an array of keys (strings), got number 7`.
 */
export function checkMessage(msg: unknown): string | null {
  if (!isObj(msg) || !isStr(msg.op)) return `not a message object with a string "op" (got ${describe(msg)})`;
  const check = Object.hasOwn(CHECKS, msg.op) ? CHECKS[msg.op as Message["op"]] : undefined;
  if (check === undefined) return `unknown op ${JSON.stringify(msg.op.slice(0, 60))}`;
  const problem = check(msg);
  return problem === null ? null : `${msg.op}: ${problem}`;
}

/** The first malformed message of a batch, described, or null when all are well-formed. */
export function checkBatch(msgs: readonly Message[]): string | null {
  for (let i = 0; i < msgs.length; i++) {
    const p = checkMessage(msgs[i]);
    if (p !== null) return msgs.length > 1 ? `message ${i}: ${p}` : p;
  }
  return null;
}

/** Messages from other processes are checked; in-process ones were built by this process. */
export function needsCheck(conn: Connection): boolean {
  return !conn.peer.startsWith("inproc://");
}

/**
 * skein's error classes. Every error skein raises on purpose is a `SkeinError`; subclasses
 * let callers branch on the kind without parsing messages.
 */
import { inspect } from "node:util";
import type { Key, RemoteErrorInfo } from "./graph/spec.js";

export class SkeinError extends Error {
  static {
    // On the prototype (not a class field) so the stack header, formatted when the error is
    // constructed, already shows the right name.
    this.prototype.name = "SkeinError";
  }
}

/** A graph that cannot run: cycles, missing keys, malformed tasks. */
export class GraphError extends SkeinError {
  static {
    this.prototype.name = "GraphError";
  }
}

/** A function that cannot be named by (module, export) or cannot be loaded from it. */
export class FunctionReferenceError extends SkeinError {
  static {
    this.prototype.name = "FunctionReferenceError";
  }
}

/** A value that cannot cross a connection or be stored. */
export class SerializationError extends SkeinError {
  static {
    this.prototype.name = "SerializationError";
  }
}

/** A task (or the computation waiting for it) was cancelled. */
export class CancelledError extends SkeinError {
  static {
    this.prototype.name = "CancelledError";
  }
  constructor(
    readonly key: Key,
    reason?: string,
  ) {
    super(`skein: task "${key}" was cancelled${reason ? `: ${reason}` : ""}`);
  }
}

/**
 * A task failed on a worker. The message names the task and repeats the remote error; `stack`
 * carries the remote stack first (where the bug is), then the local one.
 */
export class TaskError extends SkeinError {
  static {
    this.prototype.name = "TaskError";
  }
  readonly key: Key;
  readonly fn: string;
  readonly worker: string;
  /** Name of the remote error class, e.g. "TypeError". */
  readonly remoteName: string;
  readonly remoteMessage: string;
  readonly remoteStack: string;
  /** Set when this task did not fail itself but inherits the failure of `causeKey`. */
  readonly causeKey?: Key;

  constructor(info: RemoteErrorInfo) {
    const where = info.worker ? ` on ${info.worker}` : "";
    const because =
      info.causeKey !== undefined && info.causeKey !== info.key
        ? ` because its dependency "${info.causeKey}" failed`
        : "";
    super(`skein: task "${info.key}" (${info.fn}) failed${where}${because}: ${info.name}: ${info.message}`);
    this.key = info.key;
    this.fn = info.fn;
    this.worker = info.worker;
    this.remoteName = info.name;
    this.remoteMessage = info.message;
    this.remoteStack = info.stack;
    if (info.causeKey !== undefined) this.causeKey = info.causeKey;
    const local = (this.stack ?? "").split("\n").slice(1).join("\n");
    this.stack = `${this.name}: ${this.message}\n--- remote stack${where} ---\n${info.stack}\n--- local stack ---\n${local}`;
  }

  /** The plain-data form, e.g. to re-raise the same failure on dependents. */
  toInfo(): RemoteErrorInfo {
    const info: RemoteErrorInfo = {
      name: this.remoteName,
      message: this.remoteMessage,
      stack: this.remoteStack,
      key: this.key,
      fn: this.fn,
      worker: this.worker,
    };
    return this.causeKey === undefined ? info : { ...info, causeKey: this.causeKey };
  }
}

/** Turns anything a task threw into the plain data that travels back to the client. */
export function remoteErrorInfo(
  err: unknown,
  where: { readonly key: Key; readonly fn: string; readonly worker: string },
): RemoteErrorInfo {
  if (err instanceof Error) {
    return {
      name: err.name,
      message: err.message,
      stack: err.stack ?? `${err.name}: ${err.message}`,
      key: where.key,
      fn: where.fn,
      worker: where.worker,
    };
  }
  const message = `non-Error value thrown: ${describeValue(err)}`;
  return { name: "Error", message, stack: `Error: ${message}`, key: where.key, fn: where.fn, worker: where.worker };
}

/** Short description of a bad value for error messages: `number 3`, `string "x"`, `null`. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "string") {
    const s = JSON.stringify(value);
    return `string ${s.length > 60 ? `${s.slice(0, 57)}..."` : s}`;
  }
  if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
  const shown = inspect(value, { depth: 1, breakLength: Infinity, maxArrayLength: 5, maxStringLength: 40 });
  const kind = Array.isArray(value) ? "array" : typeof value;
  return `${kind} ${shown.length > 80 ? `${shown.slice(0, 77)}...` : shown}`;
}

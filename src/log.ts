/**
 * Structured logs for the long-running commands (`skein scheduler`, `skein worker`, worker
 * processes). One JSON object per line by default (for log collectors); `text` gives the
 * one-line `<time> <level> <message>` form people read in a terminal, and `auto` picks text on a
 * TTY. The servers keep their small `(level, msg)` hooks; `lineLog` adapts a logger to them.
 */
import { pino } from "pino";
import { SkeinError } from "./errors.js";

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ["json", "text", "auto"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type Logger = pino.Logger;

export interface LoggerOptions {
  /** Least severe level written. Default "info". */
  level?: LogLevel;
  /** Default "auto": text on a TTY, JSON otherwise. */
  format?: LogFormat;
  /** Default stderr, written synchronously so nothing is lost at process.exit. */
  stream?: NodeJS.WritableStream;
  /** The `name` field of every record, e.g. "skein-scheduler". */
  name?: string;
}

/** The `(level, msg)` hook the scheduler, worker, nanny and comm layers log through. */
export type LineLog = (level: "info" | "warn" | "error", msg: string) => void;

export function parseLogLevel(text: string, source = "--log-level"): LogLevel {
  const t = text.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(t)) return t as LogLevel;
  throw new SkeinError(`skein: ${source} must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(text)}`);
}

export function parseLogFormat(text: string, source = "--log-format"): LogFormat {
  const t = text.trim().toLowerCase();
  if ((LOG_FORMATS as readonly string[]).includes(t)) return t as LogFormat;
  throw new SkeinError(`skein: ${source} must be one of ${LOG_FORMATS.join(", ")}, got ${JSON.stringify(text)}`);
}

/** "auto" made concrete for `stream` (child processes inherit the decision, not the rule). */
export function resolveLogFormat(format: LogFormat, stream: NodeJS.WritableStream = process.stderr): "json" | "text" {
  if (format !== "auto") return format;
  return (stream as NodeJS.WritableStream & { isTTY?: boolean }).isTTY === true ? "text" : "json";
}

/**
 * Level and format from flags, then SKEIN_LOG_LEVEL / SKEIN_LOG_FORMAT, then "info" / "auto".
 * Bad values throw, naming where they came from.
 */
export function logSettings(flags: { logLevel?: string; logFormat?: string }, env: NodeJS.ProcessEnv = process.env): { level: LogLevel; format: LogFormat } {
  const level = flags.logLevel !== undefined ? parseLogLevel(flags.logLevel) : env.SKEIN_LOG_LEVEL ? parseLogLevel(env.SKEIN_LOG_LEVEL, "SKEIN_LOG_LEVEL") : "info";
  const format = flags.logFormat !== undefined ? parseLogFormat(flags.logFormat) : env.SKEIN_LOG_FORMAT ? parseLogFormat(env.SKEIN_LOG_FORMAT, "SKEIN_LOG_FORMAT") : "auto";
  return { level, format };
}

export function createLogger(o: LoggerOptions = {}): Logger {
  const stream = o.stream ?? process.stderr;
  const format = resolveLogFormat(o.format ?? "auto", stream);
  const options: pino.LoggerOptions = {
    level: o.level ?? "info",
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // "warn" reads better than 40 in a log line and is what collectors map levels from.
    formatters: { level: (label) => ({ level: label }) },
    ...(o.name !== undefined ? { name: o.name } : {}),
  };
  let dest: pino.DestinationStream;
  if (format === "text") dest = new TextDestination(stream);
  else if (o.stream === undefined) dest = pino.destination({ fd: 2, sync: true });
  else dest = stream as unknown as pino.DestinationStream;
  return pino(options, dest);
}

/** Adapt a logger to the servers' `(level, msg)` hooks. */
export function lineLog(logger: Logger): LineLog {
  return (level, msg) => logger[level](msg);
}

/** Fields shown by the text format's message; the others are appended as key=value. */
const OWN_FIELDS = new Set(["time", "level", "msg", "pid", "hostname", "name"]);

/** pino writes one JSON line per record; this turns it back into `<time> <level> <msg> k=v`. */
class TextDestination implements pino.DestinationStream {
  constructor(private readonly stream: NodeJS.WritableStream) {}

  write(line: string): void {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.stream.write(line);
      return;
    }
    let stack: string | undefined;
    let out = `${String(rec.time)} ${String(rec.level)} ${String(rec.msg ?? "")}`;
    for (const k of Object.keys(rec)) {
      if (OWN_FIELDS.has(k)) continue;
      const v = rec[k];
      if (k === "err" && v !== null && typeof v === "object" && typeof (v as { stack?: unknown }).stack === "string") {
        stack = (v as { stack: string }).stack;
        continue;
      }
      out += ` ${k}=${typeof v === "string" ? v : JSON.stringify(v)}`;
    }
    this.stream.write(out + "\n" + (stack !== undefined ? stack + "\n" : ""));
  }
}

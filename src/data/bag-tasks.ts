/**
 * Worker side of Bag: text and JSON-lines blocks, per-record map / filter / pluck, and the
 * partials of frequencies and foldBy (Maps from key to count or accumulator, merged as a tree).
 */
import { SkeinError } from "../errors.js";
import { loadFunction } from "../functions/load.js";
import type { FnRef } from "../graph/spec.js";
import { readBlock } from "./csv-tasks.js";
import { allocColumn } from "./partition.js";
import type { Column, FramePartition, Schema } from "./types.js";

type AnyFn = (...args: unknown[]) => unknown;

export interface TextBlockSpec {
  path: string;
  start: number;
  end: number;
}

function linesOf(text: string): string[] {
  const lines = text.split("\n");
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  for (let i = 0; i < lines.length; i++) if (lines[i].endsWith("\r")) lines[i] = lines[i].slice(0, -1);
  return lines;
}

export async function readTextTask(spec: TextBlockSpec): Promise<string[]> {
  return linesOf(await readBlock(spec));
}

export async function readJsonLinesTask(spec: TextBlockSpec): Promise<unknown[]> {
  const lines = linesOf(await readBlock(spec));
  const out: unknown[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    try {
      out.push(JSON.parse(lines[i]));
    } catch (err) {
      const where = spec.start === 0 ? `line ${i + 1}` : `line ${i + 1} of the block at byte ${spec.start}`;
      throw new SkeinError(`skein data: ${spec.path}: ${where} is not JSON (${(err as Error).message})`);
    }
  }
  return out;
}

export async function bagMapTask(records: unknown[], fn: FnRef, args: readonly unknown[]): Promise<unknown[]> {
  const f = (await loadFunction(fn)) as AnyFn;
  const out = new Array<unknown>(records.length);
  for (let i = 0; i < records.length; i++) out[i] = f(records[i], ...args);
  return out;
}

export async function bagFilterTask(records: unknown[], fn: FnRef, args: readonly unknown[]): Promise<unknown[]> {
  const f = (await loadFunction(fn)) as AnyFn;
  const out: unknown[] = [];
  for (const r of records) if (f(r, ...args)) out.push(r);
  return out;
}

export function pluckTask(records: unknown[], key: string | number, fallback: unknown): unknown[] {
  return records.map((r) => {
    const v = r !== null && typeof r === "object" ? (r as Record<string | number, unknown>)[key] : undefined;
    return v === undefined ? fallback : v;
  });
}

export function takeTask(records: unknown[], n: number): unknown[] {
  return records.length <= n ? records : records.slice(0, n);
}

export function flattenTask(...parts: unknown[][]): unknown[] {
  return parts.flat(1);
}

export function frequenciesTask(records: unknown[]): Map<unknown, number> {
  const m = new Map<unknown, number>();
  for (const r of records) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

export function mergeCountsTask(...maps: Map<unknown, number>[]): Map<unknown, number> {
  const out = new Map<unknown, number>();
  for (const m of maps) for (const [k, n] of m) out.set(k, (out.get(k) ?? 0) + n);
  return out;
}

/** Most frequent first; ties in first-seen order. */
export function countsToPairsTask(m: Map<unknown, number>): [unknown, number][] {
  return [...m].sort((a, b) => b[1] - a[1]);
}

async function keyFn(key: string | FnRef): Promise<(r: unknown) => unknown> {
  if (typeof key === "string") return (r: unknown) => (r !== null && typeof r === "object" ? (r as Record<string, unknown>)[key] : undefined);
  return (await loadFunction(key)) as (r: unknown) => unknown;
}

export async function foldByPartialTask(records: unknown[], key: string | FnRef, binop: FnRef, initial: unknown): Promise<Map<unknown, unknown>> {
  const k = await keyFn(key);
  const op = (await loadFunction(binop)) as AnyFn;
  const m = new Map<unknown, unknown>();
  for (const r of records) {
    const kk = k(r);
    m.set(kk, op(m.has(kk) ? m.get(kk) : structuredClone(initial), r));
  }
  return m;
}

export async function foldByCombineTask(combine: FnRef, initial: unknown, ...maps: Map<unknown, unknown>[]): Promise<Map<unknown, unknown>> {
  const op = (await loadFunction(combine)) as AnyFn;
  const out = new Map<unknown, unknown>();
  for (const m of maps) for (const [k, v] of m) out.set(k, op(out.has(k) ? out.get(k) : structuredClone(initial), v));
  return out;
}

export function mapToPairsTask(m: Map<unknown, unknown>): [unknown, unknown][] {
  return [...m];
}

/** Records (objects) to a partition; missing or null fields are NaN / null. */
export function recordsToFrameTask(records: unknown[], schema: Schema): FramePartition {
  const n = records.length;
  const columns = new Map<string, Column>();
  for (const f of schema) {
    const col = allocColumn(f.dtype, n) as unknown as Record<number, unknown>;
    for (let i = 0; i < n; i++) {
      const r = records[i] as Record<string, unknown> | null;
      const v = r !== null && typeof r === "object" ? r[f.name] : undefined;
      if (f.dtype === "string") col[i] = v === undefined || v === null ? null : String(v);
      else if (f.dtype === "int64" || f.dtype === "uint64") col[i] = BigInt(typeof v === "bigint" ? v : Math.trunc(Number(v ?? 0)));
      else if (f.dtype === "float64" || f.dtype === "float32") col[i] = v === undefined || v === null ? NaN : Number(v);
      else col[i] = Number(v ?? 0);
    }
    columns.set(f.name, col as unknown as Column);
  }
  return { rows: n, columns };
}

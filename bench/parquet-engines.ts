/**
 * Parquet engine measurement: which library decodes Parquet inside skein's workers.
 *
 *   npx tsx bench/parquet-engines.ts                  # 1,000,000 x 16 float64 in 4 files, 5 runs
 *   npx tsx bench/parquet-engines.ts --rows 200000 --repeat 3 --codecs snappy --engines skein,parquet-wasm
 *   npx tsx bench/parquet-engines.ts --json           # one JSON line per result on stdout
 *
 * Throughput: files written by DuckDB's COPY TO (16 DOUBLE columns of random(), 4 files) read
 * file by file, as a worker reads its partitions, into one Float64Array per column. Each
 * (engine, codec) runs in fresh child processes, so heaps, wasm memories and DuckDB threads do
 * not disturb each other; the engines take turns over --rounds rounds (default 3) of --repeat
 * timed runs each (default 5, after 2 warm-up runs), so a burst of load on a shared machine
 * hits them all alike. Time runs from the path to the finished columns (file reads included;
 * the files sit in the page cache after the warm-up). Figures are medians of all timed runs;
 * MB/s counts file bytes. Every engine's column sums are checked against the first engine's.
 *
 * Coverage: small files with each codec (DuckDB), dictionary and nullable columns (DuckDB),
 * data page v2, byte-stream-split, delta and Hadoop-framed LZ4 (parquet-wasm); an engine passes
 * a case when its sums and null counts equal DuckDB's.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { cpus } from "node:os";
import { join } from "node:path";
import { parquetMetadata, parquetRead } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import * as pw from "parquet-wasm";
import { tableFromIPC } from "apache-arrow";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { readRowGroups } from "../src/data/parquet/index.js";
import { decompressorNames } from "../src/data/parquet/decompress.js";
import { WASM_COLUMNS, WASM_ROWS, wasmParquet } from "../test/fixtures/parquet/wasm-table.js";

interface Args {
  rows: number;
  files: number;
  repeat: number;
  rounds: number;
  codecs: string[];
  dir: string;
  json: boolean;
  engines: string[] | undefined;
  /** Internal: measure one engine on the given files and print {samples, sums} as JSON. */
  child: { engine: string; files: string[] } | undefined;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    rows: 1_000_000,
    files: 4,
    repeat: 5,
    rounds: 3,
    codecs: ["snappy", "zstd", "uncompressed"],
    dir: join("bench", "out", "parquet-engines"),
    json: false,
    engines: undefined,
    child: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => argv[++i] ?? "";
    if (k === "--rows") a.rows = Number(v());
    else if (k === "--files") a.files = Number(v());
    else if (k === "--repeat") a.repeat = Number(v());
    else if (k === "--rounds") a.rounds = Number(v());
    else if (k === "--codecs") a.codecs = v().split(",");
    else if (k === "--dir") a.dir = v();
    else if (k === "--engines") a.engines = v().split(","); // ids: skein, hyparquet, parquet-wasm, duckdb-1, duckdb-2
    else if (k === "--json") a.json = true;
    else if (k === "--child") a.child = { engine: v(), files: v().split(",") };
    else throw new Error(`parquet-engines: unknown option ${k}`);
  }
  return a;
}

const COLS = 16;
const NAMES = Array.from({ length: COLS }, (_, j) => `c${j}`);

/** An engine reads one file into Float64Array columns (NaN for nulls). */
interface Engine {
  name: string;
  note: string;
  /** Throughput path: all columns are DOUBLE without nulls. */
  readDoubles(path: string): Promise<Float64Array[]>;
  /** Coverage path: any numeric column, nulls -> NaN. */
  readColumns(path: string, names: string[]): Promise<Map<string, Float64Array>>;
}

// --- engines -------------------------------------------------------------------------------

const skein: Engine = {
  name: "skein (hyparquet metadata + skein page decoder)",
  note: `pure JS; snappy: ${decompressorNames.SNAPPY}, zstd: ${decompressorNames.ZSTD}, gzip/brotli: node:zlib`,
  async readDoubles(path) {
    const b = await readRowGroups(path);
    return NAMES.map((n) => b.columns.get(n) as Float64Array);
  },
  async readColumns(path, names) {
    const b = await readRowGroups(path, { columns: names });
    const out = new Map<string, Float64Array>();
    for (const n of names) {
      const c = b.columns.get(n);
      out.set(n, c instanceof Float64Array ? c : Float64Array.from(c as ArrayLike<number>, Number));
    }
    return out;
  },
};

function memoryFile(path: string): { byteLength: number; slice(s: number, e?: number): ArrayBuffer } {
  const buf = readFileSync(path);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  return { byteLength: ab.byteLength, slice: (s, e) => ab.slice(s, e) };
}

async function hyparquetRead(path: string, names: string[]): Promise<Map<string, Float64Array>> {
  const file = memoryFile(path);
  const metadata = parquetMetadata(file.slice(0));
  const n = Number(metadata.num_rows);
  const out = new Map(names.map((c) => [c, new Float64Array(n)] as const));
  await parquetRead({
    file,
    metadata,
    columns: names,
    compressors,
    onChunk: ({ columnName, columnData, rowStart }) => {
      const o = out.get(columnName) as Float64Array;
      const d = columnData as ArrayLike<unknown>;
      for (let i = 0; i < d.length; i++) {
        const v = d[i];
        o[rowStart + i] = v === null || v === undefined ? NaN : Number(v);
      }
    },
  });
  return out;
}

const hyparquet: Engine = {
  name: "hyparquet (stock parquetRead, + hyparquet-compressors)",
  note: "pure JS + wasm snappy; rows come back as JS arrays, copied into Float64Array",
  async readDoubles(path) {
    const m = await hyparquetRead(path, NAMES);
    return NAMES.map((n) => m.get(n) as Float64Array);
  },
  readColumns: hyparquetRead,
};

function arrowTable(path: string, names?: string[]) {
  const bytes = readFileSync(path);
  const t = pw.readParquet(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
    batchSize: 65536,
    ...(names ? { columns: names } : {}),
  });
  return tableFromIPC(t.intoIPCStream());
}

const parquetWasm: Engine = {
  name: "parquet-wasm 0.8 (arrow-rs) + apache-arrow",
  note: "wasm (5 MB), result crosses as an Arrow IPC stream, then copied into Float64Array",
  async readDoubles(path) {
    const table = arrowTable(path);
    const n = table.numRows;
    return NAMES.map((_, j) => {
      const out = new Float64Array(n);
      let at = 0;
      for (const d of (table.getChildAt(j) as unknown as { data: readonly { values: Float64Array; length: number }[] }).data) {
        out.set(d.values.subarray(0, d.length), at);
        at += d.length;
      }
      return out;
    });
  },
  async readColumns(path, names) {
    const table = arrowTable(path, names);
    const out = new Map<string, Float64Array>();
    for (const name of names) {
      const v = table.getChild(name);
      if (!v) throw new Error(`no column ${name}`);
      const a = new Float64Array(table.numRows);
      for (let i = 0; i < a.length; i++) {
        const x = v.get(i) as unknown;
        a[i] = x === null || x === undefined ? NaN : typeof x === "boolean" ? (x ? 1 : 0) : Number(x);
      }
      out.set(name, a);
    }
    return out;
  },
};

async function duckEngine(threads: number): Promise<Engine & { close(): void }> {
  const inst = await DuckDBInstance.create(":memory:", { threads: String(threads) });
  const con: DuckDBConnection = await inst.connect();
  const stream = async (path: string, names: string[]) => {
    const r = await con.stream(`SELECT ${names.map((n) => `"${n}"`).join(", ")} FROM read_parquet('${path}')`);
    const chunks: { rowCount: number; getColumnVector(j: number): unknown }[] = [];
    for (;;) {
      const ch = await r.fetchChunk();
      if (!ch || ch.rowCount === 0) break;
      chunks.push(ch);
    }
    return chunks;
  };
  return {
    name: `@duckdb/node-api 1.5 (threads=${threads})`,
    note: "native addon (~60 MB); vectors copied out of DuckDB data chunks",
    async readDoubles(path) {
      const chunks = await stream(path, NAMES);
      let n = 0;
      for (const c of chunks) n += c.rowCount;
      return NAMES.map((_, j) => {
        const out = new Float64Array(n);
        let at = 0;
        for (const c of chunks) {
          out.set((c.getColumnVector(j) as { items: Float64Array }).items.subarray(0, c.rowCount), at);
          at += c.rowCount;
        }
        return out;
      });
    },
    async readColumns(path, names) {
      const chunks = await stream(path, names);
      let n = 0;
      for (const c of chunks) n += c.rowCount;
      const out = new Map<string, Float64Array>();
      names.forEach((name, j) => {
        const a = new Float64Array(n);
        let at = 0;
        for (const c of chunks) {
          const vec = c.getColumnVector(j) as { getItem(i: number): unknown };
          for (let i = 0; i < c.rowCount; i++) {
            const x = vec.getItem(i);
            a[at++] = x === null ? NaN : typeof x === "boolean" ? (x ? 1 : 0) : Number(x);
          }
        }
        out.set(name, a);
      });
      return out;
    },
    close() {
      con.closeSync();
      inst.closeSync();
    },
  };
}

// --- data ----------------------------------------------------------------------------------

async function makeData(con: DuckDBConnection, a: Args): Promise<Map<string, string[]>> {
  mkdirSync(a.dir, { recursive: true });
  const per = Math.ceil(a.rows / a.files);
  const select = NAMES.map((n) => `random() AS ${n}`).join(", ");
  const out = new Map<string, string[]>();
  for (const codec of a.codecs) {
    const files: string[] = [];
    for (let f = 0; f < a.files; f++) {
      const path = join(a.dir, `data-${a.rows}-${codec}-${f}.parquet`);
      if (!existsSync(path)) {
        log(`writing ${path}`);
        await con.run(`COPY (SELECT ${select} FROM range(${per})) TO '${path}' (FORMAT PARQUET, COMPRESSION ${codec})`);
      }
      files.push(path);
    }
    out.set(codec, files);
  }
  return out;
}

interface Case {
  name: string;
  path: string;
  columns: string[];
  /** Expected summary when DuckDB cannot be the reference (it does not read Hadoop LZ4). */
  truth?: string;
}

/** The summary the formulas of the parquet-wasm table give. */
function wasmTruth(names: string[]): string {
  const m = new Map<string, Float64Array>();
  for (const n of names) m.set(n, Float64Array.from({ length: WASM_ROWS }, (_, i) => Number(WASM_COLUMNS[n](i))));
  return summary(m, names);
}

const COVERAGE_SELECT = `SELECT
  CASE WHEN i % 7 = 0 THEN NULL ELSE (i * 0.5)::DOUBLE END AS d,
  (i % 1000)::INTEGER AS i,
  (i % 5)::DOUBLE AS k
FROM range(10000) t(i)`;

async function makeCoverage(con: DuckDBConnection, dir: string): Promise<Case[]> {
  const cases: Case[] = [];
  for (const codec of ["snappy", "gzip", "zstd", "lz4_raw", "brotli"]) {
    const path = join(dir, `cov-${codec}.parquet`);
    await con.run(`COPY (${COVERAGE_SELECT}) TO '${path}' (FORMAT PARQUET, COMPRESSION ${codec})`);
    cases.push({ name: codec, path, columns: ["d", "i"] });
  }
  cases.push({ name: "dictionary", path: join(dir, "cov-snappy.parquet"), columns: ["k"] });
  cases.push({ name: "nullable", path: join(dir, "cov-snappy.parquet"), columns: ["d"] });
  const v2 = join(dir, "cov-v2-bss-delta.parquet");
  writeFileSync(v2, wasmParquet({ version: "V2", compression: "ZSTD", specialEncodings: true }));
  cases.push({ name: "data page v2 (+ byte-stream-split, delta, nulls)", path: v2, columns: ["d", "f", "i", "l", "b"], truth: wasmTruth(["d", "f", "i", "l", "b"]) });
  const lz4 = join(dir, "cov-lz4-hadoop.parquet");
  writeFileSync(lz4, wasmParquet({ version: "V1", compression: "LZ4" }));
  cases.push({ name: "lz4 (Hadoop framing, deprecated)", path: lz4, columns: ["d", "i"], truth: wasmTruth(["d", "i"]) });
  return cases;
}

/** DuckDB's sums and null counts for a case (the reference). */
async function truthOf(con: DuckDBConnection, c: Case): Promise<string> {
  const exprs = c.columns.map((n) => `sum("${n}"::DOUBLE)::DOUBLE AS s_${n}, (count(*) - count("${n}"))::INTEGER AS n_${n}`);
  const reader = await con.runAndReadAll(`SELECT ${exprs.join(", ")} FROM read_parquet('${c.path}')`);
  return JSON.stringify(reader.getRowObjectsJS()[0]);
}

function summary(m: Map<string, Float64Array>, names: string[]): string {
  const o: Record<string, number> = {};
  for (const n of names) {
    const a = m.get(n) as Float64Array;
    let s = 0;
    let nulls = 0;
    for (let i = 0; i < a.length; i++) {
      if (Number.isNaN(a[i])) nulls++;
      else s += a[i];
    }
    o[`s_${n}`] = s;
    o[`n_${n}`] = nulls;
  }
  const ordered: Record<string, number> = {};
  for (const n of names) {
    ordered[`s_${n}`] = o[`s_${n}`];
    ordered[`n_${n}`] = o[`n_${n}`];
  }
  return JSON.stringify(ordered);
}

// --- measurement ---------------------------------------------------------------------------

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const gc = (globalThis as { gc?: () => void }).gc;

async function timeEngine(e: Engine, files: string[], repeat: number): Promise<{ samples: number[]; sums: number[] }> {
  let sums: number[] = [];
  const samples: number[] = [];
  const warmup = 2; // JIT, page cache, wasm compilation, heap growth
  for (let r = 0; r < warmup + repeat; r++) {
    gc?.();
    const t0 = performance.now();
    const results: Float64Array[][] = [];
    for (const f of files) results.push(await e.readDoubles(f));
    const dt = (performance.now() - t0) / 1000;
    if (r >= warmup) samples.push(dt);
    sums = NAMES.map((_, j) => {
      let s = 0;
      for (const cols of results) for (const v of cols[j]) s += v;
      return s;
    });
  }
  return { samples, sums };
}

const ENGINE_IDS = ["skein", "hyparquet", "parquet-wasm", "duckdb-1", "duckdb-2"] as const;

async function makeEngine(id: string): Promise<Engine & { close?: () => void }> {
  switch (id) {
    case "skein":
      return skein;
    case "hyparquet":
      return hyparquet;
    case "parquet-wasm":
      return parquetWasm;
    case "duckdb-1":
      return duckEngine(1);
    case "duckdb-2":
      return duckEngine(2);
    default:
      throw new Error(`parquet-engines: unknown engine ${id} (${ENGINE_IDS.join(", ")})`);
  }
}

/** Child mode: one engine, one set of files, in a fresh process. */
async function child(a: Args, c: { engine: string; files: string[] }): Promise<void> {
  const e = await makeEngine(c.engine);
  const r = await timeEngine(e, c.files, a.repeat);
  e.close?.();
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

function measureInChild(id: string, files: string[], repeat: number): { samples: number[]; sums: number[] } {
  const script = fileURLToPath(import.meta.url);
  const out = execFileSync(
    process.execPath,
    [...process.execArgv.filter((f) => f !== "--expose-gc"), "--expose-gc", script, "--child", id, files.join(","), "--repeat", String(repeat)],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 24 },
  );
  return JSON.parse(out.trim().split("\n").pop() as string) as { samples: number[]; sums: number[] };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.child) return child(a, a.child);
  const ids = a.engines ? ENGINE_IDS.filter((id) => a.engines?.includes(id)) : [...ENGINE_IDS];
  const engines: (Engine & { id: string; close?: () => void })[] = [];
  for (const id of ids) engines.push({ ...(await makeEngine(id)), id });
  const gen = await DuckDBInstance.create(":memory:", { threads: "2" });
  const con = await gen.connect();
  const data = await makeData(con, a);

  const rows: string[] = [];
  const lines: Record<string, unknown>[] = [];
  for (const codec of a.codecs) {
    const files = data.get(codec) as string[];
    let bytes = 0;
    for (const f of files) bytes += statSync(f).size;
    const fileRows = Math.ceil(a.rows / a.files) * a.files;
    let reference: number[] | undefined;
    const samplesOf = new Map<string, number[]>();
    const sumsOf = new Map<string, number[]>();
    for (let round = 0; round < a.rounds; round++) {
      for (const e of engines) {
        log(`${codec}, round ${round + 1}/${a.rounds}: ${e.name}`);
        const r = measureInChild(e.id, files, a.repeat);
        samplesOf.set(e.id, [...(samplesOf.get(e.id) ?? []), ...r.samples]);
        sumsOf.set(e.id, r.sums);
      }
    }
    for (const e of engines) {
      const samples = samplesOf.get(e.id) as number[];
      const sums = sumsOf.get(e.id) as number[];
      reference ??= sums;
      const agrees = sums.every((s, j) => Math.abs(s - (reference as number[])[j]) <= 1e-9 * Math.abs(s));
      const med = median(samples);
      const line = {
        bench: "parquet-engines",
        codec,
        engine: e.name,
        files: files.length,
        rows: fileRows,
        columns: COLS,
        file_mb: bytes / 1e6,
        median_s: med,
        min_s: Math.min(...samples),
        samples_s: samples,
        mb_per_s: bytes / 1e6 / med,
        rows_per_s: fileRows / med,
        sums_agree: agrees,
      };
      lines.push(line);
      rows.push(
        `| ${codec} | ${e.name} | ${med.toFixed(3)} | ${(bytes / 1e6 / med).toFixed(0)} | ${(fileRows / med / 1e6).toFixed(2)} M | ${agrees ? "yes" : "NO"} |`,
      );
    }
  }

  // coverage
  const covDir = join(a.dir, "coverage");
  mkdirSync(covDir, { recursive: true });
  const cases = await makeCoverage(con, covDir);
  const cov: string[] = [];
  for (const c of cases) {
    const truth = c.truth ?? (await truthOf(con, c));
    const cells: string[] = [];
    for (const e of engines) {
      let cell: string;
      try {
        const got = summary(await e.readColumns(c.path, c.columns), c.columns);
        cell = got === truth ? "yes" : `wrong values`;
        if (got !== truth) log(`${c.name} / ${e.name}: got ${got}, want ${truth}`);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        cell = `no (${msg.slice(0, 60)})`;
      }
      cells.push(cell);
      lines.push({ bench: "parquet-engines", coverage: c.name, engine: e.name, result: cell });
    }
    cov.push(`| ${c.name} | ${cells.join(" | ")} |`);
  }
  for (const e of engines) e.close?.();
  con.closeSync();
  gen.closeSync();

  if (a.json) {
    for (const l of lines) process.stdout.write(`${JSON.stringify(l)}\n`);
    return;
  }
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const out = [
    `Node ${process.versions.node}, ${cpus().length} x ${cpu}; ${a.rows.toLocaleString("en")} rows x ${COLS} float64 in ${a.files} files per codec; each engine in its own processes, taking turns over ${a.rounds} rounds of ${a.repeat} timed runs (after 2 warm-up runs); medians of the ${a.rounds * a.repeat} runs, GC between runs.`,
    "",
    "| codec | engine | median s | MB/s (file) | rows/s into Float64Array | sums agree |",
    "|---|---|---|---|---|---|",
    ...rows,
    "",
    `| case | ${engines.map((e) => e.name).join(" | ")} |`,
    `|---|${engines.map(() => "---").join("|")}|`,
    ...cov,
    "",
    ...engines.map((e) => `- ${e.name}: ${e.note}`),
  ];
  process.stdout.write(`${out.join("\n")}\n`);
}

await main();

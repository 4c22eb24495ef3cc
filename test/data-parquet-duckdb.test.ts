/**
 * Files written by DuckDB's COPY TO (another writer than skein's), with each codec DuckDB
 * writes and both of its format versions, read back with the sums, minima, maxima and null
 * counts DuckDB itself computes from them; footer statistics agree with the decoded values.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFooter, readRowGroups, type ReadBatch } from "../src/data/parquet/index.js";
import { openDuck, summarise, tempDir, type Duck } from "./fixtures/parquet/helpers.js";

const N = 5000;
const SELECT = `SELECT
  CASE WHEN i % 7 = 0 THEN NULL ELSE (i * 0.5)::DOUBLE END AS d,
  CASE WHEN i % 19 = 0 THEN NULL ELSE (i * 0.25 - 300)::DECIMAL(38,2) END AS dec128,
  (i % 1000)::INTEGER AS i32,
  CASE WHEN i % 11 = 0 THEN NULL ELSE (i * 37 % 5000 - 2500)::INTEGER END AS i32n,
  i::BIGINT * 3000000000 - 7 AS i64,
  CASE WHEN i % 9 = 0 THEN NULL ELSE -i::BIGINT * 5 END AS i64n,
  (i % 3 = 0) AS b,
  CASE WHEN i % 13 = 0 THEN NULL ELSE (i % 2 = 1) END AS bn,
  (i % 100)::FLOAT / 4 AS f,
  'id-' || (i % 50) AS s,
  CASE WHEN i % 17 = 0 THEN NULL ELSE 'k' || (i % 7) END AS sn,
  (i % 5)::DOUBLE AS lowcard,
  (i * 0.01)::DECIMAL(9,2) AS dec32,
  (i * 0.001)::DECIMAL(18,3) AS dec64,
  (4000000000 - i)::UINTEGER AS u32,
  DATE '2020-01-01' + i::INTEGER AS day
FROM range(${N}) t(i)`;

/** Numeric columns and how DuckDB expresses their value as a double. */
const NUMERIC: Record<string, string> = {
  d: "d",
  i32: "i32",
  i32n: "i32n",
  i64: "i64::DOUBLE",
  i64n: "i64n::DOUBLE",
  b: "b::INTEGER",
  bn: "bn::INTEGER",
  f: "f::DOUBLE",
  lowcard: "lowcard",
  dec32: "dec32::DOUBLE",
  dec64: "dec64::DOUBLE",
  dec128: "dec128::DOUBLE",
  u32: "u32::DOUBLE",
  day: "(day - DATE '1970-01-01')::INTEGER",
};

const CODECS = ["uncompressed", "snappy", "gzip", "zstd", "brotli", "lz4_raw"] as const;
const VERSIONS = ["V1", "V2"] as const;

let duck: Duck;
let tmp: ReturnType<typeof tempDir>;
/** DuckDB's own view of the data, computed once from the uncompressed file. */
let truth: Record<string, { sum: number; min: number; max: number; nulls: number }>;
let strings: Record<string, { count: number; min: string; max: string; distinct: number }>;

beforeAll(async () => {
  duck = await openDuck();
  tmp = tempDir("pq-duckdb");
  for (const codec of CODECS) {
    for (const v of VERSIONS) {
      await duck.run(
        `COPY (${SELECT}) TO '${tmp.path(`${codec}-${v}.parquet`)}' (FORMAT PARQUET, COMPRESSION ${codec}, PARQUET_VERSION ${v}, ROW_GROUP_SIZE 2048)`,
      );
    }
  }
  const src = `read_parquet('${tmp.path("uncompressed-V1.parquet")}')`;
  truth = {};
  for (const [name, expr] of Object.entries(NUMERIC)) {
    const [r] = await duck.rows(
      `SELECT sum(${expr})::DOUBLE AS sum, min(${expr})::DOUBLE AS min, max(${expr})::DOUBLE AS max, (count(*) - count(${name}))::INTEGER AS nulls FROM ${src}`,
    );
    truth[name] = r as (typeof truth)[string];
  }
  strings = {};
  for (const name of ["s", "sn"]) {
    const [r] = await duck.rows(
      `SELECT count(${name})::INTEGER AS count, min(${name}) AS min, max(${name}) AS max, count(DISTINCT ${name})::INTEGER AS distinct FROM ${src}`,
    );
    strings[name] = r as (typeof strings)[string];
  }
});

afterAll(() => {
  duck?.close();
  tmp?.remove();
});

function stringSummary(a: (string | null)[]): { count: number; min: string; max: string; distinct: number } {
  let count = 0;
  let min: string | undefined;
  let max: string | undefined;
  for (const v of a) {
    if (v === null) continue;
    count++;
    if (min === undefined || v < min) min = v;
    if (max === undefined || v > max) max = v;
  }
  return { count, min: min as string, max: max as string, distinct: new Set(a.filter((v) => v !== null)).size };
}

describe("files written by DuckDB", () => {
  it("DuckDB's truth is what the SELECT makes (sanity)", () => {
    expect(truth.d).toMatchObject({ min: 0.5, max: 2499.5, nulls: 715 });
    expect(truth.u32.min).toBe(3999995001);
  });

  for (const codec of CODECS) {
    for (const v of VERSIONS) {
      it(`${codec}, ${v}: sums, minima, maxima and null counts match DuckDB's`, async () => {
        const path = tmp.path(`${codec}-${v}.parquet`);
        const info = await readFooter(path);
        expect(info.numRows).toBe(N);
        expect(info.rowGroups.length).toBeGreaterThan(1);
        const codecName = codec.toUpperCase();
        for (const g of info.rowGroups) for (const c of g.columns) expect(c.codec).toBe(codecName);

        const batch = await readRowGroups(path);
        expect(batch.rows).toBe(N);
        for (const name of Object.keys(NUMERIC)) {
          const col = batch.columns.get(name) as ArrayLike<number>;
          const got = summarise(col);
          const want = truth[name];
          expect(got.nulls, name).toBe(want.nulls);
          expect(batch.nullCounts.get(name), name).toBe(want.nulls);
          expect(got.min, name).toBe(want.min);
          expect(got.max, name).toBe(want.max);
          if (name.startsWith("dec")) expect(got.sum, name).toBeCloseTo(want.sum, 6);
          else expect(got.sum, name).toBe(want.sum);
        }
        for (const name of ["s", "sn"]) {
          const col = batch.columns.get(name) as (string | null)[];
          expect(stringSummary(col), name).toEqual(strings[name]);
          expect(batch.nullCounts.get(name), name).toBe(N - strings[name].count);
        }
        expectTypes(batch);
      });
    }
  }

  it("footer statistics bound each row group's decoded values and count its nulls", async () => {
    for (const v of VERSIONS) {
      const path = tmp.path(`zstd-${v}.parquet`);
      const info = await readFooter(path);
      for (const g of info.rowGroups) {
        const batch = await readRowGroups(path, { rowGroups: [g.index], info });
        for (const col of info.columns) {
          const stats = g.columns[col.leaf].stats;
          expect(stats?.nullCount, `${v} group ${g.index} ${col.name}`).toBe(batch.nullCounts.get(col.name));
          const values = batch.columns.get(col.name);
          if (!values || Array.isArray(values) || col.physicalType === "BOOLEAN") continue;
          // Statistics are in the reader's terms (decimals scaled, dates in days): exact bounds.
          const s = summarise(values as ArrayLike<number>);
          expect(stats?.min, `${v} ${col.name} min`).toBe(s.min);
          expect(stats?.max, `${v} ${col.name} max`).toBe(s.max);
        }
      }
    }
  });

  it("describes DuckDB's schema", async () => {
    const info = await readFooter(tmp.path("snappy-V1.parquet"));
    const byName = Object.fromEntries(info.columns.map((c) => [c.name, c]));
    expect(info.createdBy).toMatch(/^DuckDB/);
    expect(byName.d).toMatchObject({ physicalType: "DOUBLE", nullable: true, nested: false });
    expect(byName.s).toMatchObject({ physicalType: "BYTE_ARRAY", logicalType: { type: "STRING" } });
    expect(byName.dec32).toMatchObject({ physicalType: "INT32", logicalType: { type: "DECIMAL", scale: 2, precision: 9 } });
    expect(byName.dec64).toMatchObject({ physicalType: "INT64", logicalType: { type: "DECIMAL", scale: 3, precision: 18 } });
    expect(byName.u32).toMatchObject({ physicalType: "INT32", logicalType: { type: "INTEGER", bitWidth: 32, isSigned: false } });
    expect(byName.day).toMatchObject({ physicalType: "INT32", logicalType: { type: "DATE" } });
    expect(info.rowGroups[0].columns.find((c) => c.path === "s")?.encodings).toContain("PLAIN_DICTIONARY");
    const v2 = await readFooter(tmp.path("snappy-V2.parquet"));
    expect(v2.rowGroups[0].columns.find((c) => c.path === "i64")?.encodings).toContain("DELTA_BINARY_PACKED");
    expect(v2.rowGroups[0].columns.find((c) => c.path === "s")?.encodings).toContain("RLE_DICTIONARY");
  });
});

function expectTypes(batch: ReadBatch): void {
  const types = Object.fromEntries([...batch.columns].map(([k, v]) => [k, v.constructor.name]));
  expect(types).toEqual({
    d: "Float64Array",
    dec128: "Float64Array",
    i32: "Int32Array",
    i32n: "Float64Array",
    i64: "Float64Array",
    i64n: "Float64Array",
    b: "Uint8Array",
    bn: "Float64Array",
    f: "Float64Array",
    s: "Array",
    sn: "Array",
    lowcard: "Float64Array",
    dec32: "Float64Array",
    dec64: "Float64Array",
    u32: "Float64Array",
    day: "Int32Array",
  });
}

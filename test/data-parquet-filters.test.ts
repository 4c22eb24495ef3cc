/**
 * selectRowGroups: row groups skipped only when their statistics prove nothing matches.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  readFooter,
  selectRowGroups,
  writeParquetFile,
  type ColumnArray,
  type ParquetFileInfo,
  type RowGroupInfo,
} from "../src/data/parquet/index.js";
import { tempDir } from "./fixtures/parquet/helpers.js";

let tmp: ReturnType<typeof tempDir>;
/** 10 row groups of 100 rows: x = row number, so group k holds x in [100k, 100k + 99]. */
let info: ParquetFileInfo;

beforeAll(async () => {
  tmp = tempDir("pq-filters");
  const p = tmp.path("sorted.parquet");
  const x = Float64Array.from({ length: 1000 }, (_, i) => i);
  const k = Int32Array.from({ length: 1000 }, (_, i) => Math.floor(i / 100));
  const s = Array.from({ length: 1000 }, (_, i) => `key-${String(Math.floor(i / 100)).padStart(2, "0")}`);
  // group 3 is all null in n; other groups hold n = 1
  const n = Float64Array.from({ length: 1000 }, (_, i) => (i >= 300 && i < 400 ? NaN : 1));
  const columns = new Map<string, ColumnArray>([
    ["x", x],
    ["k", k],
    ["s", s],
    ["n", n],
  ]);
  await writeParquetFile(p, { rows: 1000, columns, nullCounts: new Map([["n", 100]]) }, { rowGroupSize: 100 });
  info = await readFooter(p);
});
afterAll(() => tmp.remove());

const ALL = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

describe("selectRowGroups", () => {
  it("no filter keeps every row group", () => {
    expect(selectRowGroups(info, [])).toEqual(ALL);
  });

  it("comparisons on a sorted column", () => {
    expect(selectRowGroups(info, [["x", ">=", 450]])).toEqual([4, 5, 6, 7, 8, 9]);
    expect(selectRowGroups(info, [["x", ">", 499]])).toEqual([5, 6, 7, 8, 9]);
    expect(selectRowGroups(info, [["x", ">", 498.5]])).toEqual([4, 5, 6, 7, 8, 9]);
    expect(selectRowGroups(info, [["x", "<", 100]])).toEqual([0]);
    expect(selectRowGroups(info, [["x", "<=", 100]])).toEqual([0, 1]);
    expect(selectRowGroups(info, [["x", "==", 250]])).toEqual([2]);
    expect(selectRowGroups(info, [["x", "==", 250.5]])).toEqual([2]);
    expect(selectRowGroups(info, [["x", "==", -1]])).toEqual([]);
    expect(selectRowGroups(info, [["x", "in", [5, 950, 2000]]])).toEqual([0, 9]);
    expect(selectRowGroups(info, [["x", "in", []]])).toEqual([]);
  });

  it("a conjunction narrows, a disjunction of conjunctions widens", () => {
    expect(selectRowGroups(info, [["x", ">=", 200], ["x", "<", 400]])).toEqual([2, 3]);
    expect(selectRowGroups(info, [["x", ">=", 200], ["k", "==", 7]])).toEqual([7]);
    expect(
      selectRowGroups(info, [
        [["x", "<", 100]],
        [["x", ">", 899]],
      ]),
    ).toEqual([0, 9]);
    expect(selectRowGroups(info, [[["x", "<", 0]], [["k", "==", 42]]])).toEqual([]);
  });

  it("!= only skips a group whose every value equals, and never a float column", () => {
    expect(selectRowGroups(info, [["k", "!=", 4]])).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 9]);
    expect(selectRowGroups(info, [["s", "!=", "key-04"]])).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 9]);
    // n is 1 in groups other than 3, but a float column may hold NaN, for which != holds
    expect(selectRowGroups(info, [["n", "!=", 1]])).toEqual(ALL);
  });

  it("strings compare in byte order", () => {
    expect(selectRowGroups(info, [["s", ">=", "key-08"]])).toEqual([8, 9]);
    expect(selectRowGroups(info, [["s", "==", "key-05"]])).toEqual([5]);
    expect(selectRowGroups(info, [["s", "<", "key-01"]])).toEqual([0]);
  });

  it("a group of nulls only matches no comparison (but is kept for !=)", () => {
    expect(selectRowGroups(info, [["n", "==", 1]])).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]);
    expect(selectRowGroups(info, [["n", "!=", 5]])).toEqual(ALL);
  });

  it("values of another kind than the column's keep the group", () => {
    expect(selectRowGroups(info, [["x", "==", "250"]])).toEqual(ALL);
    expect(selectRowGroups(info, [["x", "<", 100n]])).toEqual([0]);
  });

  it("missing or NaN statistics keep the group", () => {
    const strip = (g: RowGroupInfo, i: number): RowGroupInfo =>
      i === 2 ? { ...g, columns: g.columns.map((c) => ({ ...c, stats: undefined })) } : g;
    const noStats: ParquetFileInfo = { ...info, rowGroups: info.rowGroups.map(strip) };
    expect(selectRowGroups(noStats, [["x", "==", 950]])).toEqual([2, 9]);
    const nanStats: ParquetFileInfo = {
      ...info,
      rowGroups: info.rowGroups.map((g, i) =>
        i === 1 ? { ...g, columns: g.columns.map((c) => ({ ...c, stats: { min: NaN, max: NaN, nullCount: 0 } })) } : g,
      ),
    };
    expect(selectRowGroups(nanStats, [["x", "<", 50]])).toEqual([0, 1]);
    expect(selectRowGroups(nanStats, [["x", ">", 950]])).toEqual([1, 9]);
  });

  it("empty row groups are dropped", () => {
    const withEmpty: ParquetFileInfo = { ...info, rowGroups: info.rowGroups.map((g, i) => (i === 4 ? { ...g, numRows: 0 } : g)) };
    expect(selectRowGroups(withEmpty, [])).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 9]);
  });

  it("rejects unknown columns and operators, naming them", () => {
    expect(() => selectRowGroups(info, [["y", "==", 1]])).toThrow(
      `skein parquet: ${info.path}: filter on unknown column "y" (columns: x, k, s, n)`,
    );
    expect(() => selectRowGroups(info, [["x", "~" as "==", 1]])).toThrow(
      `skein parquet: ${info.path}: filter on "x": unknown operator "~" (use ==, !=, <, <=, >, >=, in)`,
    );
    expect(() => selectRowGroups(info, [["x", "in", 3 as unknown as number[]]])).toThrow(
      `skein parquet: ${info.path}: filter on "x": "in" needs an array of values`,
    );
  });
});

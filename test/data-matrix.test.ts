import { describe, expect, it } from "vitest";
import {
  column,
  columnIndex,
  concatRows,
  countNaN,
  fromColumns,
  fromRows,
  get,
  isNumericVector,
  matrix,
  row,
  selectColumns,
  set,
  setColumn,
  sliceRows,
  toFloat64,
  transpose,
  zeros,
} from "../src/data/matrix.js";

const m23 = () => matrix(2, 3, Float64Array.of(1, 2, 3, 4, 5, 6), ["a", "b", "c"]);

describe("Matrix", () => {
  it("is row-major plain data over a Float64Array", () => {
    const m = m23();
    expect(get(m, 1, 0)).toBe(4);
    set(m, 0, 2, 30);
    expect(m.data).toEqual(Float64Array.of(1, 2, 30, 4, 5, 6));
    expect(structuredClone(m)).toEqual(m);
  });

  it("checks shape, data length and names", () => {
    expect(() => matrix(2, 2, new Float64Array(3))).toThrow("skein matrix: data has 3 elements, a 2 x 2 matrix needs 4");
    expect(() => matrix(1, 2, new Float64Array(2), ["x"])).toThrow("skein matrix: 1 column names for 2 columns");
    expect(() => zeros(-1, 2)).toThrow("skein matrix: shape -1 x 2 is not a pair of non-negative integers");
    expect(zeros(0, 3)).toEqual({ rows: 0, cols: 3, data: new Float64Array(0) });
  });

  it("builds from columns and rows", () => {
    expect(fromColumns([Float64Array.of(1, 4), [2, 5], Int32Array.of(3, 6)], ["a", "b", "c"])).toEqual(m23());
    expect(fromRows([[1, 2, 3], Float64Array.of(4, 5, 6)], ["a", "b", "c"])).toEqual(m23());
    expect(() => fromColumns([[1, 2], [3]])).toThrow("skein matrix: column 1 has 1 values, column 0 has 2");
    expect(() => fromRows([[1, 2], [3]])).toThrow("skein matrix: row 1 has 1 values, row 0 has 2");
    expect(fromRows([], ["a"])).toEqual({ rows: 0, cols: 1, data: new Float64Array(0), columns: ["a"] });
  });

  it("rows are views, columns are copies", () => {
    const m = m23();
    const r = row(m, 1);
    r[0] = 40;
    expect(get(m, 1, 0)).toBe(40);
    const c = column(m, 1);
    c[0] = 99;
    expect(column(m, 1)).toEqual(Float64Array.of(2, 5));
    const out = new Float64Array(2);
    expect(column(m, 2, out)).toBe(out);
    setColumn(m, 2, [7, 8]);
    expect(column(m, 2)).toEqual(Float64Array.of(7, 8));
    expect(() => row(m, 2)).toThrow("skein matrix: row 2 out of range 0..1");
    expect(() => column(m, 3)).toThrow("skein matrix: column 3 out of range 0..2");
  });

  it("finds, selects and reorders columns by name or index", () => {
    const m = m23();
    expect(columnIndex(m, "c")).toBe(2);
    expect(() => columnIndex(m, "z")).toThrow('skein matrix: no column "z" (columns: a, b, c)');
    expect(selectColumns(m, ["c", 0])).toEqual(matrix(2, 2, Float64Array.of(3, 1, 6, 4), ["c", "a"]));
    expect(() => selectColumns(m, [5])).toThrow("skein matrix: column 5 out of range 0..2");
  });

  it("slices rows without copying and concatenates", () => {
    const m = m23();
    const s = sliceRows(m, 1);
    expect(s).toEqual(matrix(1, 3, Float64Array.of(4, 5, 6), ["a", "b", "c"]));
    expect(s.data.buffer).toBe(m.data.buffer);
    expect(sliceRows(m, 1, 1).rows).toBe(0);
    expect(() => sliceRows(m, 1, 3)).toThrow("skein matrix: rows 1..3 out of range 0..2");
    expect(concatRows([m, zeros(0, 3), sliceRows(m, 0, 1)]).data).toEqual(Float64Array.of(1, 2, 3, 4, 5, 6, 1, 2, 3));
    expect(() => concatRows([m, zeros(1, 2)])).toThrow("skein matrix: matrix 1 has 2 columns, matrix 0 has 3");
  });

  it("transposes", () => {
    expect(transpose(m23())).toEqual({ rows: 3, cols: 2, data: Float64Array.of(1, 4, 2, 5, 3, 6) });
  });
});

describe("typed vectors", () => {
  it("toFloat64 keeps a Float64Array and converts the rest", () => {
    const f = Float64Array.of(1, 2);
    expect(toFloat64(f)).toBe(f);
    expect(toFloat64(Int32Array.of(-1, 2))).toEqual(Float64Array.of(-1, 2));
    expect(toFloat64([0.5])).toEqual(Float64Array.of(0.5));
  });

  it("isNumericVector and countNaN", () => {
    expect(isNumericVector(new Uint16Array(1))).toBe(true);
    expect(isNumericVector(new BigInt64Array(1))).toBe(false);
    expect(isNumericVector([1, 2])).toBe(false);
    expect(countNaN(Float64Array.of(NaN, 1, NaN))).toBe(2);
  });
});

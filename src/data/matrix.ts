/**
 * Dense row-major matrices over a Float64Array, and helpers for typed vectors. A `Matrix` is
 * plain data (it crosses to workers as one binary frame); functions here never allocate per
 * element and return views where a copy is not needed.
 */

export interface Matrix {
  rows: number;
  cols: number;
  /** Row-major: element (i, j) is data[i * cols + j]; length rows * cols. */
  data: Float64Array;
  /** Column names, when known (length cols). */
  columns?: string[];
}

/** Numeric typed arrays a vector may be held in. */
export type NumericVector =
  | Float64Array
  | Float32Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray;

const PREFIX = "skein matrix:";

function checkShape(rows: number, cols: number): void {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
    throw new RangeError(`${PREFIX} shape ${rows} x ${cols} is not a pair of non-negative integers`);
  }
}

/** A matrix over `data` (not copied). Checks that the length and the names fit the shape. */
export function matrix(rows: number, cols: number, data: Float64Array, columns?: string[]): Matrix {
  checkShape(rows, cols);
  if (data.length !== rows * cols) {
    throw new RangeError(`${PREFIX} data has ${data.length} elements, a ${rows} x ${cols} matrix needs ${rows * cols}`);
  }
  if (columns !== undefined && columns.length !== cols) {
    throw new RangeError(`${PREFIX} ${columns.length} column names for ${cols} columns`);
  }
  return columns ? { rows, cols, data, columns } : { rows, cols, data };
}

export function zeros(rows: number, cols: number, columns?: string[]): Matrix {
  checkShape(rows, cols);
  return matrix(rows, cols, new Float64Array(rows * cols), columns);
}

/** Copy column vectors (all of one length) into a row-major matrix. */
export function fromColumns(cols: readonly ArrayLike<number>[], columns?: string[]): Matrix {
  const nc = cols.length;
  const rows = nc ? cols[0].length : 0;
  for (let j = 1; j < nc; j++) {
    if (cols[j].length !== rows) {
      throw new RangeError(`${PREFIX} column ${j} has ${cols[j].length} values, column 0 has ${rows}`);
    }
  }
  const out = zeros(rows, nc, columns);
  for (let j = 0; j < nc; j++) setColumn(out, j, cols[j]);
  return out;
}

/** Copy row vectors (all of one length) into a matrix. */
export function fromRows(rowsIn: readonly ArrayLike<number>[], columns?: string[]): Matrix {
  const rows = rowsIn.length;
  const cols = rows ? rowsIn[0].length : (columns?.length ?? 0);
  const out = zeros(rows, cols, columns);
  const d = out.data;
  for (let i = 0; i < rows; i++) {
    const r = rowsIn[i];
    if (r.length !== cols) throw new RangeError(`${PREFIX} row ${i} has ${r.length} values, row 0 has ${cols}`);
    for (let j = 0; j < cols; j++) d[i * cols + j] = r[j];
  }
  return out;
}

export function get(m: Matrix, i: number, j: number): number {
  return m.data[i * m.cols + j];
}

export function set(m: Matrix, i: number, j: number, v: number): void {
  m.data[i * m.cols + j] = v;
}

/** Row i as a view into the matrix (writes go through). */
export function row(m: Matrix, i: number): Float64Array {
  if (!(i >= 0 && i < m.rows)) throw new RangeError(`${PREFIX} row ${i} out of range 0..${m.rows - 1}`);
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

/** Column j copied into `out` (allocated when absent). */
export function column(m: Matrix, j: number, out?: Float64Array): Float64Array {
  if (!(j >= 0 && j < m.cols)) throw new RangeError(`${PREFIX} column ${j} out of range 0..${m.cols - 1}`);
  const { rows, cols, data } = m;
  const o = out ?? new Float64Array(rows);
  if (o.length < rows) throw new RangeError(`${PREFIX} output holds ${o.length} values, the column has ${rows}`);
  for (let i = 0; i < rows; i++) o[i] = data[i * cols + j];
  return o;
}

export function setColumn(m: Matrix, j: number, values: ArrayLike<number>): void {
  const { rows, cols, data } = m;
  if (values.length !== rows) throw new RangeError(`${PREFIX} column of ${values.length} values for ${rows} rows`);
  for (let i = 0; i < rows; i++) data[i * cols + j] = values[i];
}

/** Index of column `name`; throws naming the known columns when absent. */
export function columnIndex(m: Matrix, name: string): number {
  const j = m.columns?.indexOf(name) ?? -1;
  if (j < 0) {
    throw new RangeError(`${PREFIX} no column "${name}" (columns: ${m.columns ? m.columns.join(", ") : "unnamed"})`);
  }
  return j;
}

/** Rows [start, end) as a view: no copy. */
export function sliceRows(m: Matrix, start: number, end: number = m.rows): Matrix {
  if (!(start >= 0 && start <= end && end <= m.rows)) {
    throw new RangeError(`${PREFIX} rows ${start}..${end} out of range 0..${m.rows}`);
  }
  const data = m.data.subarray(start * m.cols, end * m.cols);
  return m.columns ? { rows: end - start, cols: m.cols, data, columns: m.columns } : { rows: end - start, cols: m.cols, data };
}

/** A copy holding the chosen columns (by index or name), in the order given. */
export function selectColumns(m: Matrix, which: readonly (number | string)[]): Matrix {
  const idx = which.map((w) => (typeof w === "string" ? columnIndex(m, w) : w));
  for (const j of idx) if (!(j >= 0 && j < m.cols)) throw new RangeError(`${PREFIX} column ${j} out of range 0..${m.cols - 1}`);
  const { rows, cols, data } = m;
  const k = idx.length;
  const out = new Float64Array(rows * k);
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let c = 0; c < k; c++) out[i * k + c] = data[base + idx[c]];
  }
  const names = m.columns ? idx.map((j) => (m.columns as string[])[j]) : undefined;
  return matrix(rows, k, out, names);
}

/** Stack matrices with the same column count vertically (empty matrices are fine). */
export function concatRows(ms: readonly Matrix[]): Matrix {
  if (ms.length === 0) throw new RangeError(`${PREFIX} concatRows needs at least one matrix`);
  const cols = ms[0].cols;
  let rows = 0;
  for (let k = 0; k < ms.length; k++) {
    if (ms[k].cols !== cols) throw new RangeError(`${PREFIX} matrix ${k} has ${ms[k].cols} columns, matrix 0 has ${cols}`);
    rows += ms[k].rows;
  }
  const data = new Float64Array(rows * cols);
  let at = 0;
  for (const m of ms) {
    data.set(m.data.subarray(0, m.rows * cols), at);
    at += m.rows * cols;
  }
  return matrix(rows, cols, data, ms[0].columns);
}

export function transpose(m: Matrix): Matrix {
  const { rows, cols, data } = m;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let j = 0; j < cols; j++) out[j * rows + i] = data[base + j];
  }
  return { rows: cols, cols: rows, data: out };
}

/** A Float64Array with the values of `v`: `v` itself when it already is one (no copy). */
export function toFloat64(v: NumericVector | readonly number[]): Float64Array {
  if (v instanceof Float64Array) return v;
  return Float64Array.from(v as ArrayLike<number>);
}

/** True for the typed arrays `NumericVector` names (not BigInt arrays, not DataView). */
export function isNumericVector(v: unknown): v is NumericVector {
  return (
    v instanceof Float64Array ||
    v instanceof Float32Array ||
    v instanceof Int32Array ||
    v instanceof Uint32Array ||
    v instanceof Int16Array ||
    v instanceof Uint16Array ||
    v instanceof Int8Array ||
    v instanceof Uint8Array ||
    v instanceof Uint8ClampedArray
  );
}

/** Number of NaN values (nulls, after a Parquet read) in a vector. */
export function countNaN(v: Float64Array | Float32Array): number {
  let n = 0;
  for (let i = 0; i < v.length; i++) if (v[i] !== v[i]) n++;
  return n;
}

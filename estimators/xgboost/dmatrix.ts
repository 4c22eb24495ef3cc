/**
 * DMatrix: XGBoost's training/prediction matrix, built from a row-major Float64Array or
 * Float32Array without a JS copy — XGBoost reads the typed array's memory in place through an
 * `__array_interface__` (the path Python's xgboost takes for a numpy array) and quantises or
 * copies it into its own storage, so the typed array may be reused as soon as `create` returns.
 */
import { arrayInterface, check, num, readStrings, xgb } from "./ffi.js";
import type { Handle, XGBoostLib } from "./ffi.js";

/** Row-major dense input; `skein/data`'s Matrix fits (its `columns` become feature names). */
export interface DenseInput {
  rows: number;
  cols: number;
  data: Float64Array | Float32Array;
  columns?: string[];
}

export type FloatVector = Float64Array | Float32Array;

export interface DMatrixOptions {
  label?: FloatVector;
  weight?: FloatVector;
  baseMargin?: FloatVector;
  /** Query id per row (ranking); rows of a query must be contiguous. */
  qid?: Uint32Array;
  /** Query sizes, in row order (ranking): the alternative to `qid`. */
  group?: Uint32Array;
  /** Overrides `input.columns`. */
  featureNames?: string[];
  /** The value that marks a missing entry besides NaN (NaN is always missing). Default NaN. */
  missing?: number;
  /** Threads used to build the matrix; -1 (default) = all. */
  nthread?: number;
}

const registry = new FinalizationRegistry<{ lib: XGBoostLib; handle: Handle }>((h) => {
  h.lib.XGDMatrixFree(h.handle);
});

function checkVector(name: string, v: FloatVector, n: number): void {
  if (!(v instanceof Float64Array || v instanceof Float32Array)) {
    throw new TypeError(`skein xgboost: ${name} must be a Float64Array or Float32Array`);
  }
  if (v.length !== n) throw new RangeError(`skein xgboost: ${name} has ${v.length} values for ${n} rows`);
}

export class DMatrix {
  private h: Handle | null;
  private readonly lib: XGBoostLib;
  readonly rows: number;
  readonly cols: number;

  private constructor(lib: XGBoostLib, handle: Handle, rows: number, cols: number) {
    this.lib = lib;
    this.h = handle;
    this.rows = rows;
    this.cols = cols;
    registry.register(this, { lib, handle }, this);
  }

  static create(input: DenseInput, opts: DMatrixOptions = {}): DMatrix {
    const { rows, cols, data } = input;
    if (!(data instanceof Float64Array || data instanceof Float32Array)) {
      throw new TypeError("skein xgboost: DMatrix data must be a Float64Array or Float32Array");
    }
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0 || data.length !== rows * cols) {
      throw new RangeError(`skein xgboost: DMatrix data has ${data.length} values, a ${rows} x ${cols} matrix needs ${rows * cols}`);
    }
    const lib = xgb();
    const missing = opts.missing ?? Number.NaN;
    // XGBoost's JSON reader accepts NaN / Infinity tokens (Python's json.dumps writes them too).
    const missingJson = Number.isNaN(missing) ? "NaN" : !Number.isFinite(missing) ? (missing > 0 ? "Infinity" : "-Infinity") : String(missing);
    const config = `{"missing":${missingJson},"nthread":${opts.nthread ?? -1}}`;
    const out: (Handle | null)[] = [null];
    check(lib, lib.XGDMatrixCreateFromDense(arrayInterface(lib, data, [rows, cols]), config, out));
    const m = new DMatrix(lib, out[0]!, rows, cols);
    try {
      if (opts.label) m.setLabel(opts.label);
      if (opts.weight) m.setWeight(opts.weight);
      if (opts.baseMargin) m.setBaseMargin(opts.baseMargin);
      if (opts.qid) m.setQid(opts.qid);
      if (opts.group) m.setGroup(opts.group);
      const names = opts.featureNames ?? input.columns;
      if (names) m.setFeatureNames(names);
    } catch (e) {
      m.free();
      throw e;
    }
    return m;
  }

  /** The native handle; throws after `free()`. */
  get handle(): Handle {
    if (this.h === null) throw new Error("skein xgboost: this DMatrix has been freed");
    return this.h;
  }

  private setInfo(field: string, v: FloatVector): void {
    checkVector(field, v, this.rows);
    check(this.lib, this.lib.XGDMatrixSetInfoFromInterface(this.handle, field, arrayInterface(this.lib, v, [v.length])));
  }

  setLabel(v: FloatVector): void {
    this.setInfo("label", v);
  }
  setWeight(v: FloatVector): void {
    this.setInfo("weight", v);
  }
  setBaseMargin(v: FloatVector): void {
    this.setInfo("base_margin", v);
  }

  /** Query id per row (ranking). */
  setQid(qid: Uint32Array): void {
    if (!(qid instanceof Uint32Array)) throw new TypeError("skein xgboost: qid must be a Uint32Array");
    if (qid.length !== this.rows) throw new RangeError(`skein xgboost: qid has ${qid.length} values for ${this.rows} rows`);
    check(this.lib, this.lib.XGDMatrixSetInfoFromInterface(this.handle, "qid", arrayInterface(this.lib, qid, [qid.length])));
  }

  /** Query sizes in row order (ranking); they must sum to the number of rows. */
  setGroup(sizes: Uint32Array): void {
    if (!(sizes instanceof Uint32Array)) throw new TypeError("skein xgboost: group must be a Uint32Array");
    let total = 0;
    for (let i = 0; i < sizes.length; i++) total += sizes[i];
    if (total !== this.rows) throw new RangeError(`skein xgboost: group sizes sum to ${total}, the matrix has ${this.rows} rows`);
    check(this.lib, this.lib.XGDMatrixSetInfoFromInterface(this.handle, "group", arrayInterface(this.lib, sizes, [sizes.length])));
  }

  setFeatureNames(names: string[]): void {
    if (names.length !== this.cols) {
      throw new RangeError(`skein xgboost: ${names.length} feature names for ${this.cols} columns`);
    }
    check(this.lib, this.lib.XGDMatrixSetStrFeatureInfo(this.handle, "feature_name", names, names.length));
  }

  /** The feature names set on the matrix ([] when none). */
  featureNames(): string[] {
    const len: (number | bigint)[] = [0];
    const ptr: unknown[] = [null];
    check(this.lib, this.lib.XGDMatrixGetStrFeatureInfo(this.handle, "feature_name", len, ptr));
    return readStrings(this.lib, ptr[0], num(len[0]));
  }

  numRow(): number {
    const out: (number | bigint)[] = [0];
    check(this.lib, this.lib.XGDMatrixNumRow(this.handle, out));
    return num(out[0]);
  }

  numCol(): number {
    const out: (number | bigint)[] = [0];
    check(this.lib, this.lib.XGDMatrixNumCol(this.handle, out));
    return num(out[0]);
  }

  /** Entries that are not missing (NaN or the `missing` value). */
  numNonMissing(): number {
    const out: (number | bigint)[] = [0];
    check(this.lib, this.lib.XGDMatrixNumNonMissing(this.handle, out));
    return num(out[0]);
  }

  /** Releases the native matrix now (otherwise it is released when this object is collected). */
  free(): void {
    if (this.h === null) return;
    registry.unregister(this);
    const h = this.h;
    this.h = null;
    check(this.lib, this.lib.XGDMatrixFree(h));
  }
}

/**
 * ColumnTransformer: each transformer sees its own columns; the outputs are placed side by side
 * (in the order given, then the remainder when passed through), as scikit-learn's.
 */
import type { Matrix } from "../src/data/matrix.js";
import {
  BaseEstimator,
  PREFIX,
  describeValue,
  fromJSON,
  isEstimator,
  registerEstimator,
  type ConstraintTable,
  type Estimator,
  type EstimatorJSON,
  type EstimatorTags,
  type Params,
} from "./base.js";
import { takeColumns } from "./split.js";

export type ColumnSelector = readonly number[] | readonly string[];
export type ColumnTransformerEntry = [name: string, transformer: Estimator | "passthrough" | "drop", columns: ColumnSelector];

export interface ColumnTransformerParams extends Record<string, unknown> {
  transformers: ColumnTransformerEntry[];
  remainder: "drop" | "passthrough";
}

interface ColumnTransformerState {
  nFeatures: number;
  fitted: (EstimatorJSON | "passthrough" | "drop")[];
  columns: number[][];
  remainder: number[];
}

export class ColumnTransformer extends BaseEstimator<ColumnTransformerParams, ColumnTransformerState> {
  static override readonly estimatorName: string = "ColumnTransformer";
  private live: (Estimator | "passthrough" | "drop")[] | null = null;

  defaults(): ColumnTransformerParams {
    return { transformers: [], remainder: "drop" };
  }
  constraints(): ConstraintTable {
    return { transformers: { type: "array" }, remainder: { type: "enum", values: ["drop", "passthrough"] } };
  }
  get tags(): EstimatorTags {
    const all = this.params.transformers.map((t) => (isEstimator(t[1]) ? t[1].tags : {}));
    return { transformer: true, allowNaN: all.length > 0 && all.every((t) => t.allowNaN) };
  }

  private resolve(X: Matrix, sel: ColumnSelector, name: string): number[] {
    return sel.map((c) => {
      if (typeof c === "number") {
        if (!Number.isInteger(c) || c < 0 || c >= X.cols) throw new RangeError(`${PREFIX} ColumnTransformer: "${name}" selects column ${c}, X has ${X.cols} columns`);
        return c;
      }
      const i = X.columns ? X.columns.indexOf(c) : -1;
      if (i < 0) throw new RangeError(`${PREFIX} ColumnTransformer: "${name}" selects column "${c}", which X does not name`);
      return i;
    });
  }

  protected async fitState(X: Matrix, y: Float64Array | undefined): Promise<ColumnTransformerState> {
    this.live = null;
    const names = new Set<string>();
    const columns: number[][] = [];
    const fitted: (EstimatorJSON | "passthrough" | "drop")[] = [];
    const live: (Estimator | "passthrough" | "drop")[] = [];
    const used = new Uint8Array(X.cols);
    for (const entry of this.params.transformers) {
      if (!Array.isArray(entry) || entry.length !== 3 || typeof entry[0] !== "string" || !Array.isArray(entry[2])) {
        throw new TypeError(`${PREFIX} ColumnTransformer: each transformer must be [name, estimator | "passthrough" | "drop", columns], got ${describeValue(entry)}`);
      }
      const [name, t, sel] = entry;
      if (names.has(name) || name.includes("__") || name === "") throw new RangeError(`${PREFIX} ColumnTransformer: transformer name "${name}" is repeated, empty or contains "__"`);
      names.add(name);
      const cols = this.resolve(X, sel, name);
      for (const c of cols) used[c] = 1;
      columns.push(cols);
      if (t === "passthrough" || t === "drop") {
        fitted.push(t);
        live.push(t);
        continue;
      }
      if (!isEstimator(t) || !t.transform) throw new TypeError(`${PREFIX} ColumnTransformer: "${name}" must be a transformer, "passthrough" or "drop", got ${describeValue(t)}`);
      const est = t.clone();
      await est.fit(takeColumns(X, cols), y);
      fitted.push(est.toJSON());
      live.push(est);
    }
    const remainder: number[] = [];
    if (this.params.remainder === "passthrough") for (let c = 0; c < X.cols; c++) if (!used[c]) remainder.push(c);
    this.live = live;
    return { nFeatures: X.cols, fitted, columns, remainder };
  }

  override loadState(state: unknown): void {
    super.loadState(state);
    this.live = null;
  }

  transform(X: Matrix): Matrix {
    const s = this.fittedState("transform");
    this.checkPredictInput("transform", X, s.nFeatures);
    if (!this.live) this.live = s.fitted.map((f) => (f === "passthrough" || f === "drop" ? f : fromJSON(f)));
    const parts: Matrix[] = [];
    this.live.forEach((t, i) => {
      if (t === "drop") return;
      const sub = takeColumns(X, s.columns[i]);
      parts.push(t === "passthrough" ? sub : t.transform!(sub));
    });
    if (s.remainder.length) parts.push(takeColumns(X, s.remainder));
    let width = 0;
    for (const p of parts) width += p.cols;
    const out: Matrix = { rows: X.rows, cols: width, data: new Float64Array(X.rows * width) };
    let off = 0;
    for (const p of parts) {
      for (let r = 0; r < X.rows; r++) out.data.set(p.data.subarray(r * p.cols, r * p.cols + p.cols), r * width + off);
      off += p.cols;
    }
    return out;
  }

  override getParams(deep = true): Params {
    const out: Params = { transformers: this.params.transformers, remainder: this.params.remainder };
    if (!deep) return out;
    for (const [name, t] of this.params.transformers) {
      out[name] = t;
      if (isEstimator(t)) for (const [k, v] of Object.entries(t.getParams(true))) out[`${name}__${k}`] = v;
    }
    return out;
  }

  override setParams(params: Params): this {
    const nested = new Map<string, Params>();
    for (const [k, v] of Object.entries(params)) {
      if (k === "transformers" || k === "remainder") {
        (this.params as Params)[k] = v;
        continue;
      }
      const i = k.indexOf("__");
      const name = i < 0 ? k : k.slice(0, i);
      const at = this.params.transformers.findIndex((t) => t[0] === name);
      if (at < 0) {
        throw new TypeError(`${PREFIX} ColumnTransformer.setParams: "${k}" names no transformer; transformers: ${this.params.transformers.map((t) => t[0]).join(", ")}`);
      }
      if (i < 0) {
        this.params.transformers = this.params.transformers.map((t, j) => (j === at ? [name, v as Estimator, t[2]] : t));
      } else {
        if (!nested.has(name)) nested.set(name, {});
        nested.get(name)![k.slice(i + 2)] = v;
      }
    }
    for (const [name, p] of nested) {
      const t = this.params.transformers.find((e) => e[0] === name)![1];
      if (!isEstimator(t)) throw new TypeError(`${PREFIX} ColumnTransformer.setParams: "${name}" is "${String(t)}", it has no parameters`);
      t.setParams(p);
    }
    return this;
  }
}

registerEstimator(ColumnTransformer, import.meta.url);

/**
 * The estimator contract (scikit-learn's, in TypeScript idiom) and its shared machinery:
 * params stored unchanged by the constructor and validated in `fit` against a declarative
 * table; `getParams` / `setParams` with `step__param` nesting; `clone`; fitted state as plain
 * data (`toJSON` / `fromJSON` through a registry of estimator classes by name), so a fitted
 * estimator can travel to workers and be saved as text.
 */
import type { Matrix } from "../src/data/matrix.js";

export const PREFIX = "skein estimators:";

export type Params = Record<string, unknown>;

/** What an estimator can do: chooses the checks of `checkEstimator` and the default scorer. */
export interface EstimatorTags {
  classifier?: boolean;
  regressor?: boolean;
  transformer?: boolean;
  partialFit?: boolean;
  sampleWeight?: boolean;
  /** fit needs y (classifiers and regressors always do). */
  requiresY?: boolean;
  /** NaN in X is accepted (SimpleImputer). */
  allowNaN?: boolean;
}

export interface FitOptions {
  sampleWeight?: Float64Array;
}

/** Plain-data form of an estimator: params (estimators nested as EstimatorJSON) and fitted state. */
export interface EstimatorJSON {
  type: string;
  /** Module URL that registers `type`: workers import it when the type is unknown to them. */
  module?: string;
  params: Params;
  /** null when unfitted; typed arrays, numbers, strings, arrays and plain objects otherwise. */
  state: unknown;
}

export interface Estimator {
  /** Registry name of the class. */
  readonly estimatorType: string;
  readonly tags: EstimatorTags;
  readonly fitted: boolean;
  fit(X: Matrix, y?: Float64Array, opts?: FitOptions): Promise<this>;
  predict?(X: Matrix): Float64Array;
  predictProba?(X: Matrix): Matrix;
  transform?(X: Matrix): Matrix;
  /**
   * Optional column-wise predict / predictProba, which ParallelPostFit prefers on Frame
   * partitions (no row-major copy of the features): rows [lo, hi) of the feature columns (one
   * array per feature, in fit order) into `outs` (one array per output column, the same rows).
   * Returns false, writing nothing, when it cannot; the Matrix method is used then.
   */
  predictColumns?(method: "predict" | "predictProba", features: readonly Float64Array[], lo: number, hi: number, outs: readonly Float64Array[]): boolean;
  partialFit?(X: Matrix, y?: Float64Array, opts?: FitOptions): Promise<this>;
  /** Class labels seen in fit (classifiers). */
  classes?(): Float64Array;
  score(X: Matrix, y?: Float64Array): number;
  getParams(deep?: boolean): Params;
  setParams(params: Params): this;
  clone(): Estimator;
  toJSON(): EstimatorJSON;
  /** Installs fitted state from toJSON() (used by fromJSON unless the class has a static fromJSON). */
  loadState?(state: unknown): void;
}

// ------------------------------------------------------------------ constraints

/** One allowed form of a parameter. A param's constraint is one of these or a list (any of). */
export type Constraint =
  | { type: "number"; min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean; integer?: boolean; nan?: boolean }
  | { type: "boolean" }
  | { type: "string" }
  | { type: "enum"; values: readonly (string | number | boolean | null)[] }
  | { type: "estimator" }
  | { type: "array" }
  | { type: "null" }
  | { type: "any" };

export type ConstraintTable = Record<string, Constraint | readonly Constraint[]>;

function describeConstraint(c: Constraint): string {
  switch (c.type) {
    case "number": {
      const kind = c.integer ? "an integer" : "a number";
      const lo = c.min === undefined ? "" : `${c.minExclusive ? ">" : ">="} ${c.min}`;
      const hi = c.max === undefined ? "" : `${c.maxExclusive ? "<" : "<="} ${c.max}`;
      const range = [lo, hi].filter(Boolean).join(" and ");
      return range ? `${kind} ${range}` : kind;
    }
    case "boolean":
      return "a boolean";
    case "string":
      return "a string";
    case "enum":
      return `one of ${c.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "estimator":
      return "an estimator";
    case "array":
      return "an array";
    case "null":
      return "null";
    case "any":
      return "anything";
  }
}

function satisfies(c: Constraint, v: unknown): boolean {
  switch (c.type) {
    case "number":
      if (typeof v !== "number") return false;
      if (Number.isNaN(v)) return c.nan === true;
      if (c.integer && !Number.isInteger(v)) return false;
      if (c.min !== undefined && (c.minExclusive ? v <= c.min : v < c.min)) return false;
      if (c.max !== undefined && (c.maxExclusive ? v >= c.max : v > c.max)) return false;
      return true;
    case "boolean":
      return typeof v === "boolean";
    case "string":
      return typeof v === "string";
    case "enum":
      return c.values.includes(v as string);
    case "estimator":
      return isEstimator(v);
    case "array":
      return Array.isArray(v);
    case "null":
      return v === null;
    case "any":
      return true;
  }
}

export function describeValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined) return String(v);
  if (isEstimator(v)) return v.estimatorType;
  if (Array.isArray(v)) return `array of ${v.length}`;
  return typeof v;
}

/** Checks `params` against `table`: unknown names and values out of their constraints throw. */
export function validateParams(owner: string, table: ConstraintTable, params: Params): void {
  for (const name of Object.keys(params)) {
    if (!Object.prototype.hasOwnProperty.call(table, name)) {
      throw new TypeError(`${PREFIX} ${owner}: unknown parameter "${name}"; valid parameters: ${Object.keys(table).join(", ")}`);
    }
    const spec = table[name];
    const list: readonly Constraint[] = Array.isArray(spec) ? spec : [spec as Constraint];
    const v = params[name];
    if (!list.some((c) => satisfies(c, v))) {
      throw new RangeError(
        `${PREFIX} ${owner}: parameter "${name}" must be ${list.map(describeConstraint).join(" or ")}, got ${describeValue(v)}`,
      );
    }
  }
}

// ------------------------------------------------------------------ registry

/** A registrable class: constructed from params; a static `fromJSON` replaces construct + loadState. */
export type EstimatorClass = (new (params?: Params) => Estimator) & { readonly estimatorName: string; fromJSON?(json: EstimatorJSON): Estimator };

const registry = new Map<string, { cls: EstimatorClass; module?: string }>();

/**
 * Makes `cls` rebuildable from JSON by its `estimatorName`. Pass the defining module's
 * `import.meta.url` so that workers which do not know the class yet can import it.
 */
export function registerEstimator(cls: EstimatorClass, module?: string): void {
  registry.set(cls.estimatorName, { cls, module });
}

export function registeredModule(name: string): string | undefined {
  return registry.get(name)?.module;
}

export function isEstimator(v: unknown): v is Estimator {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as Estimator).fit === "function" &&
    typeof (v as Estimator).getParams === "function" &&
    typeof (v as Estimator).toJSON === "function"
  );
}

function isEstimatorJSON(v: unknown): v is EstimatorJSON {
  return typeof v === "object" && v !== null && typeof (v as EstimatorJSON).type === "string" && "params" in v && "state" in v;
}

/**
 * Non-estimator class instances allowed in params (splitters): encoded as `{ $codec: tag, data }`
 * by the codec that recognises them, and rebuilt by it.
 */
export interface ParamCodec {
  tag: string;
  test(v: unknown): boolean;
  encode(v: unknown): unknown;
  decode(data: unknown): unknown;
}

const codecs = new Map<string, ParamCodec>();

export function registerParamCodec(codec: ParamCodec): void {
  codecs.set(codec.tag, codec);
}

/** Params to plain data: nested estimators become `{ $estimator: EstimatorJSON }`. */
export function paramsToJSON(v: unknown): unknown {
  if (isEstimator(v)) return { $estimator: v.toJSON() };
  for (const c of codecs.values()) if (c.test(v)) return { $codec: c.tag, data: c.encode(v) };
  if (Array.isArray(v)) return v.map(paramsToJSON);
  if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Params = {};
    for (const [k, x] of Object.entries(v)) out[k] = paramsToJSON(x);
    return out;
  }
  return v;
}

export function paramsFromJSON(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(paramsFromJSON);
  if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    const o = v as Params;
    if ("$estimator" in o && isEstimatorJSON(o.$estimator)) return fromJSON(o.$estimator);
    if (typeof o.$codec === "string" && codecs.has(o.$codec)) return codecs.get(o.$codec)!.decode(o.data);
    const out: Params = {};
    for (const [k, x] of Object.entries(o)) out[k] = paramsFromJSON(x);
    return out;
  }
  return v;
}

/** Rebuilds an estimator (fitted or not) from `toJSON()` output. The class must be registered. */
export function fromJSON(json: EstimatorJSON): Estimator {
  if (!isEstimatorJSON(json)) throw new TypeError(`${PREFIX} fromJSON: not an estimator JSON: ${describeValue(json)}`);
  const entry = registry.get(json.type);
  if (!entry) {
    throw new TypeError(
      `${PREFIX} fromJSON: unknown estimator type "${json.type}"; registered: ${[...registry.keys()].sort().join(", ")} (call registerEstimator)`,
    );
  }
  const custom = (entry.cls as { fromJSON?: unknown }).fromJSON;
  if (typeof custom === "function") return (custom as (j: EstimatorJSON) => Estimator).call(entry.cls, json);
  const est = new entry.cls(paramsFromJSON(json.params) as Params);
  if (json.state !== null && json.state !== undefined) {
    if (typeof est.loadState !== "function") {
      throw new TypeError(`${PREFIX} fromJSON: ${json.type} cannot load fitted state: give it loadState(state) or a static fromJSON(json)`);
    }
    est.loadState(json.state);
  }
  return est;
}

/** Like fromJSON, importing `json.module` first (and that of nested estimators) when the type is unknown here. */
export async function fromJSONAsync(json: EstimatorJSON): Promise<Estimator> {
  await importUnknown(json);
  return fromJSON(json);
}

async function importUnknown(v: unknown): Promise<void> {
  if (Array.isArray(v)) {
    for (const x of v) await importUnknown(x);
    return;
  }
  if (v === null || typeof v !== "object" || Object.getPrototypeOf(v) !== Object.prototype) return;
  if (isEstimatorJSON(v) && !registry.has(v.type) && v.module) await import(v.module);
  for (const x of Object.values(v)) await importUnknown(x);
}

// ------------------------------------------------------------------ text form

/** JSON text of an estimator: typed arrays and non-finite numbers are tagged so they survive. */
export function saveEstimator(est: Estimator): string {
  return JSON.stringify(est.toJSON(), function (this: unknown, _k: string, v: unknown) {
    if (typeof v === "number" && !Number.isFinite(v)) return { $num: String(v) };
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const name = (v as { constructor: { name: string } }).constructor.name;
      return { $typed: name, data: Array.from(v as unknown as ArrayLike<number>, (x) => (Number.isFinite(x) ? x : String(x))) };
    }
    return v;
  });
}

const TYPED: Record<string, new (xs: number[]) => ArrayLike<number>> = {
  Float64Array,
  Float32Array,
  Int32Array,
  Uint32Array,
  Int16Array,
  Uint16Array,
  Int8Array,
  Uint8Array,
};

export function loadEstimator(text: string): Estimator {
  const json = JSON.parse(text, (_k, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o.$num === "string" && Object.keys(o).length === 1) return Number(o.$num);
      if (typeof o.$typed === "string" && Array.isArray(o.data) && TYPED[o.$typed]) {
        return new TYPED[o.$typed]((o.data as (number | string)[]).map(Number));
      }
    }
    return v;
  }) as EstimatorJSON;
  return fromJSON(json);
}

// ------------------------------------------------------------------ base class

export class NotFittedError extends Error {
  override name = "NotFittedError";
}

/** Deep copy of plain data (typed arrays copied), for state handed out or taken in. */
export function copyData<T>(v: T): T {
  if (ArrayBuffer.isView(v)) return (v as unknown as { slice(): T }).slice();
  if (Array.isArray(v)) return v.map(copyData) as T;
  if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = copyData(x);
    return out as T;
  }
  return v;
}

/**
 * Base of skein's estimators. Subclasses declare `estimatorName`, `defaults()`, `constraints()`,
 * `tags`, and implement `fitState` (returns the fitted state as plain data). The constructor keeps
 * the given params as they are (over the defaults); `fit` validates them.
 */
export abstract class BaseEstimator<P extends Params = Params, S = unknown> implements Estimator {
  static readonly estimatorName: string = "BaseEstimator";
  protected params: P;
  protected state: S | null = null;

  constructor(params: Partial<P> = {}) {
    this.params = { ...this.defaults(), ...params } as P;
  }

  abstract defaults(): P;
  abstract constraints(): ConstraintTable;
  abstract readonly tags: EstimatorTags;
  protected abstract fitState(X: Matrix, y: Float64Array | undefined, opts: FitOptions): Promise<S> | S;

  get estimatorType(): string {
    return (this.constructor as unknown as { estimatorName: string }).estimatorName;
  }

  get fitted(): boolean {
    return this.state !== null;
  }

  async fit(X: Matrix, y?: Float64Array, opts: FitOptions = {}): Promise<this> {
    validateParams(this.estimatorType, this.constraints(), this.params);
    checkXY(this.estimatorType, "fit", X, y, this.tags);
    if (opts.sampleWeight && !this.tags.sampleWeight) {
      throw new TypeError(`${PREFIX} ${this.estimatorType}.fit: sampleWeight is not supported`);
    }
    if (opts.sampleWeight && opts.sampleWeight.length !== X.rows) {
      throw new RangeError(`${PREFIX} ${this.estimatorType}.fit: sampleWeight has ${opts.sampleWeight.length} values, X has ${X.rows} rows`);
    }
    this.state = null;
    this.state = await this.fitState(X, y, opts);
    return this;
  }

  /** Throws NotFittedError naming the class and the method called too early. */
  protected fittedState(method: string): S {
    if (this.state === null) {
      throw new NotFittedError(`${PREFIX} ${this.estimatorType} is not fitted yet: call fit before ${method}()`);
    }
    return this.state;
  }

  /** Checks X before predict/transform: fitted, matrix, right number of columns. */
  protected checkPredictInput(method: string, X: Matrix, nFeatures: number): void {
    checkXY(this.estimatorType, method, X, undefined, this.tags);
    if (X.cols !== nFeatures) {
      throw new RangeError(`${PREFIX} ${this.estimatorType}.${method}: X has ${X.cols} columns, the estimator was fitted on ${nFeatures}`);
    }
  }

  score(X: Matrix, y?: Float64Array): number {
    if (!y) throw new TypeError(`${PREFIX} ${this.estimatorType}.score: y is required`);
    const self = this as Estimator;
    if (!self.predict) throw new TypeError(`${PREFIX} ${this.estimatorType} has no predict, so no default score`);
    const p = self.predict(X);
    if (this.tags.classifier) {
      let ok = 0;
      for (let i = 0; i < p.length; i++) if (p[i] === y[i]) ok++;
      return p.length ? ok / p.length : NaN;
    }
    return r2Score(y, p);
  }

  getParams(deep = true): Params {
    const out: Params = { ...this.params };
    if (deep) {
      for (const [k, v] of Object.entries(this.params)) {
        if (isEstimator(v)) for (const [k2, v2] of Object.entries(v.getParams(true))) out[`${k}__${k2}`] = v2;
      }
    }
    return out;
  }

  setParams(params: Params): this {
    const table = this.constraints();
    const nested = new Map<string, Params>();
    for (const [k, v] of Object.entries(params)) {
      const i = k.indexOf("__");
      if (i >= 0) {
        const head = k.slice(0, i);
        if (!isEstimator(this.params[head])) {
          throw new TypeError(`${PREFIX} ${this.estimatorType}.setParams: "${head}" in "${k}" is not an estimator parameter`);
        }
        if (!nested.has(head)) nested.set(head, {});
        nested.get(head)![k.slice(i + 2)] = v;
      } else {
        if (!Object.prototype.hasOwnProperty.call(table, k)) {
          throw new TypeError(`${PREFIX} ${this.estimatorType}: unknown parameter "${k}"; valid parameters: ${Object.keys(table).join(", ")}`);
        }
        (this.params as Params)[k] = v;
      }
    }
    for (const [head, p] of nested) (this.params[head] as Estimator).setParams(p);
    return this;
  }

  clone(): Estimator {
    const Ctor = this.constructor as new (p: Params) => Estimator;
    return new Ctor(cloneParams(this.params) as Params);
  }

  toJSON(): EstimatorJSON {
    const json: EstimatorJSON = { type: this.estimatorType, params: paramsToJSON(this.params) as Params, state: this.state };
    const module = registeredModule(this.estimatorType);
    if (module) json.module = module;
    return json;
  }

  /** Used by fromJSON: installs a fitted state (not copied: it came from plain data). */
  loadState(state: unknown): void {
    this.state = state as S;
  }
}

/** Params with nested estimators cloned (unfitted) and arrays copied. */
export function cloneParams(v: unknown): unknown {
  if (isEstimator(v)) return v.clone();
  if (Array.isArray(v)) return v.map(cloneParams);
  if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Params = {};
    for (const [k, x] of Object.entries(v)) out[k] = cloneParams(x);
    return out;
  }
  return v;
}

export function clone<E extends Estimator>(est: E): E {
  return est.clone() as E;
}

/** Shape and value checks shared by fit / predict / transform. */
export function checkXY(owner: string, method: string, X: Matrix, y: Float64Array | undefined, tags: EstimatorTags): void {
  if (!X || typeof X !== "object" || !(X.data instanceof Float64Array) || X.data.length !== X.rows * X.cols) {
    throw new TypeError(`${PREFIX} ${owner}.${method}: X must be a Matrix { rows, cols, data: Float64Array }, got ${describeValue(X)}`);
  }
  if (method === "fit" && X.rows === 0) throw new RangeError(`${PREFIX} ${owner}.fit: X has 0 rows`);
  if (!tags.allowNaN) {
    const d = X.data;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i])) {
        throw new RangeError(`${PREFIX} ${owner}.${method}: X has a non-finite value (${d[i]}) at row ${Math.floor(i / X.cols)}, column ${i % X.cols}`);
      }
    }
  }
  const needY = method === "fit" && (tags.classifier || tags.regressor || tags.requiresY);
  if (needY && !y) throw new TypeError(`${PREFIX} ${owner}.fit: y is required`);
  if (y) {
    if (!(y instanceof Float64Array)) throw new TypeError(`${PREFIX} ${owner}.${method}: y must be a Float64Array, got ${describeValue(y)}`);
    if (y.length !== X.rows) throw new RangeError(`${PREFIX} ${owner}.${method}: y has ${y.length} values, X has ${X.rows} rows`);
  }
}

/** R^2 (kept here so that the base class does not import metrics). */
export function r2Score(y: ArrayLike<number>, p: ArrayLike<number>): number {
  const n = y.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i];
  mean /= n;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < n; i++) {
    ssRes += (y[i] - p[i]) ** 2;
    ssTot += (y[i] - mean) ** 2;
  }
  if (ssTot === 0) return ssRes === 0 ? 1 : 0;
  return 1 - ssRes / ssTot;
}

/**
 * checkEstimator: the conformance suite of the estimator contract, for skein's estimators and
 * third-party ones. It returns named checks (plain async functions, no test framework inside),
 * chosen by the estimator's capability tags; a test file runs each with its own `it`:
 *
 *   for (const c of checkEstimator(() => new MyModel({ alpha: 1 }))) it(c.name, c.run);
 */
import type { Matrix } from "../src/data/matrix.js";
import { NotFittedError, PREFIX, fromJSON, isEstimator, loadEstimator, paramsToJSON, saveEstimator, type Estimator } from "./base.js";

export interface EstimatorCheck {
  name: string;
  run: () => Promise<void>;
}

export interface CheckOptions {
  /** Checks to leave out, each with the reason (unknown check names throw, so typos show). */
  skip?: readonly { check: string; reason: string }[];
}

class CheckFailure extends Error {
  override name = "CheckFailure";
}

// ------------------------------------------------------------------ data

/** Deterministic LCG so the datasets are the same everywhere. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

interface Dataset {
  X: Matrix;
  y: Float64Array;
}

/** Two well separated blobs in 3 features, labels `labels`. */
function classification(labels: [number, number] = [0, 1], n = 40): Dataset {
  const r = lcg(7);
  const X = new Float64Array(n * 3);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    y[i] = labels[c];
    for (let j = 0; j < 3; j++) X[i * 3 + j] = (c ? 1.5 : -1.5) + (r() - 0.5) * 2 + j * 0.1;
  }
  return { X: { rows: n, cols: 3, data: X }, y };
}

function regression(n = 40): Dataset {
  const r = lcg(11);
  const X = new Float64Array(n * 3);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 3; j++) X[i * 3 + j] = r() * 4 - 2;
    y[i] = 1.5 * X[i * 3] - 2 * X[i * 3 + 1] + 0.5 * X[i * 3 + 2] + 3 + (r() - 0.5) * 0.1;
  }
  return { X: { rows: n, cols: 3, data: X }, y };
}

function dataFor(est: Estimator): Dataset {
  return est.tags.classifier ? classification() : regression();
}

// ------------------------------------------------------------------ helpers

type Output = { method: string; value: Float64Array };

function outputs(est: Estimator, X: Matrix): Output[] {
  const out: Output[] = [];
  if (est.predict) out.push({ method: "predict", value: est.predict(X) });
  if (est.predictProba && est.tags.classifier) out.push({ method: "predictProba", value: est.predictProba(X).data });
  if (est.transform && est.tags.transformer) out.push({ method: "transform", value: est.transform(X).data });
  return out;
}

function sameOutputs(what: string, a: Output[], b: Output[], tol = 0): void {
  if (a.length !== b.length) throw new CheckFailure(`${what}: ${a.length} outputs vs ${b.length}`);
  for (let k = 0; k < a.length; k++) {
    const x = a[k].value;
    const y = b[k].value;
    if (x.length !== y.length) throw new CheckFailure(`${what}: ${a[k].method} gave ${x.length} values, then ${y.length}`);
    for (let i = 0; i < x.length; i++) {
      const ok = tol === 0 ? Object.is(x[i], y[i]) : Math.abs(x[i] - y[i]) <= tol * (1 + Math.abs(x[i]));
      if (!ok) throw new CheckFailure(`${what}: ${a[k].method} differs at ${i}: ${x[i]} vs ${y[i]}`);
    }
  }
}

function paramsText(est: Estimator): string {
  return JSON.stringify(paramsToJSON(est.getParams(false)));
}

async function expectThrows(what: string, f: () => unknown, pattern: RegExp): Promise<void> {
  try {
    await f();
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (!pattern.test(msg)) throw new CheckFailure(`${what}: threw "${msg}", expected a message matching ${pattern}`);
    return;
  }
  throw new CheckFailure(`${what}: did not throw`);
}

function copyMatrix(X: Matrix): Matrix {
  return { rows: X.rows, cols: X.cols, data: X.data.slice() };
}

// ------------------------------------------------------------------ the checks

type CheckFn = (factory: () => Estimator) => Promise<void>;

interface CheckDef {
  name: string;
  applies: (est: Estimator) => boolean;
  run: CheckFn;
}

const always = (): boolean => true;

const CHECKS: CheckDef[] = [
  {
    name: "getParams matches the constructor's params and clone",
    applies: always,
    run: async (factory) => {
      const est = factory();
      const p = est.getParams(false);
      if (p === null || typeof p !== "object") throw new CheckFailure("getParams did not return an object");
      const c = est.clone();
      if (c === est) throw new CheckFailure("clone returned the same object");
      if (paramsText(c) !== paramsText(est)) throw new CheckFailure(`clone params ${paramsText(c)} differ from ${paramsText(est)}`);
      if (c.estimatorType !== est.estimatorType) throw new CheckFailure(`clone is a ${c.estimatorType}, not a ${est.estimatorType}`);
    },
  },
  {
    name: "setParams(getParams()) returns this and changes nothing",
    applies: always,
    run: async (factory) => {
      const est = factory();
      const before = paramsText(est);
      const r = est.setParams(est.getParams(false));
      if (r !== est) throw new CheckFailure("setParams did not return this");
      if (paramsText(est) !== before) throw new CheckFailure(`params changed: ${before} -> ${paramsText(est)}`);
    },
  },
  {
    name: "setParams rejects an unknown parameter by name",
    applies: always,
    run: async (factory) => {
      await expectThrows("setParams({ noSuchParam__: 1 })", () => factory().setParams({ noSuchParam: 1 }), /noSuchParam/);
    },
  },
  {
    name: "predict / transform before fit fail clearly",
    applies: always,
    run: async (factory) => {
      const est = factory();
      const { X } = dataFor(est);
      if (est.fitted) throw new CheckFailure("a new estimator says it is fitted");
      let tried = 0;
      for (const m of ["predict", "predictProba", "transform"] as const) {
        const f = est[m];
        if (!f) continue;
        tried++;
        try {
          (f as (X: Matrix) => unknown).call(est, X);
        } catch (err) {
          if (err instanceof NotFittedError || (err instanceof Error && /not fitted/.test(err.message))) continue;
          throw new CheckFailure(`${m} before fit threw ${String(err)}, expected a "not fitted" error`);
        }
        throw new CheckFailure(`${m} before fit did not throw`);
      }
      if (tried === 0) throw new CheckFailure("the estimator has none of predict, predictProba, transform");
    },
  },
  {
    name: "fit returns this, and fitting twice gives the same model",
    applies: always,
    run: async (factory) => {
      const est = factory();
      const { X, y } = dataFor(est);
      const r = await est.fit(X, y);
      if (r !== est) throw new CheckFailure("fit did not resolve to the estimator itself");
      if (!est.fitted) throw new CheckFailure("fitted is false after fit");
      const a = outputs(est, X);
      await est.fit(X, y);
      sameOutputs("second fit", a, outputs(est, X));
      const other = factory();
      await other.fit(X, y);
      sameOutputs("a second estimator from the factory", a, outputs(other, X));
    },
  },
  {
    name: "fit does not change params or its inputs",
    applies: always,
    run: async (factory) => {
      const est = factory();
      const { X, y } = dataFor(est);
      const before = paramsText(est);
      const Xc = copyMatrix(X);
      const yc = y.slice();
      await est.fit(X, y);
      if (paramsText(est) !== before) throw new CheckFailure(`fit changed params: ${before} -> ${paramsText(est)}`);
      for (let i = 0; i < Xc.data.length; i++) if (!Object.is(Xc.data[i], X.data[i])) throw new CheckFailure(`fit changed X at ${i}`);
      for (let i = 0; i < yc.length; i++) if (yc[i] !== y[i]) throw new CheckFailure(`fit changed y at ${i}`);
    },
  },
  {
    name: "clone of a fitted estimator is unfitted with equal params",
    applies: always,
    run: async (factory) => {
      const est = factory();
      const { X, y } = dataFor(est);
      await est.fit(X, y);
      const c = est.clone();
      if (c.fitted) throw new CheckFailure("clone of a fitted estimator is fitted");
      if (paramsText(c) !== paramsText(est)) throw new CheckFailure(`clone params ${paramsText(c)} differ from ${paramsText(est)}`);
      const p = est.getParams(false);
      const q = c.getParams(false);
      for (const k of Object.keys(p)) {
        if (isEstimator(p[k]) && p[k] === q[k]) throw new CheckFailure(`clone shares the nested estimator "${k}"`);
      }
    },
  },
  {
    name: "toJSON -> fromJSON, structuredClone and save -> load give the same predictions",
    applies: always,
    run: async (factory) => {
      const est = factory();
      const { X, y } = dataFor(est);
      await est.fit(X, y);
      const a = outputs(est, X);
      const json = est.toJSON();
      const viaJson = fromJSON(structuredClone(json));
      if (!viaJson.fitted) throw new CheckFailure("fromJSON(toJSON()) is not fitted");
      sameOutputs("fromJSON(structuredClone(toJSON()))", a, outputs(viaJson, X));
      const text = saveEstimator(est);
      sameOutputs("loadEstimator(saveEstimator())", a, outputs(loadEstimator(text), X));
      const unfitted = fromJSON(factory().toJSON());
      if (unfitted.fitted) throw new CheckFailure("fromJSON of an unfitted estimator is fitted");
    },
  },
  {
    name: "predict with the wrong number of features fails",
    applies: always,
    run: async (factory) => {
      const est = factory();
      const { X, y } = dataFor(est);
      await est.fit(X, y);
      const wide: Matrix = { rows: 2, cols: X.cols + 1, data: new Float64Array(2 * (X.cols + 1)) };
      const m = est.predict ? "predict" : "transform";
      await expectThrows(`${m} on ${wide.cols} columns`, () => est[m]!(wide), /column/);
    },
  },
  {
    name: "fit rejects NaN in X",
    applies: (est) => !est.tags.allowNaN,
    run: async (factory) => {
      const est = factory();
      const { X, y } = dataFor(est);
      const bad = copyMatrix(X);
      bad.data[4] = NaN;
      await expectThrows("fit with NaN", () => est.fit(bad, y), /NaN|non-finite|missing/);
    },
  },
  {
    name: "classifier: classes are the sorted labels and predictions are labels",
    applies: (est) => est.tags.classifier === true,
    run: async (factory) => {
      const est = factory();
      const { X, y } = classification([3, 7]);
      await est.fit(X, y);
      if (!est.classes) throw new CheckFailure("a classifier must have classes()");
      const cls = Array.from(est.classes());
      if (cls.join(",") !== "3,7") throw new CheckFailure(`classes() is [${cls}], expected [3,7]`);
      const p = est.predict!(X);
      for (let i = 0; i < p.length; i++) if (p[i] !== 3 && p[i] !== 7) throw new CheckFailure(`predict gave ${p[i]}, not a label`);
      let ok = 0;
      for (let i = 0; i < p.length; i++) if (p[i] === y[i]) ok++;
      if (ok / p.length < 0.8) throw new CheckFailure(`training accuracy ${ok / p.length} on separable blobs`);
      if (est.predictProba) {
        const pr = est.predictProba(X);
        if (pr.rows !== X.rows || pr.cols !== 2) throw new CheckFailure(`predictProba is ${pr.rows} x ${pr.cols}, expected ${X.rows} x 2`);
        for (let i = 0; i < pr.rows; i++) {
          const s = pr.data[2 * i] + pr.data[2 * i + 1];
          if (Math.abs(s - 1) > 1e-9) throw new CheckFailure(`predictProba row ${i} sums to ${s}`);
        }
      }
    },
  },
  {
    name: "regressor: learns a linear signal (score > 0.5 on training data)",
    applies: (est) => est.tags.regressor === true,
    run: async (factory) => {
      const est = factory();
      const { X, y } = regression();
      await est.fit(X, y);
      const s = est.score(X, y);
      if (!(s > 0.5)) throw new CheckFailure(`score ${s}`);
      if (est.predict!(X).length !== X.rows) throw new CheckFailure("predict length differs from X.rows");
    },
  },
  {
    name: "transformer: one output row per input row",
    applies: (est) => est.tags.transformer === true,
    run: async (factory) => {
      const est = factory();
      const { X, y } = dataFor(est);
      await est.fit(X, y);
      const t = est.transform!(X);
      if (t.rows !== X.rows || t.data.length !== t.rows * t.cols) throw new CheckFailure(`transform gave ${t.rows} x ${t.cols} (${t.data.length} values) for ${X.rows} rows`);
    },
  },
  {
    name: "sampleWeight: unit weights equal no weights, integer weights equal repeated rows",
    applies: (est) => est.tags.sampleWeight === true,
    run: async (factory) => {
      const { X, y } = dataFor(factory());
      const a = await factory().fit(X, y);
      const b = await factory().fit(X, y, { sampleWeight: new Float64Array(X.rows).fill(1) });
      sameOutputs("unit weights", outputs(a, X), outputs(b, X), 1e-9);
      const w = new Float64Array(X.rows);
      const idx: number[] = [];
      for (let i = 0; i < X.rows; i++) {
        w[i] = i % 3;
        for (let k = 0; k < w[i]; k++) idx.push(i);
      }
      const Xr: Matrix = { rows: idx.length, cols: X.cols, data: new Float64Array(idx.length * X.cols) };
      idx.forEach((r, i) => Xr.data.set(X.data.subarray(r * X.cols, r * X.cols + X.cols), i * X.cols));
      const yr = Float64Array.from(idx, (r) => y[r]);
      const c = await factory().fit(X, y, { sampleWeight: w });
      const d = await factory().fit(Xr, yr);
      sameOutputs("integer weights vs repeated rows", outputs(c, X), outputs(d, X), 1e-8);
    },
  },
  {
    name: "partialFit: runs on chunks and leaves a fitted estimator",
    applies: (est) => est.tags.partialFit === true,
    run: async (factory) => {
      const est = factory();
      const { X, y } = dataFor(est);
      const half = X.rows >> 1;
      const c = X.cols;
      await est.partialFit!({ rows: half, cols: c, data: X.data.slice(0, half * c) }, y.slice(0, half));
      await est.partialFit!({ rows: X.rows - half, cols: c, data: X.data.slice(half * c) }, y.slice(half));
      if (!est.fitted) throw new CheckFailure("not fitted after partialFit");
      outputs(est, X);
    },
  },
];

/** The names of every check (for `skip`). */
export const CHECK_NAMES: readonly string[] = CHECKS.map((c) => c.name);

/**
 * The conformance checks that apply to the estimators `factory` makes (by their tags), minus
 * `skip`. Each check builds fresh estimators from `factory`, so it must return a new one per call.
 */
export function checkEstimator(factory: () => Estimator, opts: CheckOptions = {}): EstimatorCheck[] {
  const probe = factory();
  if (!isEstimator(probe)) throw new TypeError(`${PREFIX} checkEstimator: the factory did not return an estimator`);
  if (factory() === probe) throw new TypeError(`${PREFIX} checkEstimator: the factory must return a new estimator per call`);
  const skip = new Map<string, string>();
  for (const s of opts.skip ?? []) {
    if (!CHECK_NAMES.includes(s.check)) {
      throw new RangeError(`${PREFIX} checkEstimator: no check named "${s.check}"; checks: ${CHECK_NAMES.map((n) => JSON.stringify(n)).join(", ")}`);
    }
    if (!s.reason) throw new RangeError(`${PREFIX} checkEstimator: skipping "${s.check}" needs a reason`);
    skip.set(s.check, s.reason);
  }
  const type = probe.estimatorType;
  return CHECKS.filter((c) => c.applies(probe) && !skip.has(c.name)).map((c) => ({
    name: `${type}: ${c.name}`,
    run: async () => {
      try {
        await c.run(factory);
      } catch (err) {
        if (err instanceof CheckFailure) throw new Error(`${PREFIX} checkEstimator ${type} [${c.name}]: ${err.message}`);
        throw err;
      }
    },
  }));
}

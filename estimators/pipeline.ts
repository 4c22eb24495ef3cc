/**
 * Pipeline: named steps, every one but the last a transformer. Params address steps as
 * `name__param`. Fitting fits clones of the steps, so the steps given stay unfitted (the fitted
 * copies are the Pipeline's state, as EstimatorJSON).
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
  type FitOptions,
  type Params,
} from "./base.js";

export type Step = [name: string, estimator: Estimator];

export interface PipelineParams extends Record<string, unknown> {
  steps: Step[];
}

interface PipelineState {
  steps: EstimatorJSON[];
}

export class Pipeline extends BaseEstimator<PipelineParams, PipelineState> {
  static override readonly estimatorName: string = "Pipeline";
  private live: Estimator[] | null = null;

  constructor(params: Partial<PipelineParams> = {}) {
    super(params);
  }

  defaults(): PipelineParams {
    return { steps: [] };
  }
  constraints(): ConstraintTable {
    return { steps: { type: "array" } };
  }

  get steps(): Step[] {
    return this.params.steps;
  }

  get tags(): EstimatorTags {
    const steps = this.params.steps;
    const last = steps.length ? steps[steps.length - 1][1] : undefined;
    const all = steps.map((s) => (isEstimator(s[1]) ? s[1].tags : {}));
    const lt = last && isEstimator(last) ? last.tags : {};
    return {
      classifier: lt.classifier,
      regressor: lt.regressor,
      transformer: lt.transformer,
      requiresY: lt.requiresY,
      allowNaN: all.length > 0 && all[0].allowNaN,
      sampleWeight: lt.sampleWeight && all.every((t) => t.sampleWeight),
    };
  }

  private checkSteps(): void {
    const steps = this.params.steps;
    if (steps.length === 0) throw new RangeError(`${PREFIX} Pipeline: parameter "steps" must hold at least one [name, estimator] step`);
    const names = new Set<string>();
    steps.forEach((s, i) => {
      if (!Array.isArray(s) || s.length !== 2 || typeof s[0] !== "string" || !isEstimator(s[1])) {
        throw new TypeError(`${PREFIX} Pipeline: step ${i} must be [name, estimator], got ${describeValue(s)}`);
      }
      if (s[0].includes("__") || s[0] === "" || s[0] === "steps") {
        throw new RangeError(`${PREFIX} Pipeline: step name "${s[0]}" is not allowed (empty, "steps", or containing "__")`);
      }
      if (names.has(s[0])) throw new RangeError(`${PREFIX} Pipeline: step name "${s[0]}" is used twice`);
      names.add(s[0]);
      if (i < steps.length - 1 && !(s[1] as Estimator).transform) {
        throw new TypeError(`${PREFIX} Pipeline: step "${s[0]}" (${s[1].estimatorType}) is not the last step, so it must have transform()`);
      }
    });
  }

  protected async fitState(X: Matrix, y: Float64Array | undefined, opts: FitOptions): Promise<PipelineState> {
    this.live = null;
    this.checkSteps();
    const fitted: Estimator[] = [];
    let Xt = X;
    const steps = this.params.steps;
    for (let i = 0; i < steps.length; i++) {
      const est = steps[i][1].clone();
      const so = opts.sampleWeight ? { sampleWeight: opts.sampleWeight } : {};
      await est.fit(Xt, y, so);
      if (i < steps.length - 1) Xt = est.transform!(Xt);
      fitted.push(est);
    }
    this.live = fitted;
    return { steps: fitted.map((e) => e.toJSON()) };
  }

  override loadState(state: unknown): void {
    super.loadState(state);
    this.live = null;
  }

  override async fit(X: Matrix, y?: Float64Array, opts: FitOptions = {}): Promise<this> {
    this.checkSteps();
    return super.fit(X, y, opts);
  }

  /** The fitted step estimators (rebuilt from the state once). */
  fittedSteps(method = "fittedSteps"): Estimator[] {
    const s = this.fittedState(method);
    if (!this.live) this.live = s.steps.map((j) => fromJSON(j));
    return this.live;
  }

  private through(X: Matrix, method: string): { Xt: Matrix; last: Estimator } {
    const steps = this.fittedSteps(method);
    let Xt = X;
    for (let i = 0; i < steps.length - 1; i++) Xt = steps[i].transform!(Xt);
    return { Xt, last: steps[steps.length - 1] };
  }

  predict(X: Matrix): Float64Array {
    const { Xt, last } = this.through(X, "predict");
    if (!last.predict) throw new TypeError(`${PREFIX} Pipeline: the last step (${last.estimatorType}) has no predict()`);
    return last.predict(Xt);
  }
  predictProba(X: Matrix): Matrix {
    const { Xt, last } = this.through(X, "predictProba");
    if (!last.predictProba) throw new TypeError(`${PREFIX} Pipeline: the last step (${last.estimatorType}) has no predictProba()`);
    return last.predictProba(Xt);
  }
  transform(X: Matrix): Matrix {
    const { Xt, last } = this.through(X, "transform");
    if (!last.transform) throw new TypeError(`${PREFIX} Pipeline: the last step (${last.estimatorType}) has no transform()`);
    return last.transform(Xt);
  }
  classes(): Float64Array {
    const steps = this.fittedSteps("classes");
    const last = steps[steps.length - 1];
    if (!last.classes) throw new TypeError(`${PREFIX} Pipeline: the last step (${last.estimatorType}) has no classes()`);
    return last.classes();
  }
  override score(X: Matrix, y?: Float64Array): number {
    const { Xt, last } = this.through(X, "score");
    return last.score(Xt, y);
  }

  override getParams(deep = true): Params {
    const out: Params = { steps: this.params.steps };
    if (!deep) return out;
    for (const [name, est] of this.params.steps) {
      out[name] = est;
      for (const [k, v] of Object.entries(est.getParams(true))) out[`${name}__${k}`] = v;
    }
    return out;
  }

  override setParams(params: Params): this {
    const rest: Params = {};
    for (const [k, v] of Object.entries(params)) {
      if (k === "steps") {
        this.params.steps = v as Step[];
        continue;
      }
      const i = k.indexOf("__");
      const name = i >= 0 ? k.slice(0, i) : k;
      const at = this.params.steps.findIndex((s) => s[0] === name);
      if (at < 0) {
        throw new TypeError(
          `${PREFIX} Pipeline.setParams: "${k}" names no step; steps: ${this.params.steps.map((s) => s[0]).join(", ")}`,
        );
      }
      if (i < 0) {
        if (!isEstimator(v)) throw new TypeError(`${PREFIX} Pipeline.setParams: step "${name}" must be an estimator, got ${describeValue(v)}`);
        this.params.steps = this.params.steps.map((s, j) => (j === at ? [name, v] : s));
      } else {
        rest[k] = v;
      }
    }
    const byStep = new Map<string, Params>();
    for (const [k, v] of Object.entries(rest)) {
      const i = k.indexOf("__");
      const name = k.slice(0, i);
      if (!byStep.has(name)) byStep.set(name, {});
      byStep.get(name)![k.slice(i + 2)] = v;
    }
    for (const [name, p] of byStep) this.params.steps.find((s) => s[0] === name)![1].setParams(p);
    return this;
  }
}

/** `makePipeline(a, b)`: steps named after their class, lower-cased (sklearn's make_pipeline). */
export function makePipeline(...estimators: Estimator[]): Pipeline {
  const counts = new Map<string, number>();
  for (const e of estimators) counts.set(e.estimatorType.toLowerCase(), (counts.get(e.estimatorType.toLowerCase()) ?? 0) + 1);
  const seen = new Map<string, number>();
  const steps: Step[] = estimators.map((e) => {
    const base = e.estimatorType.toLowerCase();
    if (counts.get(base)! === 1) return [base, e];
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return [`${base}-${n}`, e];
  });
  return new Pipeline({ steps });
}

registerEstimator(Pipeline, import.meta.url);

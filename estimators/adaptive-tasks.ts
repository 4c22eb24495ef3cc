/**
 * Task functions of the adaptive searches (successive halving, hyperband) that the grid search
 * does not have: continuing a partially trained model with more `partialFit` calls. The model of
 * rung k stays on the workers under its key; rung k + 1's task reads it from there. Failures are
 * values (`ok: false`), as in search-tasks.ts, so one failing candidate marks only itself.
 */
import { fromJSONAsync } from "./base.js";
import type { Carry, Fitted, StepSpec } from "./search-tasks.js";
// Side effects: register skein's estimator classes on the worker.
import "./search-tasks.js";

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * `calls` more partialFit calls over the training rows: on a fresh estimator built from `spec`
 * when `prev` is null, else on the model `prev` holds. `fitTime` is this step's time only.
 */
export async function partialFitStep(spec: StepSpec, prev: Fitted | null, train: Carry, calls: number): Promise<Fitted> {
  if (prev && !prev.ok) return prev;
  if (!train.ok) return { ok: false, error: train.error, fitTime: 0 };
  const t0 = performance.now();
  try {
    // A copy: in-process runs share the previous rung's value, which must stay as it was.
    const est = await fromJSONAsync(prev ? structuredClone(prev.model) : spec.estimator);
    if (!est.partialFit) throw new TypeError(`${est.estimatorType} has no partialFit()`);
    const opts = train.w ? { sampleWeight: train.w } : {};
    for (let i = 0; i < calls; i++) await est.partialFit(train.X, train.y ?? undefined, opts);
    return { ok: true, model: est.toJSON(), fitTime: (performance.now() - t0) / 1000, X: null, y: null };
  } catch (err) {
    return { ok: false, error: `step "${spec.step}" (${spec.estimator.type}) partialFit: ${message(err)}`, fitTime: (performance.now() - t0) / 1000 };
  }
}

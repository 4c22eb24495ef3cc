/**
 * OnnxModel: an `.onnx` file as a skein estimator. It is pre-fitted: `fit` learns nothing; it
 * loads the file (reads it, hashes it, opens it in onnxruntime, reads the input / output names
 * and shapes) and records that as plain fitted state, so the model travels to workers as a path,
 * a content hash and a little metadata (never the bytes). Each task thread that predicts opens
 * the file once and reuses the session for every partition after (runtime.ts).
 */
import { isAbsolute, resolve } from "node:path";
import type { Matrix } from "../../src/data/matrix.js";
import {
  BaseEstimator,
  NotFittedError,
  PREFIX,
  checkXY,
  registerEstimator,
  validateParams,
  type ConstraintTable,
  type EstimatorTags,
  type FitOptions,
} from "../base.js";
import { onnxProto } from "./proto.js";
import { cachedSession, openSession, readModelFile, runSession, type OnnxSession, type OnnxValueInfo } from "./runtime.js";

export type OnnxModelKind = "auto" | "classifier" | "regressor" | "transformer";

export interface OnnxModelParams extends Record<string, unknown> {
  /** The `.onnx` file; resolved against the current directory when loaded. Workers read the same path. */
  path: string;
  /** The model input fed with X. Default: the model's only input. */
  inputName: string | null;
  /**
   * Output of predict (one value per row) and transform (any width). Default: "label" if the
   * model has it, else "variable", else its first tensor output.
   */
  outputName: string | null;
  /** Output of predictProba (rows x classes). Default: "probabilities" if the model has it, else none. */
  probabilityOutput: string | null;
  /**
   * What the model is, for tags (scorer, checks): "auto" decides after loading (a probability
   * output: classifier; a one-column output: regressor; otherwise transformer).
   */
  kind: OnnxModelKind;
  /** Class labels, in probability-column order. Default: the model's "skein.classes" metadata (toOnnx writes it). */
  classes: number[] | null;
  /** onnxruntime intra-op threads per session. Default 1: skein already runs one task per core. */
  intraOpNumThreads: number;
}

/** Fitted state: what was read from the file (plain data). */
export interface OnnxModelState {
  /** Absolute path the file was loaded from. */
  path: string;
  sha256: string;
  bytes: number;
  inputName: string;
  inputType: "float32" | "float64";
  /** Width of the input; null when the model leaves it symbolic. */
  nFeatures: number | null;
  predictOutput: string;
  probabilityOutput: string | null;
  classes: Float64Array | null;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** The model's metadata_props. */
  metadata: Record<string, string>;
}

function describeIO(vs: readonly OnnxValueInfo[]): string {
  return vs.map((v) => `${v.name} (${v.isTensor ? `${v.type} [${v.shape.join(", ")}]` : "not a tensor"})`).join(", ");
}

function metadataOf(bytes: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  try {
    for (const p of onnxProto().ModelProto.decode(bytes).metadataProps) if (p.key) out[p.key] = p.value ?? "";
  } catch {
    // onnxruntime already accepted the bytes; metadata is optional.
  }
  return out;
}

/** A tensor's values as float64 (labels may come as int64 / int32, outputs as float32). */
function toFloat64(name: string, data: ArrayLike<number | bigint | string | boolean>): Float64Array {
  if (data instanceof Float64Array) return data;
  const n = data.length;
  const out = new Float64Array(n);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) out[i] = Number(data[i]);
    return out;
  }
  if (n > 0 && typeof data[0] === "string") throw new TypeError(`${PREFIX} OnnxModel: output "${name}" holds strings; only numeric outputs are supported`);
  for (let i = 0; i < n; i++) out[i] = Number(data[i]);
  return out;
}

export class OnnxModel extends BaseEstimator<OnnxModelParams, OnnxModelState> {
  static override readonly estimatorName: string = "OnnxModel";

  /** `new OnnxModel({ path, ...params }).fit()`: the model loaded and ready to predict. */
  static load(path: string, params: Partial<Omit<OnnxModelParams, "path">> = {}): Promise<OnnxModel> {
    return new OnnxModel({ ...params, path }).fit();
  }

  defaults(): OnnxModelParams {
    return { path: "", inputName: null, outputName: null, probabilityOutput: null, kind: "auto", classes: null, intraOpNumThreads: 1 };
  }

  constraints(): ConstraintTable {
    return {
      path: { type: "string" },
      inputName: [{ type: "null" }, { type: "string" }],
      outputName: [{ type: "null" }, { type: "string" }],
      probabilityOutput: [{ type: "null" }, { type: "string" }],
      kind: { type: "enum", values: ["auto", "classifier", "regressor", "transformer"] },
      classes: [{ type: "null" }, { type: "array" }],
      intraOpNumThreads: { type: "number", min: 1, integer: true },
    };
  }

  /** NaN goes to the model as it is (ONNX models may handle missing values); the model decides. */
  get tags(): EstimatorTags {
    let kind = this.params.kind;
    if (kind === "auto" && this.state) {
      const s = this.state;
      const out = s.outputs.find((o) => o.name === s.predictOutput);
      kind = s.probabilityOutput !== null ? "classifier" : out && out.shape.length === 2 && out.shape[1] !== 1 ? "transformer" : "regressor";
    }
    const tags: EstimatorTags = { allowNaN: true };
    if (kind === "classifier") tags.classifier = true;
    else if (kind === "regressor") tags.regressor = true;
    else if (kind === "transformer") tags.transformer = true;
    return tags;
  }

  /**
   * Loads the file: no training happens, so X and y are optional. A local Matrix X is checked
   * against the model's input width (and y against X); anything else given as X (a partitioned
   * collection handed down by a wrapper) is not looked at. Validates the params against the model.
   */
  override async fit(X?: Matrix | object, y?: Float64Array, _opts: FitOptions = {}): Promise<this> {
    validateParams(this.estimatorType, this.constraints(), this.params);
    if (this.params.path === "") throw new TypeError(`${PREFIX} OnnxModel: parameter "path" is required (the .onnx file to run)`);
    this.state = null;
    const state = this.load();
    if (X !== undefined && "rows" in X && "data" in X) {
      const M = X as Matrix;
      checkXY(this.estimatorType, "fit", M, y, { allowNaN: true });
      this.checkWidth("fit", M, state);
    }
    this.state = state;
    return this;
  }

  protected fitState(): OnnxModelState {
    return this.load();
  }

  private load(): OnnxModelState {
    const p = this.params;
    const path = isAbsolute(p.path) ? p.path : resolve(p.path);
    const bytes = readModelFile(path);
    const session = openSession(bytes, `"${path}"`, { intraOpNumThreads: p.intraOpNumThreads });
    try {
      return this.describe(path, session, bytes);
    } finally {
      session.native.dispose?.();
    }
  }

  private describe(path: string, session: OnnxSession, bytes: Uint8Array): OnnxModelState {
    const p = this.params;
    const { inputs, outputs, sha256 } = session.info;
    const where = `model "${path}"`;
    let input: OnnxValueInfo | undefined;
    if (p.inputName !== null) {
      input = inputs.find((i) => i.name === p.inputName);
      if (!input) throw new RangeError(`${PREFIX} OnnxModel: ${where} has no input "${p.inputName}"; inputs: ${describeIO(inputs)}`);
    } else {
      if (inputs.length !== 1) throw new RangeError(`${PREFIX} OnnxModel: ${where} has ${inputs.length} inputs (${describeIO(inputs)}); name the one to feed X with inputName`);
      input = inputs[0];
    }
    if (inputs.length > 1) throw new RangeError(`${PREFIX} OnnxModel: ${where} needs ${inputs.length} inputs (${describeIO(inputs)}); OnnxModel feeds only X`);
    if (!input.isTensor || (input.type !== "float32" && input.type !== "float64")) {
      throw new TypeError(`${PREFIX} OnnxModel: input ${describeIO([input])} of ${where} is not a float32 / float64 tensor`);
    }
    if (input.shape.length !== 2) {
      throw new RangeError(`${PREFIX} OnnxModel: input ${describeIO([input])} of ${where} is not 2-D; OnnxModel feeds X as [rows, features]`);
    }
    const tensorOut = (name: string, what: string): OnnxValueInfo => {
      const o = outputs.find((v) => v.name === name);
      if (!o) throw new RangeError(`${PREFIX} OnnxModel: ${where} has no output "${name}" (${what}); outputs: ${describeIO(outputs)}`);
      if (!o.isTensor) throw new TypeError(`${PREFIX} OnnxModel: output "${name}" of ${where} is not a tensor (a ZipMap? export without it); outputs: ${describeIO(outputs)}`);
      return o;
    };
    const byName = (n: string): boolean => outputs.some((o) => o.name === n && o.isTensor);
    const predictName = p.outputName ?? (byName("label") ? "label" : byName("variable") ? "variable" : outputs.find((o) => o.isTensor)?.name);
    if (predictName === undefined) throw new TypeError(`${PREFIX} OnnxModel: ${where} has no tensor output; outputs: ${describeIO(outputs)}`);
    tensorOut(predictName, "outputName");
    const probaName = p.probabilityOutput ?? (byName("probabilities") ? "probabilities" : null);
    if (probaName !== null) tensorOut(probaName, "probabilityOutput");
    const metadata = metadataOf(bytes);
    let classes: Float64Array | null = null;
    if (p.classes !== null) classes = Float64Array.from(p.classes as number[]);
    else if (metadata["skein.classes"]) classes = Float64Array.from(JSON.parse(metadata["skein.classes"]) as number[]);
    const w = input.shape[1];
    return {
      path,
      sha256,
      bytes: bytes.byteLength,
      inputName: input.name,
      inputType: input.type,
      nFeatures: typeof w === "number" ? w : null,
      predictOutput: predictName,
      probabilityOutput: probaName,
      classes,
      inputs,
      outputs,
      metadata,
    };
  }

  private loaded(method: string): OnnxModelState {
    if (this.state === null) {
      throw new NotFittedError(`${PREFIX} OnnxModel is not fitted yet: call fit() (it loads the .onnx file; no training) or OnnxModel.load(path) before ${method}()`);
    }
    return this.state;
  }

  private checkWidth(method: string, X: Matrix, s: OnnxModelState): void {
    if (s.nFeatures !== null && X.cols !== s.nFeatures) {
      throw new RangeError(`${PREFIX} OnnxModel.${method}: X has ${X.cols} columns, the model's input "${s.inputName}" takes ${s.nFeatures}`);
    }
  }

  /** Runs the model on X and returns `output` as float64 with its dims (session cached per thread). */
  private run(method: string, X: Matrix, output: string): { data: Float64Array; dims: readonly number[] } {
    const s = this.loaded(method);
    checkXY(this.estimatorType, method, X, undefined, this.tags);
    this.checkWidth(method, X, s);
    const session = cachedSession(s.path, s.sha256, { intraOpNumThreads: this.params.intraOpNumThreads });
    const input = s.inputType === "float64" ? X.data : Float32Array.from(X.data);
    let res;
    try {
      res = runSession(session, s.inputName, input, [X.rows, X.cols], [output]);
    } catch (err) {
      throw new Error(`${PREFIX} OnnxModel.${method}: onnxruntime failed on X (${X.rows} x ${X.cols}) for model "${s.path}": ${(err as Error).message}`);
    }
    const t = res[output];
    return { data: toFloat64(output, t.data), dims: t.dims };
  }

  /** The predict output: one value per row ([n] or [n, 1]). */
  predict(X: Matrix): Float64Array {
    const s = this.loaded("predict");
    const { data, dims } = this.run("predict", X, s.predictOutput);
    if (data.length !== X.rows) {
      throw new RangeError(`${PREFIX} OnnxModel.predict: output "${s.predictOutput}" has shape [${dims.join(", ")}], not one value per row; use transform() or set outputName`);
    }
    return data;
  }

  /** The probability output, rows x classes. */
  predictProba(X: Matrix): Matrix {
    const s = this.loaded("predictProba");
    if (s.probabilityOutput === null) {
      throw new TypeError(`${PREFIX} OnnxModel.predictProba: model "${s.path}" has no "probabilities" output; set probabilityOutput to one of: ${describeIO(s.outputs)}`);
    }
    return this.matrix("predictProba", X, s.probabilityOutput);
  }

  /** The predict output as a matrix (rows x its width). */
  transform(X: Matrix): Matrix {
    return this.matrix("transform", X, this.loaded("transform").predictOutput);
  }

  private matrix(method: string, X: Matrix, output: string): Matrix {
    const { data, dims } = this.run(method, X, output);
    const cols = X.rows === 0 ? (dims.length > 1 ? dims[dims.length - 1] : 1) : data.length / X.rows;
    if (!Number.isInteger(cols) || (dims.length > 0 && dims[0] !== X.rows)) {
      throw new RangeError(`${PREFIX} OnnxModel.${method}: output "${output}" has shape [${dims.join(", ")}] for ${X.rows} rows`);
    }
    return { rows: X.rows, cols, data };
  }

  /** Class labels (from the classes param or the model's "skein.classes" metadata). */
  classes(): Float64Array {
    const s = this.loaded("classes");
    if (s.classes === null) throw new TypeError(`${PREFIX} OnnxModel.classes: model "${s.path}" carries no "skein.classes" metadata; pass the classes param`);
    return s.classes;
  }

  /** Inputs and outputs of the loaded model, as onnxruntime reports them. */
  get inputs(): OnnxValueInfo[] {
    return this.loaded("inputs").inputs;
  }

  get outputs(): OnnxValueInfo[] {
    return this.loaded("outputs").outputs;
  }
}

registerEstimator(OnnxModel, import.meta.url);

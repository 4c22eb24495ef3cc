/**
 * A small builder of ONNX graphs over onnx-proto's protobufjs classes: float64 constants as
 * initializers (raw little-endian bytes, so every double is exact), nodes with fresh names, and
 * the ModelProto around them. Only what toOnnx needs.
 */
import type { onnx } from "onnx-proto";
import { onnxProto } from "./proto.js";

/** The default-domain opset the exported graphs use (onnxruntime 1.30 supports up to 23). */
export const OPSET = 13;
/** ONNX IR version matching opset 13 (ONNX 1.8). */
export const IR_VERSION = 7;

// onnx.TensorProto.DataType and AttributeProto.AttributeType codes (fixed by the ONNX spec).
const DOUBLE = 11;
const INT64 = 7;
const ATTR_INT = 2;
const ATTR_INTS = 7;

/** One graph input / output: float64 tensor; string dims are symbolic (the row count "N"). */
export interface TensorSpec {
  name: string;
  dims: (number | string)[];
}

export type Attr = number | number[];

function valueInfo(t: TensorSpec): onnx.IValueInfoProto {
  return {
    name: t.name,
    type: { tensorType: { elemType: DOUBLE, shape: { dim: t.dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) } } },
  };
}

function attribute(name: string, v: Attr): onnx.IAttributeProto {
  if (Array.isArray(v)) return { name, type: ATTR_INTS, ints: v };
  return { name, type: ATTR_INT, i: v };
}

export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly used = new Set<string>();

  /** A name not used yet in this graph, from `base`. */
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Reserves a name chosen by the caller (graph inputs and outputs). */
  reserve(name: string): string {
    if (this.used.has(name)) throw new Error(`skein onnx: graph name "${name}" is used twice`);
    this.used.add(name);
    return name;
  }

  /** A float64 initializer with `dims`; its bytes are the doubles as they are. */
  doubles(base: string, values: ArrayLike<number>, dims: number[]): string {
    const name = this.fresh(base);
    const raw = new Uint8Array(Float64Array.from(values).buffer);
    this.initializers.push({ name, dataType: DOUBLE, dims, rawData: raw });
    return name;
  }

  /** An int64 initializer (shapes, axes, indices). */
  int64s(base: string, values: number[], dims: number[]): string {
    const name = this.fresh(base);
    this.initializers.push({ name, dataType: INT64, dims, int64Data: values });
    return name;
  }

  /** Adds a node; returns its output name (`output` when given, a fresh one from the op otherwise). */
  node(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, output?: string): string {
    const out = output ?? this.fresh(opType.toLowerCase());
    const name = this.fresh(`${opType}_node`);
    this.nodes.push({ name, opType, domain: "", input: inputs, output: [out], attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) });
    return out;
  }

  /** The ModelProto bytes. */
  model(opts: { name: string; inputs: TensorSpec[]; outputs: TensorSpec[]; metadata: Record<string, string>; doc: string }): Uint8Array {
    const graph: onnx.IGraphProto = {
      name: opts.name,
      node: this.nodes,
      initializer: this.initializers,
      input: opts.inputs.map(valueInfo),
      output: opts.outputs.map(valueInfo),
    };
    const { ModelProto } = onnxProto();
    const model = ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: "", version: OPSET }],
      producerName: "skein",
      producerVersion: "1",
      docString: opts.doc,
      graph,
      metadataProps: Object.entries(opts.metadata).map(([key, value]) => ({ key, value })),
    });
    return ModelProto.encode(model).finish();
  }
}

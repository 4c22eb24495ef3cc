/**
 * onnx-proto (protobufjs static classes for ONNX), required on first use: loading it costs
 * ~150 ms, which `import "skein/estimators"` should not pay.
 */
import { createRequire } from "node:module";
import type { onnx } from "onnx-proto";

export type OnnxProto = typeof onnx;

let lib: OnnxProto | null = null;

export function onnxProto(): OnnxProto {
  if (!lib) lib = (createRequire(import.meta.url)("onnx-proto") as { onnx: OnnxProto }).onnx;
  return lib;
}

/**
 * skein's ONNX hand-off: OnnxModel runs an `.onnx` file with onnxruntime-node inside the workers
 * (one session per task thread, reused across partitions); toOnnx exports fitted skein GLMs,
 * scalers and pipelines of them. Importing loads nothing native: onnxruntime opens on first use.
 */
export { OnnxModel, type OnnxModelKind, type OnnxModelParams, type OnnxModelState } from "./model.js";
export { toOnnx, type ToOnnxOptions } from "./export.js";
export {
  onnxSessionStats,
  onnxruntimeVersion,
  resetOnnxSessions,
  type OnnxElementType,
  type OnnxSessionStats,
  type OnnxValueInfo,
} from "./runtime.js";

/**
 * The raw binding to libxgboost (Debian's libxgboost0, XGBoost 1.7) through koffi.
 *
 * Nothing is loaded at import time: the first call to `xgb()` opens the library (and koffi), so a
 * machine without libxgboost can import this module — and the rest of skein — and only the
 * XGBoost features fail, with an error naming the package to install. Every C function returns
 * an int status; `check` turns a non-zero status into a JS Error carrying `XGBGetLastError()`.
 */
import { createRequire } from "node:module";
import type * as KoffiModule from "koffi";

type Koffi = typeof KoffiModule;

/** An opaque XGBoost handle (DMatrixHandle, BoosterHandle): a koffi external pointer. */
export type Handle = object;

/** The C functions skein uses. `bst_ulong` is uint64_t; koffi gives numbers (or bigint). */
export interface XGBoostLib {
  koffi: Koffi;
  path: string;
  XGBGetLastError(): string;
  XGBoostVersion(major: number[], minor: number[], patch: number[]): void;
  XGBSetGlobalConfig(config: string): number;
  XGDMatrixCreateFromDense(arrayInterface: string, config: string, out: (Handle | null)[]): number;
  XGDMatrixSetInfoFromInterface(h: Handle, field: string, arrayInterface: string): number;
  XGDMatrixSetStrFeatureInfo(h: Handle, field: string, values: string[], size: number): number;
  XGDMatrixGetStrFeatureInfo(h: Handle, field: string, outLen: (number | bigint)[], outValues: (unknown | null)[]): number;
  XGDMatrixNumRow(h: Handle, out: (number | bigint)[]): number;
  XGDMatrixNumCol(h: Handle, out: (number | bigint)[]): number;
  XGDMatrixFree(h: Handle): number;
  XGBoosterCreate(dmats: Handle[], len: number, out: (Handle | null)[]): number;
  XGBoosterFree(h: Handle): number;
  XGBoosterSetParam(h: Handle, name: string, value: string): number;
  XGBoosterUpdateOneIter(h: Handle, iter: number, dtrain: Handle): number;
  XGBoosterEvalOneIter(h: Handle, iter: number, dmats: Handle[], names: string[], len: number, out: (string | null)[]): number;
  XGBoosterPredictFromDMatrix(
    h: Handle, dmat: Handle, config: string,
    outShape: (unknown | null)[], outDim: (number | bigint)[], outResult: (unknown | null)[],
  ): number;
  XGBoosterSaveModelToBuffer(h: Handle, config: string, outLen: (number | bigint)[], outPtr: (unknown | null)[]): number;
  XGBoosterLoadModelFromBuffer(h: Handle, buf: Uint8Array, len: number): number;
  XGBoosterSaveJsonConfig(h: Handle, outLen: (number | bigint)[], outStr: (string | null)[]): number;
  XGBoosterBoostedRounds(h: Handle, out: number[]): number;
  XGBoosterGetNumFeature(h: Handle, out: (number | bigint)[]): number;
  XGBoosterSetAttr(h: Handle, key: string, value: string | null): number;
  XGBoosterGetAttr(h: Handle, key: string, out: (string | null)[], success: number[]): number;
  XGBoosterSetStrFeatureInfo(h: Handle, field: string, values: string[], size: number): number;
  XGBoosterFeatureScore(
    h: Handle, config: string, outNFeatures: (number | bigint)[], outFeatures: (unknown | null)[],
    outDim: (number | bigint)[], outShape: (unknown | null)[], outScores: (unknown | null)[],
  ): number;
  XGDMatrixNumNonMissing(h: Handle, out: (number | bigint)[]): number;
  XGCommunicatorInit(config: string): number;
  XGCommunicatorFinalize(): number;
  XGCommunicatorGetRank(): number;
  XGCommunicatorGetWorldSize(): number;
  XGCommunicatorIsDistributed(): number;
  XGCommunicatorPrint(message: string): number;
  /** rabit's own finalize: resets this thread's engine after a failed XGCommunicatorInit (returns 1 on success). */
  RabitFinalize(): number;
}

/** The Debian package that provides the library; named in the "not installed" error. */
export const XGBOOST_PACKAGE = "libxgboost0";

/** Where to look when SKEIN_XGBOOST_LIB is not set: the soname first (ld.so.cache), then paths. */
const DEFAULT_CANDIDATES = [
  "libxgboost.so.0",
  "/usr/lib/x86_64-linux-gnu/libxgboost.so.0",
  "/usr/lib/aarch64-linux-gnu/libxgboost.so.0",
  "libxgboost.so",
];

/** The library path(s) to try: `SKEIN_XGBOOST_LIB` alone when set, else the defaults. */
export function xgboostLibraryCandidates(): string[] {
  const env = process.env.SKEIN_XGBOOST_LIB;
  return env !== undefined && env !== "" ? [env] : DEFAULT_CANDIDATES;
}

/** Thrown when libxgboost (or koffi) cannot be loaded. */
export class XGBoostNotInstalledError extends Error {
  override name = "XGBoostNotInstalledError";
}

let cached: { key: string; lib?: XGBoostLib; error?: Error } | undefined;
let koffiTypes: { dmatrix: unknown; booster: unknown } | undefined;

function loadKoffi(): Koffi {
  const require = createRequire(import.meta.url);
  return require("koffi") as Koffi;
}

/** The loaded library; loads it on first use. Throws XGBoostNotInstalledError when missing. */
export function xgb(): XGBoostLib {
  const candidates = xgboostLibraryCandidates();
  const key = candidates.join("\0");
  if (cached && cached.key === key) {
    if (cached.lib) return cached.lib;
    throw cached.error!;
  }
  try {
    cached = { key, lib: open(candidates) };
    return cached.lib!;
  } catch (e) {
    cached = { key, error: e as Error };
    throw e;
  }
}

/** True when the library loads (never throws). */
export function xgboostAvailable(): boolean {
  try {
    xgb();
    return true;
  } catch {
    return false;
  }
}

/** The loaded library's version, e.g. [1, 7, 4]. */
export function xgboostVersion(): [number, number, number] {
  const a = [0], b = [0], c = [0];
  xgb().XGBoostVersion(a, b, c);
  return [a[0], b[0], c[0]];
}

function open(candidates: string[]): XGBoostLib {
  let koffi: Koffi;
  try {
    koffi = loadKoffi();
  } catch (e) {
    throw new XGBoostNotInstalledError(
      `skein xgboost: the koffi package (the FFI used to call libxgboost) could not be loaded: ${(e as Error).message}`,
    );
  }
  let handle: KoffiModule.LibraryHandle | undefined;
  let path = "";
  const failures: string[] = [];
  for (const p of candidates) {
    try {
      handle = koffi.load(p);
      path = p;
      break;
    } catch (e) {
      failures.push(`${p}: ${(e as Error).message}`);
    }
  }
  if (!handle) {
    throw new XGBoostNotInstalledError(
      `skein xgboost: libxgboost is not installed (apt-get install ${XGBOOST_PACKAGE}); could not load ${failures.join("; ")}`,
    );
  }
  // koffi's type names are process-global: declare them once even if several paths get opened.
  koffiTypes ??= {
    dmatrix: koffi.pointer("DMatrixHandle", koffi.opaque("XGBDMatrix")),
    booster: koffi.pointer("BoosterHandle", koffi.opaque("XGBBooster")),
  };
  const f = (decl: string) => handle!.func(decl);
  const lib: XGBoostLib = {
    koffi,
    path,
    XGBGetLastError: f("const char *XGBGetLastError()"),
    XGBoostVersion: f("void XGBoostVersion(_Out_ int *major, _Out_ int *minor, _Out_ int *patch)"),
    XGBSetGlobalConfig: f("int XGBSetGlobalConfig(const char *config)"),
    XGDMatrixCreateFromDense: f("int XGDMatrixCreateFromDense(const char *data, const char *config, _Out_ DMatrixHandle *out)"),
    XGDMatrixSetInfoFromInterface: f("int XGDMatrixSetInfoFromInterface(DMatrixHandle h, const char *field, const char *iface)"),
    XGDMatrixSetStrFeatureInfo: f("int XGDMatrixSetStrFeatureInfo(DMatrixHandle h, const char *field, const char **features, uint64_t size)"),
    XGDMatrixGetStrFeatureInfo: f("int XGDMatrixGetStrFeatureInfo(DMatrixHandle h, const char *field, _Out_ uint64_t *len, _Out_ void **out)"),
    XGDMatrixNumRow: f("int XGDMatrixNumRow(DMatrixHandle h, _Out_ uint64_t *out)"),
    XGDMatrixNumCol: f("int XGDMatrixNumCol(DMatrixHandle h, _Out_ uint64_t *out)"),
    XGDMatrixFree: f("int XGDMatrixFree(DMatrixHandle h)"),
    XGBoosterCreate: f("int XGBoosterCreate(DMatrixHandle *dmats, uint64_t len, _Out_ BoosterHandle *out)"),
    XGBoosterFree: f("int XGBoosterFree(BoosterHandle h)"),
    XGBoosterSetParam: f("int XGBoosterSetParam(BoosterHandle h, const char *name, const char *value)"),
    XGBoosterUpdateOneIter: f("int XGBoosterUpdateOneIter(BoosterHandle h, int iter, DMatrixHandle dtrain)"),
    XGBoosterEvalOneIter: f("int XGBoosterEvalOneIter(BoosterHandle h, int iter, DMatrixHandle *dmats, const char **names, uint64_t len, _Out_ const char **out)"),
    XGBoosterPredictFromDMatrix: f("int XGBoosterPredictFromDMatrix(BoosterHandle h, DMatrixHandle dmat, const char *config, _Out_ void **shape, _Out_ uint64_t *dim, _Out_ void **result)"),
    XGBoosterSaveModelToBuffer: f("int XGBoosterSaveModelToBuffer(BoosterHandle h, const char *config, _Out_ uint64_t *len, _Out_ void **out)"),
    XGBoosterLoadModelFromBuffer: f("int XGBoosterLoadModelFromBuffer(BoosterHandle h, const void *buf, uint64_t len)"),
    XGBoosterSaveJsonConfig: f("int XGBoosterSaveJsonConfig(BoosterHandle h, _Out_ uint64_t *len, _Out_ const char **out)"),
    XGBoosterBoostedRounds: f("int XGBoosterBoostedRounds(BoosterHandle h, _Out_ int *out)"),
    XGBoosterGetNumFeature: f("int XGBoosterGetNumFeature(BoosterHandle h, _Out_ uint64_t *out)"),
    XGBoosterSetAttr: f("int XGBoosterSetAttr(BoosterHandle h, const char *key, const char *value)"),
    XGBoosterGetAttr: f("int XGBoosterGetAttr(BoosterHandle h, const char *key, _Out_ const char **out, _Out_ int *success)"),
    XGBoosterSetStrFeatureInfo: f("int XGBoosterSetStrFeatureInfo(BoosterHandle h, const char *field, const char **features, uint64_t size)"),
    XGDMatrixNumNonMissing: f("int XGDMatrixNumNonMissing(DMatrixHandle h, _Out_ uint64_t *out)"),
    XGCommunicatorInit: f("int XGCommunicatorInit(const char *config)"),
    XGCommunicatorFinalize: f("int XGCommunicatorFinalize()"),
    XGCommunicatorGetRank: f("int XGCommunicatorGetRank()"),
    XGCommunicatorGetWorldSize: f("int XGCommunicatorGetWorldSize()"),
    XGCommunicatorIsDistributed: f("int XGCommunicatorIsDistributed()"),
    XGCommunicatorPrint: f("int XGCommunicatorPrint(const char *message)"),
    RabitFinalize: f("int RabitFinalize()"),
    XGBoosterFeatureScore: f("int XGBoosterFeatureScore(BoosterHandle h, const char *config, _Out_ uint64_t *n, _Out_ void **features, _Out_ uint64_t *dim, _Out_ void **shape, _Out_ void **scores)"),
  };
  return lib;
}

/** An error reported by libxgboost; `nativeStack` keeps the C++ stack trace XGBoost appended. */
export class XGBoostError extends Error {
  override name = "XGBoostError";
  constructor(message: string, readonly nativeStack: string) {
    super(message);
  }
}

/**
 * Throws `skein xgboost: <XGBGetLastError()>` when an XGBoost C call returned non-zero. The
 * message drops XGBoost's `[hh:mm:ss] ` time stamp and its C++ stack trace (kept on the error).
 */
export function check(lib: XGBoostLib, rc: number): void {
  if (rc === 0) return;
  const raw = lib.XGBGetLastError();
  const cut = raw.indexOf("\nStack trace:");
  const text = (cut >= 0 ? raw.slice(0, cut) : raw).replace(/^\[\d\d:\d\d:\d\d\] /, "").trim();
  throw new XGBoostError(`skein xgboost: ${text}`, cut >= 0 ? raw.slice(cut + 1) : "");
}

/** A bst_ulong output as a JS number. */
export function num(v: number | bigint): number {
  return typeof v === "bigint" ? Number(v) : v;
}

/** Copies `n` uint64 values from C memory (e.g. a prediction's shape). */
export function readU64(lib: XGBoostLib, ptr: unknown, n: number): number[] {
  if (n === 0) return [];
  const view = new BigUint64Array(lib.koffi.view(ptr, n * 8));
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = Number(view[i]);
  return out;
}

/** Copies `n` float32 values out of C memory (one memcpy; XGBoost reuses that buffer). */
export function readF32(lib: XGBoostLib, ptr: unknown, n: number): Float32Array {
  if (n === 0) return new Float32Array(0);
  return new Float32Array(lib.koffi.view(ptr, n * 4)).slice();
}

/** Copies `n` bytes out of C memory. */
export function readBytes(lib: XGBoostLib, ptr: unknown, n: number): Uint8Array {
  if (n === 0) return new Uint8Array(0);
  return new Uint8Array(lib.koffi.view(ptr, n)).slice();
}

/** Reads a C array of `n` NUL-terminated strings. */
export function readStrings(lib: XGBoostLib, ptr: unknown, n: number): string[] {
  if (n === 0) return [];
  return lib.koffi.decode(ptr, "const char *", n) as string[];
}

/**
 * A `__array_interface__` (version 3) JSON for a typed array's memory, which XGBoost reads in
 * place during the call. The address comes from koffi; `koffi.address` also externalises a small
 * on-heap typed array, so its memory does not move while the synchronous call runs.
 */
export function arrayInterface(lib: XGBoostLib, data: Float64Array | Float32Array | Uint32Array, shape: number[]): string {
  const addr = lib.koffi.address(data);
  const typestr = data instanceof Float64Array ? "<f8" : data instanceof Float32Array ? "<f4" : "<u4";
  return `{"data":[${addr.toString()},true],"shape":[${shape.join(",")}],"typestr":"${typestr}","version":3,"strides":null}`;
}

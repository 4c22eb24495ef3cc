/**
 * Message and value encoding on top of msgpackr.
 *
 * - `encodeBatch` / `decodeBatch`: one batch of messages as one frame. Typed arrays of at least
 *   INLINE_MAX_BYTES leave the msgpack header as raw binary frames (a small descriptor stays in
 *   the header), so a 100 MB Float64Array crosses with no per-element work and no copy on the
 *   sending side. Smaller ones travel inline and are copied out on receipt, so a tiny result
 *   never pins a whole received batch in memory.
 * - `packValue` / `unpackValue`: a self-contained single buffer (typed arrays inline, padded so
 *   they land 8-byte aligned relative to the buffer) for RunSpec blobs, spill files and caches.
 *
 * Faithfulness: plain objects travel as msgpackr records (self-contained per pack call: each
 * encode defines the record shapes it uses before using them, so any fresh decoder, in any
 * process, can read any buffer) and Maps as msgpack maps, which is how the two stay distinct.
 * `-0` is the one value msgpackr cannot express (it writes integral numbers as ints), so a
 * cheap pre-pass swaps it for a marker that writes a float64 -0.
 *
 * Decoding is for hostile input: msgpack-check.ts vets every buffer's structure before msgpackr
 * sees it, extensions validate their payloads, and every failure is an Error (a FrameError for
 * batches), never a crash.
 *
 * msgpackr's extension registry is process-global: the extensions below apply to every
 * msgpackr user in the process, which is another reason all skein encoding goes through here.
 */
import { Packr, Unpackr, addExtension } from "msgpackr";
import type { Message } from "../protocol.js";
import { Call, KeyRef, type FnRef, type RunSpec } from "../graph/spec.js";
import { FrameError, MAX_FRAMES_PER_BATCH, encodeFrame } from "./framing.js";
import { checkMsgpack } from "./msgpack-check.js";

/** Typed arrays smaller than this travel inside the msgpack header instead of as frames. */
export const INLINE_MAX_BYTES = 1024;

// Extension type codes (msgpackr itself uses 0, 0x42, 0x62, 0x65, 0x69, 0x70, 0x72-0x74, 0x78).
const EXT_INLINE_ARRAY = 0x30;
const EXT_FRAME_ARRAY = 0x31;
const EXT_KEYREF = 0x32;
const EXT_CALL = 0x33;
const EXT_NEG_ZERO = 0x34;

// ---- typed array kinds ----

type ArrayView =
  | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array
  | Float32Array | Float64Array | BigInt64Array | BigUint64Array | DataView;

interface ViewKind {
  readonly name: string;
  readonly bytes: number;
  make(buffer: ArrayBufferLike, byteOffset: number, byteLength: number): ArrayView;
}

const KINDS: readonly ViewKind[] = [
  { name: "Int8Array", bytes: 1, make: (b, o, n) => new Int8Array(b, o, n) },
  { name: "Uint8Array", bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  { name: "Uint8ClampedArray", bytes: 1, make: (b, o, n) => new Uint8ClampedArray(b, o, n) },
  { name: "Int16Array", bytes: 2, make: (b, o, n) => new Int16Array(b, o, n / 2) },
  { name: "Uint16Array", bytes: 2, make: (b, o, n) => new Uint16Array(b, o, n / 2) },
  { name: "Int32Array", bytes: 4, make: (b, o, n) => new Int32Array(b, o, n / 4) },
  { name: "Uint32Array", bytes: 4, make: (b, o, n) => new Uint32Array(b, o, n / 4) },
  { name: "Float32Array", bytes: 4, make: (b, o, n) => new Float32Array(b, o, n / 4) },
  { name: "Float64Array", bytes: 8, make: (b, o, n) => new Float64Array(b, o, n / 8) },
  { name: "BigInt64Array", bytes: 8, make: (b, o, n) => new BigInt64Array(b, o, n / 8) },
  { name: "BigUint64Array", bytes: 8, make: (b, o, n) => new BigUint64Array(b, o, n / 8) },
  { name: "DataView", bytes: 1, make: (b, o, n) => new DataView(b, o, n) },
];

const CTORS: readonly (new (n: number) => ArrayBufferView)[] = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
];
const KIND_BY_CTOR = new Map<unknown, number>(CTORS.map((c, i) => [c, i]));
KIND_BY_CTOR.set(Buffer, 1);
KIND_BY_CTOR.set(DataView, 11);

function kindOf(v: ArrayBufferView): number {
  const k = KIND_BY_CTOR.get(v.constructor);
  if (k !== undefined) return k;
  // Subclasses of a typed array kind travel as that kind.
  for (let i = 0; i < CTORS.length; i++) if (v instanceof CTORS[i]) return i;
  if (v instanceof DataView) return 11;
  throw new Error(`skein comm: cannot encode array view ${v.constructor.name}`);
}

const UINT8 = 1;

function bytesOf(v: ArrayBufferView): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** A view of `kind` over `bytes`: zero-copy when aligned (and not forced), else over a copy. */
function viewOver(kind: number, bytes: Uint8Array, copy: boolean): ArrayView {
  const k = KINDS[kind];
  if (copy || bytes.byteOffset % k.bytes !== 0) {
    const fresh = new Uint8Array(bytes.byteLength);
    fresh.set(bytes);
    return kind === UINT8 ? fresh : k.make(fresh.buffer, 0, fresh.byteLength);
  }
  return k.make(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ---- per-call state of the extensions (encode and decode are synchronous) ----

/** Frames collected by the batch being encoded; null outside encodeBatch (inline everything). */
let sideFrames: Uint8Array[] | null = null;
/** Frames of the batch being decoded; null outside decodeBatch. */
let recvFrames: readonly Uint8Array[] | null = null;
/** Copy inline arrays on decode (decodeBatch, or unpackValue with copyArrays). */
let copyInline = false;

// ---- msgpackr extensions ----

type Allocate = (size: number) => { target: Uint8Array; position: number };

interface RawExtension {
  Class: unknown;
  type: number;
  pack?(value: never, allocate: Allocate): void;
  write?(value: never): unknown;
  unpack?(data: Uint8Array): unknown;
  read?(datum: unknown): unknown;
}

function register(ext: RawExtension): void {
  addExtension(ext as Parameters<typeof addExtension>[0]);
}

/** Writes an ext header (ext8/16/32) for `payload` bytes at `pos`; returns the payload start. */
function writeExtHeader(target: Uint8Array, pos: number, payload: number, type: number): number {
  if (payload < 0x100) {
    target[pos++] = 0xc7;
    target[pos++] = payload;
  } else if (payload < 0x10000) {
    target[pos++] = 0xc8;
    target[pos++] = payload >> 8;
    target[pos++] = payload & 0xff;
  } else {
    target[pos++] = 0xc9;
    target[pos++] = payload >>> 24;
    target[pos++] = (payload >> 16) & 0xff;
    target[pos++] = (payload >> 8) & 0xff;
    target[pos++] = payload & 0xff;
  }
  target[pos++] = type;
  return pos;
}

function extHeaderBytes(payload: number): number {
  return payload < 0x100 ? 3 : payload < 0x10000 ? 4 : 6;
}

/**
 * Inline payload: [kind][pad][pad bytes][data][7 - pad filler bytes]. Its size is known before
 * the write position is (msgpackr hands that out with the allocation), hence the filler; the
 * pad makes the data 8-byte aligned relative to the start of the packed buffer.
 */
function packInline(view: ArrayBufferView, kind: number, allocate: Allocate): void {
  const len = view.byteLength;
  const payload = len + 9;
  const hdr = extHeaderBytes(payload);
  const { target, position } = allocate(hdr + payload);
  let pos = writeExtHeader(target, position, payload, EXT_INLINE_ARRAY);
  const pad = (8 - ((pos + 2) & 7)) & 7;
  target[pos++] = kind;
  target[pos++] = pad;
  target.fill(0, pos, pos + pad);
  pos += pad;
  target.set(bytesOf(view), pos);
  target.fill(0, pos + len, pos + len + 7 - pad);
}

function unpackInline(data: Uint8Array): ArrayView {
  if (data.length < 9) throw new Error("inline typed array payload is truncated");
  const kind = data[0];
  const pad = data[1];
  if (kind >= KINDS.length) throw new Error(`unknown typed array kind ${kind}`);
  if (pad > 7) throw new Error(`bad inline typed array padding ${pad}`);
  const len = data.length - 9;
  const k = KINDS[kind];
  if (len % k.bytes !== 0) throw new Error(`${len} bytes is not a whole number of ${k.name} elements`);
  return viewOver(kind, data.subarray(2 + pad, 2 + pad + len), copyInline);
}

function packTypedArray(view: ArrayBufferView, allocate: Allocate): void {
  const kind = kindOf(view);
  const frames = sideFrames;
  if (frames === null || view.byteLength < INLINE_MAX_BYTES || frames.length >= MAX_FRAMES_PER_BATCH) {
    packInline(view, kind, allocate);
    return;
  }
  const index = frames.length;
  frames.push(bytesOf(view));
  const { target, position } = allocate(8);
  const pos = writeExtHeader(target, position, 5, EXT_FRAME_ARRAY);
  target[pos] = kind;
  target[pos + 1] = index & 0xff;
  target[pos + 2] = (index >> 8) & 0xff;
  target[pos + 3] = (index >> 16) & 0xff;
  target[pos + 4] = index >>> 24;
}

function unpackFrameArray(data: Uint8Array): ArrayView {
  const frames = recvFrames;
  if (frames === null) throw new Error("binary frame reference outside a batch");
  if (data.length !== 5) throw new Error("binary frame reference is malformed");
  const kind = data[0];
  if (kind >= KINDS.length) throw new Error(`unknown typed array kind ${kind}`);
  const index = (data[1] | (data[2] << 8) | (data[3] << 16) | (data[4] << 24)) >>> 0;
  if (index >= frames.length) {
    throw new Error(`message refers to binary frame ${index} but the batch has ${frames.length}`);
  }
  const bytes = frames[index];
  const k = KINDS[kind];
  if (bytes.byteLength % k.bytes !== 0) {
    throw new Error(`binary frame ${index} has ${bytes.byteLength} bytes, not a whole number of ${k.name} elements`);
  }
  return viewOver(kind, bytes, false);
}

/** Stands in for -0 during an encode; see `withNegZero`. */
class NegZero {}
const NEG_ZERO = new NegZero();

const TypedArray: unknown = Object.getPrototypeOf(Uint8Array);

// packTypedArray writes its own ext header (inline or frame reference) for both classes; the
// `type` of each registration only decides which decoder that code maps to.
register({ Class: TypedArray, type: EXT_INLINE_ARRAY, pack: packTypedArray, unpack: unpackInline });
register({ Class: DataView, type: EXT_FRAME_ARRAY, pack: packTypedArray, unpack: unpackFrameArray });
register({
  Class: NegZero,
  type: EXT_NEG_ZERO,
  pack(_: never, allocate: Allocate) {
    // A plain msgpack float64 -0: every decoder reads it back as -0.
    const { target, position } = allocate(9);
    target[position] = 0xcb;
    target[position + 1] = 0x80;
    target.fill(0, position + 2, position + 9);
  },
  unpack: () => -0,
});
register({
  Class: KeyRef,
  type: EXT_KEYREF,
  write: (ref: KeyRef) => ref.key,
  read(key: unknown) {
    if (typeof key !== "string") throw new Error(`KeyRef key must be a string, got ${typeof key}`);
    return new KeyRef(key);
  },
});
register({
  Class: Call,
  type: EXT_CALL,
  write: (call: Call) => [call.fn.module, call.fn.name, call.args],
  read(datum: unknown) {
    if (!Array.isArray(datum) || datum.length !== 3) throw new Error("Call payload is malformed");
    const [module, name, args] = datum as unknown[];
    if (typeof module !== "string" || typeof name !== "string" || !Array.isArray(args)) {
      throw new Error("Call payload is malformed");
    }
    const fn: FnRef = { module, name };
    return new Call(fn, args);
  },
});

// ---- -0 pre-pass ----

/**
 * `v` with every -0 number replaced by NEG_ZERO, copying only the containers on the way to one
 * (typically none: the walk then allocates nothing).
 */
function withNegZero(v: unknown): unknown {
  if (typeof v === "number") return v === 0 && 1 / v < 0 ? NEG_ZERO : v;
  if (typeof v !== "object" || v === null || ArrayBuffer.isView(v)) return v;
  if (Array.isArray(v)) return arrayWithNegZero(v);
  if (v instanceof Map) {
    let out: Map<unknown, unknown> | null = null;
    for (const [k, x] of v) {
      const y = withNegZero(x);
      if (y !== x && out === null) out = new Map(v);
      if (out !== null) out.set(k, y);
    }
    return out ?? v;
  }
  if (v instanceof Call) {
    const args = arrayWithNegZero(v.args);
    return args === v.args ? v : new Call(v.fn, args);
  }
  if (v instanceof Set) {
    // Members themselves are never -0 (SameValueZero), but containers among them may hold one.
    let changed = false;
    const members: unknown[] = [];
    for (const x of v) {
      const y = withNegZero(x);
      if (y !== x) changed = true;
      members.push(y);
    }
    return changed ? new Set(members) : v;
  }
  if (v instanceof KeyRef || v instanceof Date || v instanceof RegExp || v instanceof Error) return v;
  let out: Record<string, unknown> | null = null;
  const obj = v as Record<string, unknown>;
  for (const key in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) continue;
    const x = obj[key];
    const y = withNegZero(x);
    if (y !== x) {
      out ??= { ...obj };
      out[key] = y;
    }
  }
  return out ?? v;
}

function arrayWithNegZero(a: readonly unknown[]): readonly unknown[] {
  let out: unknown[] | null = null;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = withNegZero(x);
    if (y !== x) {
      out ??= a.slice();
      out[i] = y;
    }
  }
  return out ?? a;
}

// ---- encoders and decoders ----

const packr = new Packr({ useRecords: true, moreTypes: true, structuredClone: false });
const unpackr = new Unpackr({
  mapsAsObjects: false,
  moreTypes: true,
  structuredClone: false,
  int64AsType: "bigint",
  copyBuffers: true,
});

/**
 * msgpackr packs into one process-wide buffer and hands out subarrays of it, carving later
 * results from the same buffer. After a big pack that buffer is big, and small long-lived
 * results carved from it would pin it: start the next pack in a fresh small buffer instead.
 */
const BIG_TARGET_BYTES = 4 * 1024 * 1024;
function packed(out: Uint8Array): Uint8Array {
  if (out.buffer.byteLength > BIG_TARGET_BYTES) packr.useBuffer(Buffer.allocUnsafeSlow(64 * 1024));
  return out;
}

/** The pieces of ONE wire frame carrying `msgs` (prelude, header, raw frames; views, no copies). */
export function encodeBatch(msgs: readonly Message[]): Buffer[] {
  const frames: Uint8Array[] = [];
  sideFrames = frames;
  let header: Uint8Array;
  try {
    header = packed(packr.pack(arrayWithNegZero(msgs)));
  } finally {
    sideFrames = null;
  }
  frames.unshift(header);
  return encodeFrame(frames);
}

/**
 * Decode exactly one msgpack value filling `bytes`, after checkMsgpack has bounded what decoding
 * it can allocate. Goes through unpackMultiple, stopping after the first value, because plain
 * `unpack` builds its "trailing data" error from JSON.stringify of the whole decoded value, an
 * amplification a hostile peer could aim at (a typed array becomes ~25 JSON bytes per element).
 */
function unpackOne(bytes: Uint8Array): unknown {
  checkMsgpack(bytes);
  // A plain Uint8Array view: msgpackr subarrays its source for every string and extension,
  // and Buffer#subarray is markedly slower than Uint8Array#subarray.
  const b = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let value: unknown;
  let end = -1;
  unpackr.unpackMultiple(b, (v: unknown, _start?: number, stop?: number) => {
    value = v;
    end = stop ?? -1;
    return false;
  });
  if (end !== b.length) throw new Error(`${b.length - end} trailing bytes after the value`);
  return value;
}

/** Messages of one received frame. Throws FrameError on anything malformed. */
export function decodeBatch(header: Uint8Array, frames: readonly Uint8Array[]): Message[] {
  let value: unknown;
  recvFrames = frames;
  copyInline = true;
  try {
    value = unpackOne(header);
  } catch (err) {
    throw new FrameError(`skein comm: malformed batch header: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    recvFrames = null;
    copyInline = false;
  }
  if (!Array.isArray(value)) {
    throw new FrameError(`skein comm: batch header is not an array of messages (got ${describe(value)})`);
  }
  for (let i = 0; i < value.length; i++) {
    const m: unknown = value[i];
    if (typeof m !== "object" || m === null || typeof (m as { op?: unknown }).op !== "string") {
      throw new FrameError(`skein comm: message ${i} of the batch is not an object with a string "op" (got ${describe(m)})`);
    }
  }
  return value as Message[];
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}

/**
 * One self-contained buffer for `v` (typed arrays inline; KeyRef/Call, Map, Set, -0 preserved).
 * The result may share an ArrayBuffer with other packed results: treat it as read-only.
 */
export function packValue(v: unknown): Uint8Array {
  return packed(packr.pack(withNegZero(v)));
}

export interface UnpackValueOptions {
  /** Copy typed arrays out of `b` instead of viewing it (views alias `b` when aligned). */
  copyArrays?: boolean;
}

/**
 * Inverse of packValue. Typed arrays are views into `b` when aligned (packValue pads them so
 * they are, as long as `b` starts 8-byte aligned), else fresh copies.
 */
export function unpackValue(b: Uint8Array, opts?: UnpackValueOptions): unknown {
  copyInline = opts?.copyArrays === true;
  try {
    // msgpackr reads ArrayBuffers only; a large blob a worker received into shared memory
    // (sharedMinBytes) is copied out once.
    return unpackOne(b.buffer instanceof SharedArrayBuffer ? new Uint8Array(b) : b);
  } catch (err) {
    throw new Error(`skein comm: cannot unpack value: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    copyInline = false;
  }
}

export function packRun(run: RunSpec): Uint8Array {
  return packValue([run.fn === null ? null : [run.fn.module, run.fn.name], run.args]);
}

export function unpackRun(b: Uint8Array): RunSpec {
  const v = unpackValue(b);
  if (Array.isArray(v) && v.length === 2 && Array.isArray(v[1])) {
    const [fn, args] = v as [unknown, unknown[]];
    if (fn === null) return { fn: null, args };
    if (Array.isArray(fn) && fn.length === 2 && typeof fn[0] === "string" && typeof fn[1] === "string") {
      return { fn: { module: fn[0], name: fn[1] }, args };
    }
  }
  throw new Error(`skein comm: packed RunSpec is malformed (got ${describe(v)})`);
}

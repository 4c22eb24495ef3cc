/**
 * Wire framing: one frame carries one batch, as a msgpack header plus raw binary parts.
 *
 * Layout (all integers little-endian):
 *
 *   u8[3] "SKN"   u8 version   u32 nframes   u64 headerLength   u64 frameLength * nframes
 *   header bytes   frame 0 bytes   frame 1 bytes ...
 *
 * No padding travels: the decoder copies every part into its own fresh allocation, which is
 * what makes each received frame 8-byte aligned (a Float64Array view needs that) and keeps a
 * small array from pinning a large neighbour in memory.
 *
 * `FrameDecoder` is pure (no sockets) and written for hostile input: every length is checked
 * against the limits before anything is allocated, and a violation is a `FrameError`.
 */

import { constants as bufferConstants } from "node:buffer";

export const FRAME_VERSION = 1;
const MAGIC0 = 0x53; // S
const MAGIC1 = 0x4b; // K
const MAGIC2 = 0x4e; // N
const FIXED_BYTES = 8;
const TWO_32 = 2 ** 32;
const MAX_BUFFER_BYTES = bufferConstants.MAX_LENGTH;

/** Most binary frames one batch may carry; the encoder inlines arrays beyond this. */
export const MAX_FRAMES_PER_BATCH = 65_536;
/** Default `maxFrameBytes` of connections and listeners: 2 GiB. */
export const DEFAULT_MAX_FRAME_BYTES = 2 ** 31;
/** Default cap on the msgpack header of one batch: 512 MiB. */
export const DEFAULT_MAX_HEADER_BYTES = 2 ** 29;
/**
 * Largest frame an accepted connection takes before its peer has authenticated (hello with the
 * right token): a stranger cannot make the scheduler or a worker allocate more than this.
 */
export const PRE_AUTH_MAX_FRAME_BYTES = 2 ** 20;

/** Malformed or over-limit input on a connection; the message says what and by how much. */
export class FrameError extends Error {
  override name = "FrameError";
}

export interface FrameDecoderOptions {
  /** Largest accepted frame (header + binary frames, excluding the length prelude). */
  maxFrameBytes: number;
  /** Largest accepted header; defaults to min(maxFrameBytes, 512 MiB). */
  maxHeaderBytes?: number;
  /** Most binary frames per batch; defaults to MAX_FRAMES_PER_BATCH. */
  maxFrames?: number;
  /**
   * Binary frames of at least this many bytes are received into a SharedArrayBuffer (default:
   * never). A worker keeps large arrays in shared memory so task threads read them without a
   * copy; receiving them there saves copying each one again after it arrived.
   */
  sharedMinBytes?: number;
}

export interface DecodedFrame {
  /** msgpack bytes of the batch. */
  header: Uint8Array;
  /** Raw binary frames, each in its own allocation (byteOffset 0). */
  frames: Uint8Array[];
}

// Decoder states: reading the fixed 8-byte prelude, the length table, or the parts.
const FIXED = 0;
const LENGTHS = 1;
const PARTS = 2;

function hex32(b: Uint8Array): string {
  let s = "0x";
  for (let i = 0; i < 4; i++) s += b[i].toString(16).padStart(2, "0");
  return s;
}

export class FrameDecoder {
  private maxFrameBytes: number;
  private maxHeaderBytes: number;
  private readonly maxFrames: number;
  private readonly sharedMinBytes: number;
  private state: number = FIXED;
  private readonly fixed = new Uint8Array(FIXED_BYTES);
  private fixedFill = 0;
  private lengthBytes: Uint8Array = new Uint8Array(0);
  private lengthFill = 0;
  private lengths: number[] = [];
  private parts: Uint8Array[] = [];
  private part = 0;
  private partFill = 0;
  private failure: FrameError | null = null;

  constructor(opts: FrameDecoderOptions) {
    this.maxFrameBytes = opts.maxFrameBytes;
    this.maxHeaderBytes = opts.maxHeaderBytes ?? Math.min(opts.maxFrameBytes, DEFAULT_MAX_HEADER_BYTES);
    this.maxFrames = opts.maxFrames ?? MAX_FRAMES_PER_BATCH;
    this.sharedMinBytes = opts.sharedMinBytes ?? Infinity;
  }

  /**
   * Change the frame limit for frames not yet started (an authenticated peer gets the full limit).
   * The header cap follows as min(maxFrameBytes, 512 MiB).
   */
  setMaxFrameBytes(maxFrameBytes: number): void {
    this.maxFrameBytes = maxFrameBytes;
    this.maxHeaderBytes = Math.min(maxFrameBytes, DEFAULT_MAX_HEADER_BYTES);
  }

  /** True while part of a frame has been received but not all of it. */
  get inFrame(): boolean {
    return this.state !== FIXED || this.fixedFill > 0;
  }

  /** Feed bytes; returns the frames completed by them, in order. Throws FrameError (sticky). */
  push(chunk: Uint8Array): DecodedFrame[] {
    if (this.failure) throw this.failure;
    try {
      return this.consume(chunk);
    } catch (err) {
      if (err instanceof FrameError) this.failure = err;
      throw err;
    }
  }

  /** The stream ended: throws FrameError if it ended inside a frame. */
  end(): void {
    if (this.failure) throw this.failure;
    if (this.inFrame) throw this.fail(`stream ended inside a frame (${this.progress()})`);
  }

  /** Where inside the current frame the stream is, for diagnostics. */
  progress(): string {
    if (this.state === FIXED) return `${this.fixedFill} of ${FIXED_BYTES} prelude bytes`;
    if (this.state === LENGTHS) return `${this.lengthFill} of ${this.lengthBytes.length} length bytes`;
    const what = this.part === 0 ? "header" : `binary frame ${this.part - 1}`;
    return `${what}, ${this.partFill} of ${this.lengths[this.part]} bytes`;
  }

  private fail(reason: string): FrameError {
    this.failure = new FrameError(`skein comm: ${reason}`);
    return this.failure;
  }

  private consume(chunk: Uint8Array): DecodedFrame[] {
    const out: DecodedFrame[] = [];
    const n = chunk.length;
    let at = 0;
    while (at < n) {
      if (this.state === FIXED) {
        const take = Math.min(FIXED_BYTES - this.fixedFill, n - at);
        this.fixed.set(chunk.subarray(at, at + take), this.fixedFill);
        this.fixedFill += take;
        at += take;
        if (this.fixedFill === FIXED_BYTES) this.startLengths();
      } else if (this.state === LENGTHS) {
        const take = Math.min(this.lengthBytes.length - this.lengthFill, n - at);
        this.lengthBytes.set(chunk.subarray(at, at + take), this.lengthFill);
        this.lengthFill += take;
        at += take;
        if (this.lengthFill === this.lengthBytes.length) this.startParts(out);
      } else {
        const dest = this.parts[this.part];
        const take = Math.min(dest.length - this.partFill, n - at);
        dest.set(chunk.subarray(at, at + take), this.partFill);
        this.partFill += take;
        at += take;
        if (this.partFill === dest.length) this.nextPart(out);
      }
    }
    return out;
  }

  private startLengths(): void {
    const f = this.fixed;
    if (f[0] !== MAGIC0 || f[1] !== MAGIC1 || f[2] !== MAGIC2) {
      throw this.fail(`bad frame magic ${hex32(f)} (expected 0x534b4e0${FRAME_VERSION})`);
    }
    if (f[3] !== FRAME_VERSION) {
      throw this.fail(`unsupported frame version ${f[3]} (this end speaks version ${FRAME_VERSION})`);
    }
    const nframes = (f[4] | (f[5] << 8) | (f[6] << 16) | (f[7] << 24)) >>> 0;
    if (nframes > this.maxFrames) {
      throw this.fail(`frame announces ${nframes} binary frames (limit ${this.maxFrames})`);
    }
    this.lengthBytes = new Uint8Array(8 * (nframes + 1));
    this.lengthFill = 0;
    this.state = LENGTHS;
  }

  private startParts(out: DecodedFrame[]): void {
    const b = this.lengthBytes;
    const count = b.length / 8;
    const lengths = new Array<number>(count);
    let total = 0;
    for (let i = 0; i < count; i++) {
      const o = i * 8;
      const lo = (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
      const hi = (b[o + 4] | (b[o + 5] << 8) | (b[o + 6] << 16) | (b[o + 7] << 24)) >>> 0;
      lengths[i] = hi * TWO_32 + lo;
      total += lengths[i];
    }
    if (lengths[0] === 0) throw this.fail("frame has an empty header");
    if (lengths[0] > this.maxHeaderBytes) {
      throw this.fail(`frame header of ${lengths[0]} bytes exceeds the limit of ${this.maxHeaderBytes} bytes`);
    }
    if (total > this.maxFrameBytes) {
      throw this.fail(`frame of ${total} bytes exceeds maxFrameBytes (${this.maxFrameBytes})`);
    }
    for (let i = 1; i < count; i++) {
      if (lengths[i] > MAX_BUFFER_BYTES) {
        throw this.fail(`binary frame of ${lengths[i]} bytes exceeds the largest buffer node allocates (${MAX_BUFFER_BYTES})`);
      }
    }
    this.lengths = lengths;
    this.parts = new Array<Uint8Array>(count);
    this.part = -1;
    this.state = PARTS;
    this.nextPart(out);
  }

  /** Move to the next part (allocating it), emitting the frame once all parts are complete. */
  private nextPart(out: DecodedFrame[]): void {
    for (;;) {
      this.part++;
      this.partFill = 0;
      if (this.part === this.lengths.length) {
        const parts = this.parts;
        out.push({ header: parts[0], frames: parts.slice(1) });
        this.parts = [];
        this.lengths = [];
        this.fixedFill = 0;
        this.state = FIXED;
        return;
      }
      const len = this.lengths[this.part];
      // allocUnsafeSlow: an unpooled, unzeroed ArrayBuffer of exactly this part at offset 0; every
      // byte is overwritten before the frame is handed out. The header (part 0) is never shared.
      this.parts[this.part] =
        len === 0
          ? new Uint8Array(0)
          : this.part > 0 && len >= this.sharedMinBytes
            ? new Uint8Array(new SharedArrayBuffer(len))
            : Buffer.allocUnsafeSlow(len);
      if (len > 0) return;
    }
  }
}

/**
 * The wire pieces of one frame: [prelude, header, ...frames]. The pieces are views, not copies,
 * so a socket can write them with one corked writev.
 */
export function encodeFrame(pieces: readonly Uint8Array[]): Buffer[] {
  if (pieces.length === 0) throw new Error("skein comm: encodeFrame needs at least a header");
  const nframes = pieces.length - 1;
  const prelude = Buffer.allocUnsafe(FIXED_BYTES + 8 * pieces.length);
  prelude[0] = MAGIC0;
  prelude[1] = MAGIC1;
  prelude[2] = MAGIC2;
  prelude[3] = FRAME_VERSION;
  prelude.writeUInt32LE(nframes, 4);
  const out: Buffer[] = [prelude];
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i];
    const len = p.byteLength;
    prelude.writeUInt32LE(len % TWO_32, FIXED_BYTES + 8 * i);
    prelude.writeUInt32LE(Math.floor(len / TWO_32), FIXED_BYTES + 8 * i + 4);
    if (len > 0) out.push(Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, len));
  }
  return out;
}

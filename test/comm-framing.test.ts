import { describe, expect, it } from "vitest";
import { FrameDecoder, FrameError, encodeFrame, type DecodedFrame } from "../src/comm/framing.js";
import { decodeBatch, encodeBatch } from "../src/comm/serialize.js";
import { KeyRef } from "../src/graph/spec.js";
import type { Message } from "../src/protocol.js";

/** Small seeded PRNG (mulberry32): the fuzz is reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A prelude announcing `lengths` ([header, ...frames]) with the given magic/version bytes. */
function prelude(lengths: number[], versionByte = 1): Buffer {
  const b = Buffer.alloc(8 + 8 * lengths.length);
  b.write("SKN", 0, "latin1");
  b[3] = versionByte;
  b.writeUInt32LE(lengths.length - 1, 4);
  lengths.forEach((len, i) => {
    b.writeUInt32LE(len % 2 ** 32, 8 + 8 * i);
    b.writeUInt32LE(Math.floor(len / 2 ** 32), 12 + 8 * i);
  });
  return b;
}

function frameError(fn: () => unknown): FrameError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FrameError);
    return err as FrameError;
  }
  throw new Error("expected a FrameError");
}

/** Same kind and bytes (deep equality on megabyte arrays is far too slow). */
function expectSameBytes(got: ArrayBufferView, want: ArrayBufferView): void {
  expect(got.constructor).toBe(want.constructor);
  const g = Buffer.from(got.buffer, got.byteOffset, got.byteLength);
  expect(g.equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength))).toBe(true);
}

const small: Message[] = [
  { op: "hello-client", client: "c-1" },
  { op: "update-graph", tasks: [], wanted: ["a", "b"] },
  { op: "key-in-memory", key: "a", hasValue: true, value: { ref: new KeyRef("b"), v: new Int16Array([1, -2, 3]) } },
];

describe("FrameDecoder", () => {
  it("writes the documented prelude", () => {
    const pieces = encodeFrame([new Uint8Array([0x90]), new Uint8Array(3)]);
    expect([...pieces[0]]).toEqual([
      0x53, 0x4b, 0x4e, 0x01, 1, 0, 0, 0, // "SKN", version 1, one binary frame
      1, 0, 0, 0, 0, 0, 0, 0, // header length 1
      3, 0, 0, 0, 0, 0, 0, 0, // frame length 3
    ]);
    expect(pieces.length).toBe(3);
  });

  it("decodes a small batch fed one byte at a time", () => {
    const wire = Buffer.concat(encodeBatch(small));
    const decoder = new FrameDecoder({ maxFrameBytes: 1 << 20 });
    const frames: DecodedFrame[] = [];
    for (let i = 0; i < wire.length; i++) {
      const got = decoder.push(Buffer.from(wire.subarray(i, i + 1)));
      if (i < wire.length - 1) expect(got).toEqual([]);
      frames.push(...got);
    }
    expect(frames.length).toBe(1);
    expect(decodeBatch(frames[0].header, frames[0].frames)).toEqual(small);
    expect(decoder.inFrame).toBe(false);
    decoder.end();
  });

  it("decodes big batches fed in random chunk sizes, each frame in its own aligned buffer", () => {
    const random = rng(7);
    const f64 = new Float64Array(512 * 1024).map((_, i) => i * 0.25);
    const i32 = new Int32Array(512 * 1024).map((_, i) => -i);
    const u8 = new Uint8Array(2 * 1024 * 1024 + 3).map((_, i) => i * 7);
    const batchA: Message[] = [...small, { op: "data", id: 1, data: { f64, i32 }, missing: [] }];
    const batchB: Message[] = [{ op: "update-data", id: 2, data: { u8, f64: f64.subarray(1) } }];
    const wire = Buffer.concat([...encodeBatch(batchA), ...encodeBatch(batchB)]);
    const decoder = new FrameDecoder({ maxFrameBytes: 1 << 30 });
    const frames: DecodedFrame[] = [];
    for (let at = 0; at < wire.length; ) {
      const size = 1 + Math.floor(random() * 200_000);
      frames.push(...decoder.push(wire.subarray(at, at + size)));
      at += size;
    }
    expect(frames.length).toBe(2);
    for (const f of frames) {
      for (const part of [f.header, ...f.frames]) {
        expect(part.byteOffset).toBe(0);
        expect(part.buffer.byteLength).toBe(part.byteLength);
      }
    }
    const a = decodeBatch(frames[0].header, frames[0].frames);
    const b = decodeBatch(frames[1].header, frames[1].frames);
    expect(a.slice(0, 3)).toEqual(small);
    const data = (a[3] as unknown as { data: { f64: Float64Array; i32: Int32Array } }).data;
    expectSameBytes(data.f64, f64);
    expectSameBytes(data.i32, i32);
    const update = (b[0] as unknown as { data: { u8: Uint8Array; f64: Float64Array } }).data;
    expectSameBytes(update.u8, u8);
    expectSameBytes(update.f64, f64.subarray(1));
  });

  it("receives binary frames of at least sharedMinBytes into shared memory, the rest and the header not", () => {
    const f64 = new Float64Array(512 * 1024).map((_, i) => i * 0.5); // 4 MiB
    const tiny = new Float64Array(1000).map((_, i) => -i);
    const batch: Message[] = [...small, { op: "data", id: 1, data: { f64, tiny }, missing: [] }];
    const decoder = new FrameDecoder({ maxFrameBytes: 1 << 30, sharedMinBytes: 1 << 20 });
    const frames = decoder.push(Buffer.concat(encodeBatch(batch)));
    expect(frames.length).toBe(1);
    expect(frames[0].header.buffer).toBeInstanceOf(ArrayBuffer);
    const data = (decodeBatch(frames[0].header, frames[0].frames)[3] as unknown as { data: { f64: Float64Array; tiny: Float64Array } }).data;
    expect(data.f64.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(data.f64.byteLength).toBe(data.f64.buffer.byteLength); // a view of the received frame, not a copy
    expectSameBytes(data.f64, f64);
    expect(data.tiny.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expectSameBytes(data.tiny, tiny);
  });

  it("returns every frame completed by one chunk, in order, including empty binary frames", () => {
    const header = new Uint8Array([0x90]);
    const wire = Buffer.concat([
      ...encodeFrame([header, new Uint8Array(0), new Uint8Array([9, 8])]),
      ...encodeFrame([header]),
    ]);
    const frames = new FrameDecoder({ maxFrameBytes: 100 }).push(wire);
    expect(frames.map((f) => [[...f.header], f.frames.map((x) => [...x])])).toEqual([
      [[0x90], [[], [9, 8]]],
      [[0x90], []],
    ]);
  });

  it.each([
    ["bad magic", Buffer.from("GET / HTTP/1.1\r\n"), "skein comm: bad frame magic 0x47455420 (expected 0x534b4e01)"],
    ["a newer version", prelude([1], 2), "skein comm: unsupported frame version 2 (this end speaks version 1)"],
    [
      "too many binary frames",
      (() => {
        const b = prelude([1]);
        b.writeUInt32LE(70_000, 4);
        return b;
      })(),
      "skein comm: frame announces 70000 binary frames (limit 65536)",
    ],
    ["an empty header", prelude([0]), "skein comm: frame has an empty header"],
    ["a header over its limit", prelude([600_000]), "skein comm: frame header of 600000 bytes exceeds the limit of 500000 bytes"],
    ["a frame over maxFrameBytes", prelude([10, 999_991]), "skein comm: frame of 1000001 bytes exceeds maxFrameBytes (1000000)"],
    [
      "a giant announced length",
      (() => {
        const b = prelude([1, 0]);
        b.writeUInt32LE(0xffffffff, 16);
        b.writeUInt32LE(0xffffffff, 20);
        return b;
      })(),
      `skein comm: frame of ${2 ** 64} bytes exceeds maxFrameBytes (1000000)`,
    ],
  ])("rejects %s with a FrameError", (_, bytes, message) => {
    const decoder = new FrameDecoder({ maxFrameBytes: 1_000_000, maxHeaderBytes: 500_000 });
    const err = frameError(() => decoder.push(bytes));
    expect(err.message).toBe(message);
    // Sticky: the stream is unusable after an error.
    expect(frameError(() => decoder.push(Buffer.from(encodeBatch(small)[0])))).toBe(err);
  });

  it("honours a smaller maxFrames", () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 1000, maxFrames: 2 });
    expect(frameError(() => decoder.push(prelude([1, 1, 1, 1]))).message).toBe(
      "skein comm: frame announces 3 binary frames (limit 2)",
    );
  });

  it("reports where a stream ended inside a frame", () => {
    const wire = Buffer.concat(encodeFrame([new Uint8Array(20).fill(0x90), new Uint8Array(4096)]));
    const cases: [number, string][] = [
      [3, "3 of 8 prelude bytes"],
      [10, "2 of 16 length bytes"],
      [24 + 5, "header, 5 of 20 bytes"],
      [24 + 20 + 10, "binary frame 0, 10 of 4096 bytes"],
    ];
    for (const [cut, where] of cases) {
      const decoder = new FrameDecoder({ maxFrameBytes: 1 << 20 });
      expect(decoder.push(wire.subarray(0, cut))).toEqual([]);
      expect(decoder.inFrame).toBe(true);
      expect(frameError(() => decoder.end()).message).toBe(`skein comm: stream ended inside a frame (${where})`);
    }
  });
});

describe("mini-fuzz", () => {
  it("turns 2,000 random and mutated frames into FrameErrors or valid batches, never anything else", () => {
    const random = rng(12345);
    const int = (n: number) => Math.floor(random() * n);
    const randomBytes = (n: number) => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = int(256);
      return b;
    };
    const randomValue = (depth: number): unknown => {
      switch (int(depth > 2 ? 6 : 9)) {
        case 0: return int(1000) - 500;
        case 1: return random() * 1e6;
        case 2: return `s${int(1e6)}`;
        case 3: return new Float64Array(int(600)).fill(random());
        case 4: return new KeyRef(`k${int(100)}`);
        case 5: return null;
        case 6: return Array.from({ length: int(4) }, () => randomValue(depth + 1));
        case 7: return new Map([[int(10), randomValue(depth + 1)]]);
        default: return { a: randomValue(depth + 1), b: -0 };
      }
    };
    const budgetMs = 15_000;
    const start = Date.now();
    const outcomes = { valid: 0, rejected: 0 };
    let i = 0;
    for (; i < 2000 && Date.now() - start < budgetMs; i++) {
      const msgs: Message[] = Array.from({ length: 1 + int(3) }, (_, j) => ({
        op: "key-in-memory",
        key: `k${j}`,
        hasValue: true,
        value: randomValue(0),
      }));
      let wire = Buffer.concat(encodeBatch(msgs));
      const mutation = int(6);
      if (mutation === 0) wire = randomBytes(int(300));
      else if (mutation === 1) for (let k = 0; k < 1 + int(4); k++) wire[int(wire.length)] = int(256);
      else if (mutation === 2) wire = wire.subarray(0, int(wire.length));
      else if (mutation === 3) {
        const at = int(wire.length);
        wire = Buffer.concat([wire.subarray(0, at), randomBytes(1 + int(16)), wire.subarray(at)]);
      } else if (mutation === 4) {
        // A well-formed prelude around a random header: exercises the msgpack decoder itself.
        const header = randomBytes(1 + int(64));
        wire = Buffer.concat(encodeFrame([header]));
      } // else: unmutated, must decode back to msgs

      const decoder = new FrameDecoder({ maxFrameBytes: 1 << 20 });
      try {
        const frames: DecodedFrame[] = [];
        for (let at = 0; at < wire.length; ) {
          const size = 1 + int(wire.length);
          frames.push(...decoder.push(wire.subarray(at, at + size)));
          at += size;
        }
        decoder.end();
        for (const f of frames) {
          const batch = decodeBatch(f.header, f.frames);
          for (const m of batch) expect(typeof m.op).toBe("string");
          if (mutation === 5) expect(batch).toEqual(msgs);
        }
        outcomes.valid++;
      } catch (err) {
        if (!(err instanceof FrameError)) throw new Error(`case ${i} (mutation ${mutation}) threw a non-FrameError: ${String(err)}`);
        if (mutation === 5) throw new Error(`case ${i}: an unmutated frame was rejected: ${err.message}`);
        outcomes.rejected++;
      }
    }
    expect(i).toBeGreaterThanOrEqual(500);
    expect(outcomes.valid + outcomes.rejected).toBe(i);
    expect(outcomes.rejected).toBeGreaterThan(i / 2);
  });
});

import { execFileSync } from "node:child_process";
import { Unpackr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { FrameDecoder, FrameError } from "../src/comm/framing.js";
import {
  INLINE_MAX_BYTES,
  decodeBatch,
  encodeBatch,
  packRun,
  packValue,
  unpackRun,
  unpackValue,
} from "../src/comm/serialize.js";
import { Call, KeyRef } from "../src/graph/spec.js";
import type { Message } from "../src/protocol.js";

/** encodeBatch -> bytes on a wire -> FrameDecoder -> decodeBatch. */
function overWire(msgs: Message[]): Message[] {
  const decoder = new FrameDecoder({ maxFrameBytes: 2 ** 31 });
  const frames = decoder.push(Buffer.concat(encodeBatch(msgs)));
  expect(frames.length).toBe(1);
  return decodeBatch(frames[0].header, frames[0].frames);
}

/** A message carrying `value`, and the value as it comes back from the wire. */
function valueOverWire(value: unknown): unknown {
  const [m] = overWire([{ op: "key-in-memory", key: "k", hasValue: true, value }]);
  return (m as { value: unknown }).value;
}

type AnyArray =
  | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array
  | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

interface Kind {
  ctor: { new (buf: ArrayBuffer, off: number, len: number): AnyArray; BYTES_PER_ELEMENT: number; name: string };
  value: (i: number) => number | bigint;
}

const KINDS: Kind[] = [
  { ctor: Int8Array, value: (i) => ((i * 37) % 256) - 128 },
  { ctor: Uint8Array, value: (i) => (i * 37) % 256 },
  { ctor: Uint8ClampedArray, value: (i) => (i * 11) % 256 },
  { ctor: Int16Array, value: (i) => ((i * 997) % 65536) - 32768 },
  { ctor: Uint16Array, value: (i) => (i * 997) % 65536 },
  { ctor: Int32Array, value: (i) => i * -100_003 },
  { ctor: Uint32Array, value: (i) => (i * 2_654_435_761) % 4_294_967_296 },
  { ctor: Float32Array, value: (i) => Math.fround(i * 0.1 - 3) },
  { ctor: Float64Array, value: (i) => (i % 7 === 0 ? -0 : i % 11 === 0 ? NaN : i * 1.1e-7 - 5) },
  { ctor: BigInt64Array, value: (i) => BigInt(i) * -1_000_000_000_007n },
  { ctor: BigUint64Array, value: (i) => BigInt(i) * 18_000_000_000_000_000n % 2n ** 64n },
];

/** An array of `kind` with `bytes` bytes, viewing a larger buffer from an element offset of 1. */
function oddView(kind: Kind, bytes: number): AnyArray {
  const n = bytes / kind.ctor.BYTES_PER_ELEMENT;
  const arr = new kind.ctor(new ArrayBuffer(bytes + 3 * kind.ctor.BYTES_PER_ELEMENT), kind.ctor.BYTES_PER_ELEMENT, n);
  for (let i = 0; i < n; i++) (arr as unknown as (number | bigint)[])[i] = kind.value(i);
  return arr;
}

function expectSameArray(got: unknown, want: AnyArray): void {
  expect((got as object).constructor).toBe(want.constructor);
  const g = got as AnyArray;
  expect(g.length).toBe(want.length);
  expect(g.byteOffset % want.BYTES_PER_ELEMENT).toBe(0);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(g[i], want[i])) expect(`[${i}] ${String(g[i])}`).toBe(`[${i}] ${String(want[i])}`);
  }
}

describe("typed arrays", () => {
  for (const kind of KINDS) {
    for (const bytes of [24, 4096]) {
      const how = bytes < INLINE_MAX_BYTES ? "inline" : "as a frame";
      it(`${kind.ctor.name} of ${bytes} bytes at an offset, nested, crosses the wire ${how}`, () => {
        const arr = oddView(kind, bytes);
        const pieces = encodeBatch([{ op: "key-in-memory", key: "k", hasValue: true, value: arr }]);
        expect(pieces.length).toBe(bytes < INLINE_MAX_BYTES ? 2 : 3);
        const out = valueOverWire({ top: arr, list: [1, [arr]], map: new Map([["m", { deep: arr }]]) }) as {
          top: unknown;
          list: [number, unknown[]];
          map: Map<string, { deep: unknown }>;
        };
        expectSameArray(out.top, arr);
        expectSameArray(out.list[1][0], arr);
        expect(out.map).toBeInstanceOf(Map);
        expectSameArray(out.map.get("m")?.deep, arr);
      });

      it(`${kind.ctor.name} of ${bytes} bytes survives packValue/unpackValue aligned`, () => {
        const arr = oddView(kind, bytes);
        const out = unpackValue(packValue({ a: [arr], m: new Map([[1, arr]]) })) as { a: unknown[]; m: Map<number, unknown> };
        expectSameArray(out.a[0], arr);
        expectSameArray(out.m.get(1), arr);
      });
    }
  }

  it("sends large arrays as views of their own memory and receives them in their own buffers", () => {
    const big = oddView(KINDS[8], 8000) as Float64Array;
    const pieces = encodeBatch([{ op: "key-in-memory", key: "k", hasValue: true, value: big }]);
    expect(pieces[2].buffer).toBe(big.buffer);
    expect(pieces[2].byteOffset).toBe(big.byteOffset);
    const out = valueOverWire(big) as Float64Array;
    expect(out.byteOffset).toBe(0);
    expect(out.buffer.byteLength).toBe(8000);
  });

  it("puts arrays of INLINE_MAX_BYTES and more in frames, smaller ones inline", () => {
    const inline = encodeBatch([{ op: "key-in-memory", key: "k", hasValue: true, value: new Uint8Array(INLINE_MAX_BYTES - 1) }]);
    const framed = encodeBatch([{ op: "key-in-memory", key: "k", hasValue: true, value: new Uint8Array(INLINE_MAX_BYTES) }]);
    expect(inline.length).toBe(2);
    expect(framed.length).toBe(3);
    expect(framed[2].length).toBe(INLINE_MAX_BYTES);
  });

  it("copies inline arrays out of the received batch so they pin nothing", () => {
    const out = valueOverWire(new Uint16Array([1, 2, 3])) as Uint16Array;
    expect(out.buffer.byteLength).toBe(6);
  });

  it("carries DataView and Buffer (as Uint8Array), inline and framed", () => {
    const backing = new Uint8Array(5000).map((_, i) => i % 251);
    for (const len of [7, 3000]) {
      const dv = new DataView(backing.buffer, 3, len);
      const buf = Buffer.from(backing.buffer, 5, len);
      const out = valueOverWire({ dv, buf }) as { dv: DataView; buf: Uint8Array };
      expect(out.dv).toBeInstanceOf(DataView);
      expect([...new Uint8Array(out.dv.buffer, out.dv.byteOffset, out.dv.byteLength)]).toEqual([...backing.subarray(3, 3 + len)]);
      expect(out.buf.constructor).toBe(Uint8Array);
      expect([...out.buf]).toEqual([...backing.subarray(5, 5 + len)]);
      const packed = unpackValue(packValue(dv)) as DataView;
      expect(packed.getUint8(len - 1)).toBe(backing[3 + len - 1]);
    }
  });

  it("rebuilds a misaligned frame as an aligned copy, and views an aligned one", () => {
    const src = new Float64Array(300).map((_, i) => i / 3);
    const [, header, frame] = encodeBatch([{ op: "key-in-memory", key: "k", hasValue: true, value: src }]);
    const misaligned = new Uint8Array(new ArrayBuffer(frame.length + 1), 1, frame.length);
    misaligned.set(frame);
    const a = (decodeBatch(header, [misaligned])[0] as { value: Float64Array }).value;
    expectSameArray(a, src);
    expect(a.buffer).not.toBe(misaligned.buffer);
    const aligned = new Uint8Array(new ArrayBuffer(frame.length + 8), 8, frame.length);
    aligned.set(frame);
    const b = (decodeBatch(header, [aligned])[0] as { value: Float64Array }).value;
    expectSameArray(b, src);
    expect(b.buffer).toBe(aligned.buffer);
    expect(b.byteOffset).toBe(8);
  });

  it("falls back to inline arrays past 65,536 frames in one batch", () => {
    const shared = new Uint8Array(INLINE_MAX_BYTES + 65_537);
    const arrays = Array.from({ length: 65_537 }, (_, i) => shared.subarray(i, i + INLINE_MAX_BYTES));
    shared[65_536 + INLINE_MAX_BYTES - 1] = 42;
    const pieces = encodeBatch([{ op: "key-in-memory", key: "k", hasValue: true, value: arrays }]);
    expect(pieces.length).toBe(2 + 65_536);
    const out = valueOverWire(arrays) as Uint8Array[];
    expect(out.length).toBe(65_537);
    expect(out[65_536][INLINE_MAX_BYTES - 1]).toBe(42);
  });

  it("copies arrays out of a packed value on request", () => {
    const packed = packValue(new Float64Array([1, 2]));
    const view = unpackValue(packed) as Float64Array;
    const copy = unpackValue(packed, { copyArrays: true }) as Float64Array;
    expect(view.buffer).toBe(packed.buffer);
    expect(copy.buffer).not.toBe(packed.buffer);
    expect([...copy]).toEqual([1, 2]);
  });
});

describe("plain data", () => {
  const sample = () => ({
    negZero: -0,
    nan: NaN,
    inf: Infinity,
    ninf: -Infinity,
    numbers: [0, 1, -1, 127, 128, 255, 256, 65_536, 2 ** 32, 2 ** 53, -(2 ** 31) - 1, 0.1, 1e-300, -0],
    undef: undefined,
    withHoles: [undefined, null, undefined],
    empty: {},
    emptyMap: new Map(),
    map: new Map<unknown, unknown>([[1, "one"], ["1", "string one"], [true, -0], [null, { inner: -0 }]]),
    set: new Set<unknown>(["a", 1, [-0]]),
    dates: [new Date(0), new Date(1_700_000_000_123), new Date(-5_000_000_000_000), new Date(NaN)],
    bigints: [0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, 2n ** 100n, -(2n ** 100n)],
    strings: ["", "ascii", "ünïcødé ✓ 🚀", "x".repeat(100_000)],
    nested: { a: { b: { c: [{ d: -0 }] } } },
    bools: [true, false],
  });

  function expectFaithful(got: unknown): void {
    const want = sample();
    expect(got).toEqual(want);
    const g = got as ReturnType<typeof sample>;
    expect(Object.is(g.negZero, -0)).toBe(true);
    expect(Object.is(g.numbers[13], -0)).toBe(true);
    expect(Object.is(g.numbers[0], 0)).toBe(true);
    expect(Object.is(g.map.get(true), -0)).toBe(true);
    expect(Object.is((g.map.get(null) as { inner: number }).inner, -0)).toBe(true);
    expect(Object.is(([...g.set][2] as number[])[0], -0)).toBe(true);
    expect(Object.is(g.nested.a.b.c[0].d, -0)).toBe(true);
    expect("undef" in g).toBe(true);
    expect(g.undef).toBeUndefined();
    expect(Object.getPrototypeOf(g.empty)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(g.nested.a)).toBe(Object.prototype);
    expect(g.emptyMap).toBeInstanceOf(Map);
    expect(g.map).toBeInstanceOf(Map);
    expect(g.map.get(1)).toBe("one");
    expect(g.map.get("1")).toBe("string one");
    expect(g.set).toBeInstanceOf(Set);
    expect(Number.isNaN(g.dates[3].getTime())).toBe(true);
    expect(g.dates[2].getTime()).toBe(-5_000_000_000_000);
    expect(g.bigints.every((b) => typeof b === "bigint")).toBe(true);
    expect(g.numbers.every((n) => typeof n === "number")).toBe(true);
  }

  it("round-trips faithfully over the wire", () => {
    expectFaithful(valueOverWire(sample()));
  });

  it("round-trips faithfully through packValue", () => {
    expectFaithful(unpackValue(packValue(sample())));
  });

  it("does not modify the values it encodes", () => {
    const input = { a: -0, list: [-0, 1], map: new Map([["z", -0]]) };
    const list = input.list;
    encodeBatch([{ op: "key-in-memory", key: "k", hasValue: true, value: input }]);
    packValue(input);
    expect(Object.is(input.a, -0)).toBe(true);
    expect(input.list).toBe(list);
    expect(Object.is(input.list[0], -0)).toBe(true);
    expect(Object.is(input.map.get("z"), -0)).toBe(true);
  });

  it("keeps many object shapes apart within one batch (record ids are reused past 64)", () => {
    const objs = Array.from({ length: 400 }, (_, i) => ({ [`k${i % 200}`]: i, shared: i % 3 }));
    expect(valueOverWire(objs)).toEqual(objs);
    expect(unpackValue(packValue(objs))).toEqual(objs);
  });

  it("decodes any batch with a fresh decoder, in any order", () => {
    const batches = [0, 1, 2].map((b) =>
      encodeBatch([{ op: "gather-reply", id: b, data: { [`x${b}`]: { v: b, w: [b] } }, missing: [] }]),
    );
    for (const b of [2, 0, 1]) {
      const [m] = new FrameDecoder({ maxFrameBytes: 1 << 20 }).push(Buffer.concat(batches[b]));
      expect(decodeBatch(m.header, m.frames)).toEqual([
        { op: "gather-reply", id: b, data: { [`x${b}`]: { v: b, w: [b] } }, missing: [] },
      ]);
      // A plain msgpackr decoder created just now reads it too: each buffer defines its records.
      expect(new Unpackr({ mapsAsObjects: false }).unpack(m.header)).toEqual([
        { op: "gather-reply", id: b, data: { [`x${b}`]: { v: b, w: [b] } }, missing: [] },
      ]);
    }
  });

  it("decodes what another process encoded", () => {
    const serialize = new URL("../src/comm/serialize.ts", import.meta.url).href;
    const script = `
      const { encodeBatch } = await import(${JSON.stringify(serialize)});
      const { KeyRef } = await import(${JSON.stringify(new URL("../src/graph/spec.ts", import.meta.url).href)});
      const objs = Array.from({ length: 100 }, (_, i) => ({ ["s" + (i % 70)]: i, m: new Map([[i, -0]]) }));
      const pieces = encodeBatch([
        { op: "welcome", id: "first" },
        { op: "key-in-memory", key: "k", hasValue: true, value: { objs, ref: new KeyRef("x"), f: new Float64Array(200).fill(2.5) } },
      ]);
      process.stdout.write(Buffer.concat(pieces).toString("base64"));
    `;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
    });
    const [frame] = new FrameDecoder({ maxFrameBytes: 1 << 20 }).push(Buffer.from(out, "base64"));
    const msgs = decodeBatch(frame.header, frame.frames);
    expect(msgs[0]).toEqual({ op: "welcome", id: "first" });
    const value = (msgs[1] as { value: { objs: { m: Map<number, number> }[]; ref: KeyRef; f: Float64Array } }).value;
    expect(value.objs).toEqual(Array.from({ length: 100 }, (_, i) => ({ [`s${i % 70}`]: i, m: new Map([[i, -0]]) })));
    expect(Object.is(value.objs[99].m.get(99), -0)).toBe(true);
    expect(value.ref).toBeInstanceOf(KeyRef);
    expect(value.ref.key).toBe("x");
    expectSameArray(value.f, new Float64Array(200).fill(2.5));
  });
});

describe("KeyRef and Call", () => {
  const fn = { module: "file:///work/app.js", name: "inc" };
  const tree = () =>
    new Call(fn, [
      new KeyRef("x-1"),
      [new KeyRef("x-2"), { nested: new KeyRef("x-3") }],
      new Call({ module: "skein:builtins", name: "add" }, [new KeyRef("y"), -0, new Float64Array([1, 2])]),
      new Map([["ref", new KeyRef("z")]]),
    ]);

  function expectTree(got: unknown): void {
    expect(got).toBeInstanceOf(Call);
    const c = got as Call;
    expect(c.fn).toEqual(fn);
    expect(c.args[0]).toBeInstanceOf(KeyRef);
    expect((c.args[0] as KeyRef).key).toBe("x-1");
    const list = c.args[1] as [KeyRef, { nested: KeyRef }];
    expect(list[0]).toBeInstanceOf(KeyRef);
    expect(list[1].nested).toBeInstanceOf(KeyRef);
    expect(list[1].nested.key).toBe("x-3");
    const inner = c.args[2] as Call;
    expect(inner).toBeInstanceOf(Call);
    expect(inner.fn).toEqual({ module: "skein:builtins", name: "add" });
    expect(inner.args[0]).toBeInstanceOf(KeyRef);
    expect(Object.is(inner.args[1], -0)).toBe(true);
    expectSameArray(inner.args[2], new Float64Array([1, 2]));
    expect((c.args[3] as Map<string, KeyRef>).get("ref")).toBeInstanceOf(KeyRef);
    expect(got).toEqual(tree());
  }

  it("survive the wire as instances", () => {
    expectTree(valueOverWire(tree()));
  });

  it("survive packValue as instances", () => {
    expectTree(unpackValue(packValue(tree())));
  });

  it("round-trip RunSpecs through packRun/unpackRun", () => {
    const run = { fn, args: [tree(), new KeyRef("a"), 3] as const };
    const out = unpackRun(packRun(run));
    expect(out.fn).toEqual(fn);
    expectTree(out.args[0]);
    expect(out.args[1]).toBeInstanceOf(KeyRef);
    expect(out.args[2]).toBe(3);
    expect(unpackRun(packRun({ fn: null, args: [[new KeyRef("a"), new KeyRef("b")]] }))).toEqual({
      fn: null,
      args: [[new KeyRef("a"), new KeyRef("b")]],
    });
  });

  it("unpacks a RunSpec blob that arrived in shared memory (a worker's large frames do)", () => {
    const packed = packRun({ fn, args: [tree(), new KeyRef("a")] });
    const shared = new Uint8Array(new SharedArrayBuffer(packed.byteLength));
    shared.set(packed);
    const out = unpackRun(shared);
    expect(out.fn).toEqual(fn);
    expectTree(out.args[0]);
    expect(out.args[1]).toBeInstanceOf(KeyRef);
  });

  it("rejects malformed RunSpec blobs and frame references outside a batch", () => {
    expect(() => unpackRun(packValue(5))).toThrow("skein comm: packed RunSpec is malformed (got number)");
    expect(() => unpackRun(packValue([["m"], []]))).toThrow("skein comm: packed RunSpec is malformed (got array)");
    const [, header] = encodeBatch([{ op: "key-in-memory", key: "k", hasValue: true, value: new Float64Array(200) }]);
    expect(() => unpackValue(header)).toThrow("skein comm: cannot unpack value: binary frame reference outside a batch");
  });
});

describe("decodeBatch on bad input", () => {
  it("accepts deep but legitimate nesting", () => {
    let deep: unknown = { op: "leaf" };
    for (let i = 0; i < 300; i++) deep = [deep];
    expect(valueOverWire(deep)).toEqual(deep);
  });

  const [, header, frame] = encodeBatch([{ op: "key-in-memory", key: "k", hasValue: true, value: new Float64Array(200) }]);

  it.each([
    ["a missing frame", header, [], "skein comm: malformed batch header: message refers to binary frame 0 but the batch has 0"],
    [
      "a frame of the wrong size",
      header,
      [frame.subarray(0, 13)],
      "skein comm: malformed batch header: binary frame 0 has 13 bytes, not a whole number of Float64Array elements",
    ],
    ["a header that is not a list", packValue({ op: "welcome" }), [], "skein comm: batch header is not an array of messages (got Object)"],
    ["a message without op", packValue([{ op: "welcome" }, { id: 1 }]), [], 'skein comm: message 1 of the batch is not an object with a string "op" (got Object)'],
    ["truncated msgpack", new Uint8Array([0x92, 0x81]), [], "skein comm: malformed batch header: 2 values announced but 1 bytes left at byte 1"],
    [
      "a cut frame reference",
      header.subarray(0, header.length - 3),
      [frame],
      "skein comm: malformed batch header: 5 bytes announced but 2 left at byte 47",
    ],
    [
      "trailing bytes",
      Buffer.concat([encodeBatch([{ op: "welcome", id: "w" }])[1], Buffer.from([1, 2])]),
      [],
      "skein comm: malformed batch header: 2 trailing bytes after the value at byte 21",
    ],
    ["an unknown extension", new Uint8Array([0x91, 0xd4, 0x7e, 0x00]), [], "skein comm: malformed batch header: unsupported extension type 0x7e at byte 1"],
    [
      "nested arrays announcing more elements than there are bytes (an allocation bomb for msgpackr)",
      Buffer.alloc(3 * 5000).map((_, i) => [0xdc, 0xff, 0xff][i % 3]),
      [],
      "skein comm: malformed batch header: 65535 values announced but 14997 bytes left at byte 3",
    ],
    [
      "nesting deeper than 1000",
      Buffer.concat([Buffer.alloc(1001, 0x91), Buffer.from([1])]),
      [],
      "skein comm: malformed batch header: nesting deeper than 1000 at byte 1001",
    ],
    ["the never-used token", new Uint8Array([0x91, 0xc1]), [], "skein comm: malformed batch header: invalid token 0xc1 at byte 1"],
    [
      "two-byte record ids (never written)",
      new Uint8Array([0x91, 0xd5, 0x72, 0x40, 0x01, 0x91, 0xa1, 0x61, 0x01]),
      [],
      "skein comm: malformed batch header: unsupported extension type 0x72 at byte 1",
    ],
    [
      "bundled strings (never written)",
      new Uint8Array([0x91, 0xd6, 0x62, 0, 0, 0, 0]),
      [],
      "skein comm: malformed batch header: unsupported extension type 0x62 at byte 1",
    ],
    [
      "a record whose keys are not strings",
      new Uint8Array([0x91, 0xd4, 0x72, 0x40, 0x91, 0x01, 0x05]),
      [],
      "skein comm: malformed batch header: record key is not a string at byte 6",
    ],
  ])("rejects %s with a FrameError", (_, h, frames, message) => {
    let caught: unknown;
    try {
      decodeBatch(h, frames);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FrameError);
    expect((caught as Error).message).toBe(message);
  });
});

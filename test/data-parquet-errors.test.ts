/**
 * Malformed, truncated and unsupported files: each error names the file and what is wrong.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import {
  readFooter,
  readRowGroups,
  writeParquetFile,
  ParquetError,
  ParquetUnsupportedError,
  type ColumnArray,
} from "../src/data/parquet/index.js";
import { footerForRowGroups } from "../src/data/parquet/footer.js";
import { openDuck, seededBytes, tempDir, type Duck } from "./fixtures/parquet/helpers.js";

let tmp: ReturnType<typeof tempDir>;
let duck: Duck;
/** A valid file: columns x (double) and s (string), 3 row groups, written uncompressed. */
let good: string;
let goodBytes: Buffer;

beforeAll(async () => {
  tmp = tempDir("pq-errors");
  duck = await openDuck();
  good = tmp.path("good.parquet");
  const columns = new Map<string, ColumnArray>([
    ["x", Float64Array.from({ length: 300 }, (_, i) => i * 1.5)],
    ["s", Array.from({ length: 300 }, (_, i) => `row-${i}`)],
  ]);
  await writeParquetFile(good, { rows: 300, columns }, { compression: "uncompressed", rowGroupSize: 100 });
  goodBytes = readFileSync(good);
});
afterAll(() => {
  duck.close();
  tmp.remove();
});

function variant(name: string, edit: (b: Buffer) => Buffer): string {
  const p = tmp.path(name);
  writeFileSync(p, edit(Buffer.from(goodBytes)));
  return p;
}

async function failure(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ParquetError);
  return err as Error;
}

describe("files that are not parquet, or not whole", () => {
  it("random bytes", async () => {
    const p = tmp.path("random.bin");
    writeFileSync(p, seededBytes(5000, 7));
    expect((await failure(readFooter(p))).message).toBe(`skein parquet: ${p}: not a parquet file (missing PAR1 magic)`);
    expect((await failure(readRowGroups(p))).message).toBe(`skein parquet: ${p}: not a parquet file (missing PAR1 magic)`);
  });

  it("a file shorter than magic + footer", async () => {
    const p = tmp.path("tiny.parquet");
    writeFileSync(p, "PAR1x");
    expect((await failure(readFooter(p))).message).toBe(`skein parquet: ${p}: not a parquet file (5 bytes; a parquet file has at least 12)`);
  });

  it("a file cut short (the writer died half-way)", async () => {
    const p = variant("half.parquet", (b) => b.subarray(0, b.length >> 1));
    expect((await failure(readFooter(p))).message).toBe(`skein parquet: ${p}: truncated file (PAR1 magic at the start but not at the end)`);
  });

  it("a footer length larger than the file", async () => {
    const p = variant("longfooter.parquet", (b) => {
      b.writeUInt32LE(0x7fffffff, b.length - 8);
      return b;
    });
    expect((await failure(readFooter(p))).message).toBe(
      `skein parquet: ${p}: truncated footer (footer length 2147483647 exceeds the ${goodBytes.length - 12} bytes available)`,
    );
  });

  it("a zero footer length", async () => {
    const p = variant("zerofooter.parquet", (b) => {
      b.writeUInt32LE(0, b.length - 8);
      return b;
    });
    expect((await failure(readFooter(p))).message).toBe(`skein parquet: ${p}: truncated footer (footer length is 0)`);
  });

  it("a bad magic at the start", async () => {
    const p = variant("badhead.parquet", (b) => {
      b.write("PAR0", 0);
      return b;
    });
    expect((await failure(readFooter(p))).message).toBe(`skein parquet: ${p}: not a parquet file (missing PAR1 magic at the start)`);
  });

  it("a footer of garbage", async () => {
    const p = variant("garbage-footer.parquet", (b) => {
      const len = b.readUInt32LE(b.length - 8);
      const junk = seededBytes(len, 3);
      b.set(junk, b.length - 8 - len);
      return b;
    });
    expect((await failure(readFooter(p))).message).toMatch(new RegExp(`^skein parquet: ${escape(p)}: corrupt footer \\(.+\\)$`));
  });

  it("a missing file and a directory, read through libuv's pool or with blocking calls", async () => {
    const p = tmp.path("nope.parquet");
    const d = tmp.path("adir.parquet");
    mkdirSync(d);
    for (const sync of [false, true]) {
      expect((await failure(readFooter(p, { sync }))).message).toBe(`skein parquet: ${p}: no such file`);
      expect((await failure(readFooter(d, { sync }))).message).toBe(`skein parquet: ${d}: not a regular file`);
    }
    expect((await failure(readRowGroups(d))).message).toBe(`skein parquet: ${d}: not a regular file`);
  });

  it("the same footer either way", async () => {
    expect(await readFooter(good, { sync: true })).toEqual(await readFooter(good));
  });
});

describe("damaged data pages", () => {
  it("a zeroed column chunk: the error names file, row group and column", async () => {
    const info = await readFooter(good);
    const chunk = info.rowGroups[1].columns[0];
    const p = variant("zeroed-chunk.parquet", (b) => {
      b.fill(0, chunk.start, chunk.start + chunk.compressedSize);
      return b;
    });
    expect((await failure(readRowGroups(p))).message).toBe(
      `skein parquet: ${p}: row group 1, column "x": cannot decode (page at byte 0 of the chunk claims undefined bytes, only ${chunk.compressedSize - 1} remain)`,
    );
    // the other row groups and columns still read
    const ok = await readRowGroups(p, { rowGroups: [0, 2] });
    expect(ok.rows).toBe(200);
    expect((await readRowGroups(p, { rowGroups: [1], columns: ["s"] })).columns.get("s")).toHaveLength(100);
  });

  it("compressed pages that do not decompress", async () => {
    const p = tmp.path("bad-snappy.parquet");
    await writeParquetFile(p, { rows: 1000, columns: new Map([["x", Float64Array.from({ length: 1000 }, (_, i) => i % 10)]]) }, { compression: "snappy" });
    const info = await readFooter(p);
    const chunk = info.rowGroups[0].columns[0];
    const b = readFileSync(p);
    // keep the page header (first bytes), ruin the compressed body
    b.fill(0xff, chunk.start + 24, chunk.start + chunk.compressedSize);
    writeFileSync(p, b);
    expect((await failure(readRowGroups(p))).message).toMatch(
      new RegExp(`^skein parquet: ${escape(p)}: row group 0, column "x": cannot decode \\(.+\\)$`),
    );
  });

  it("a file that changed since its footer was read", async () => {
    const p = tmp.path("changing.parquet");
    writeFileSync(p, goodBytes);
    const info = await readFooter(p);
    writeFileSync(p, Buffer.concat([goodBytes, Buffer.from("tail")]));
    expect((await failure(readRowGroups(p, { info }))).message).toBe(
      `skein parquet: ${p}: file changed since its footer was read (${goodBytes.length} bytes then, ${goodBytes.length + 4} now)`,
    );
  });
});

describe("requests a file cannot satisfy", () => {
  it("an unknown column and a row group out of range", async () => {
    expect((await failure(readRowGroups(good, { columns: ["x", "zz"] }))).message).toBe(`skein parquet: ${good}: no column "zz" (columns: x, s)`);
    expect((await failure(readRowGroups(good, { rowGroups: [0, 3] }))).message).toBe(`skein parquet: ${good}: row group 3 does not exist (the file has 3)`);
    expect((await failure(readRowGroups(good, { rowGroups: [1.5] }))).message).toBe(`skein parquet: ${good}: row group 1.5 does not exist (the file has 3)`);
  });

  it("a footer trimmed to some row groups (what a partition's task carries) reads those, refuses the others", async () => {
    const info = await readFooter(good);
    const trimmed = footerForRowGroups(info, [1, 2]);
    expect(trimmed.rowGroups.map((g) => g.index)).toEqual([1, 2]);
    expect(trimmed.rowGroups.every((g) => g.columns.every((c) => c.stats === undefined))).toBe(true);
    expect(trimmed.keyValueMetadata).toEqual({});
    expect(await readRowGroups(good, { rowGroups: [2], info: trimmed })).toEqual(await readRowGroups(good, { rowGroups: [2], info }));
    expect((await failure(readRowGroups(good, { rowGroups: [0], info: trimmed }))).message).toBe(
      `skein parquet: ${good}: row group 0 does not exist (the footer given lists row groups 1, 2)`,
    );
  });

  it("nested columns are listed but refused, with a typed error; the flat ones read", async () => {
    const p = tmp.path("nested.parquet");
    await duck.run(`COPY (SELECT i AS id, [i, i + 1] AS l, {'a': i} AS st FROM range(10) t(i)) TO '${p}' (FORMAT PARQUET)`);
    const info = await readFooter(p);
    expect(info.columns.map((c) => [c.name, c.physicalType, c.nested, c.leaf])).toEqual([
      ["id", "INT64", false, 0],
      ["l", "GROUP", true, -1],
      ["st", "GROUP", true, -1],
    ]);
    const err = await failure(readRowGroups(p));
    expect(err).toBeInstanceOf(ParquetUnsupportedError);
    expect(err.message).toBe(`skein parquet: ${p}: column "l" is nested (LIST); skein reads flat columns only`);
    expect((await readRowGroups(p, { columns: ["id"] })).columns.get("id")).toEqual(Float64Array.from({ length: 10 }, (_, i) => i));
  });

  it("64-bit integers beyond 2^53 with nulls", async () => {
    const p = tmp.path("bigint-nulls.parquet");
    await duck.run(
      `COPY (SELECT CASE WHEN i = 1 THEN NULL ELSE 9007199254740993 + i END::BIGINT AS big FROM range(3) t(i)) TO '${p}' (FORMAT PARQUET)`,
    );
    expect((await failure(readRowGroups(p))).message).toBe(
      `skein parquet: ${p}: column "big": 64-bit integers beyond +-2^53 together with nulls: no typed array holds both (read the rows without nulls, or store the column as DOUBLE)`,
    );
    // without the null, the exact values come back as a BigInt64Array
    const q = tmp.path("bigint.parquet");
    await duck.run(`COPY (SELECT (9007199254740993 + i)::BIGINT AS big FROM range(3) t(i)) TO '${q}' (FORMAT PARQUET)`);
    expect((await readRowGroups(q)).columns.get("big")).toEqual(BigInt64Array.of(9007199254740993n, 9007199254740994n, 9007199254740995n));
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

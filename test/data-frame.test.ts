/**
 * Frame on a LocalCluster (2 in-process workers): lazy ops, row counts, persist, repartition,
 * head, matrices, empty partitions, exact errors.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../src/index.js";
import { Frame, fromPartitions, makePartition, type FramePartition } from "../src/data/index.js";
import { addC, dropB, evenA, greaterThan } from "./fixtures/data-tasks.js";

let client: Client;

beforeAll(async () => {
  client = await Client.connect({ processes: false, nWorkers: 2 });
});

afterAll(async () => {
  await client?.close();
});

function part(from: number, n: number): FramePartition {
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const s: string[] = [];
  for (let i = 0; i < n; i++) {
    a[i] = from + i;
    b[i] = 10 * (from + i);
    s.push(`r${from + i}`);
  }
  return makePartition({ a, b, s });
}

/** Rows 0..99 in partitions of 30, 0, 45, 25. */
async function frame(): Promise<Frame> {
  return fromPartitions([part(0, 30), part(30, 0), part(30, 45), part(75, 25)], { client });
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

describe("Frame", () => {
  it("knows its schema and row counts without running anything", async () => {
    const f = await frame();
    expect(f.schema).toEqual([
      { name: "a", dtype: "float64" },
      { name: "b", dtype: "float64" },
      { name: "s", dtype: "string" },
    ]);
    expect(f.rows).toEqual([30, 0, 45, 25]);
    expect(f.knownRows).toBe(100);
    expect(await f.count()).toBe(100);
  });

  it("computes to one concatenated partition", async () => {
    const all = await (await frame()).compute();
    expect(all.rows).toBe(100);
    expect(sum(all.columns.get("a") as Float64Array)).toBe(4950);
    expect((all.columns.get("s") as string[])[99]).toBe("r99");
  });

  it("selects, maps and filters; filtered counts become known after persist", async () => {
    const f = (await frame()).select(["a", "b"]).mapPartitions(addC, {
      schema: [
        { name: "a", dtype: "float64" },
        { name: "b", dtype: "float64" },
        { name: "c", dtype: "float64" },
      ],
      preservesRows: true,
    });
    expect(f.knownRows).toBe(100);
    const even = f.filter(evenA);
    expect(even.rows).toEqual([undefined, undefined, undefined, undefined]);
    expect(await even.count()).toBe(50);
    const kept = await even.persist();
    expect(kept.rows).toEqual([15, 0, 23, 12]);
    const out = await kept.compute();
    expect(sum(out.columns.get("c") as Float64Array)).toBe(11 * 2450);
    const big = await f.filter(greaterThan, ["a", 89.5]).compute();
    expect(Array.from(big.columns.get("a") as Float64Array)).toEqual([90, 91, 92, 93, 94, 95, 96, 97, 98, 99]);
  });

  it("computes the same frame again at once, and builds on persisted frames", async () => {
    const f = (await frame()).filter(evenA);
    expect(await f.count()).toBe(50);
    const [x, y] = [await f.compute(), await f.compute()];
    expect(x.rows).toBe(50);
    expect(y.rows).toBe(50);
    const kept = await f.persist();
    const again = await kept.filter(greaterThan, ["a", 49.5]).select(["a"]).compute();
    expect(sum(again.columns.get("a") as Float64Array)).toBe(1850);
    expect(await kept.count()).toBe(50);
  });

  it("checks mapPartitions output against the schema", async () => {
    const bad = (await frame()).mapPartitions(dropB);
    await expect(bad.compute()).rejects.toThrow(
      /^skein: task "mapPartitionTask-[0-9a-f]+" \(mapPartitionTask\) failed on .*: SkeinError: skein data: mapPartitions\(dropB\) output of partition [0-3] has columns \[a\], the schema says \[a, b, s\]$/,
    );
  });

  it("repartitions evenly with known counts and by pieces without", async () => {
    const f = await frame();
    const r = f.repartition(3);
    expect(r.rows).toEqual([33, 33, 34]);
    const all = await r.compute();
    expect(Array.from(all.columns.get("a") as Float64Array)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    const parts = await client.gather(r.toFutures());
    expect(parts.map((p) => (p.columns.get("a") as Float64Array)[0])).toEqual([0, 33, 66]);

    const unknown = f.filter(evenA);
    const more = unknown.repartition(8);
    expect(more.npartitions).toBe(8);
    expect(await more.count()).toBe(50);
    const fewer = unknown.repartition(2);
    expect((await fewer.persist()).rows).toEqual([15, 35]);
  });

  it("takes head rows across partitions, and concatenates frames", async () => {
    const f = await frame();
    const h = await f.head(32);
    expect(h.rows).toBe(32);
    expect((h.columns.get("a") as Float64Array)[31]).toBe(31);
    const two = f.concat(f.select(["a", "b", "s"]));
    expect(two.npartitions).toBe(8);
    expect(await two.count()).toBe(200);
    expect(() => f.concat(f.select(["a"]))).toThrow("skein data: concat: frame 1 has schema (a: float64), frame 0 has (a: float64, b: float64, s: string)");
  });

  it("makes matrices and X/y partitions", async () => {
    const f = await frame();
    const m = await f.toMatrix(["a", "b"]).compute();
    expect([m.rows, m.cols]).toEqual([100, 2]);
    expect(m.data[2 * 99 + 1]).toBe(990);
    const xy = await f.splitXY("b").compute();
    expect(xy.X.cols).toBe(1);
    expect(sum(xy.y)).toBe(49500);
    expect(() => f.toMatrix(["s"])).toThrow('skein data: toMatrix: column "s" holds strings, not numbers');
  });

  it("handles frames with no rows and no partitions", async () => {
    const f = await fromPartitions([part(0, 0)], { client });
    expect((await f.compute()).rows).toBe(0);
    const none = new Frame([], [], f.schema);
    const c = await none.compute();
    expect(c.rows).toBe(0);
    expect([...c.columns.keys()]).toEqual(["a", "b", "s"]);
    expect(await none.count()).toBe(0);
    expect((await none.toMatrix(["a"]).compute()).rows).toBe(0);
    expect((await none.head(3)).rows).toBe(0);
    expect((await f.filter(evenA).repartition(3).compute()).rows).toBe(0);
  });
});

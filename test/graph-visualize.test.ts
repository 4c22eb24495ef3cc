import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, delayed, toDot, visualize } from "../src/index.js";
import { add, fail, inc, sum } from "./fixtures/tasks.js";

const HEAD = [
  "digraph skein {",
  "  rankdir=BT;",
  '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=11];',
  '  edge [color="#5f6368", arrowsize=0.6];',
];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "skein-viz-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("toDot", () => {
  it("draws a raw graph: nodes by key, labels by function, edges from inputs", () => {
    expect(toDot({ x: 1, y: [inc, "x"], z: [add, "x", "y"] })).toBe(
      [
        ...HEAD,
        '  "x" [label="x", tooltip="x", shape=ellipse];',
        '  "y" [label="inc", tooltip="y"];',
        '  "z" [label="add", tooltip="z"];',
        '  "x" -> "y";',
        '  "x" -> "z";',
        '  "y" -> "z";',
        "}",
        "",
      ].join("\n"),
    );
  });

  it("draws a Delayed with every task once", () => {
    const a = delayed(inc)(1);
    const b = delayed(inc)(a);
    const c = delayed(add)(a, b);
    const dot = toDot(c, { rankdir: "LR" });
    expect(dot).toContain("rankdir=LR;");
    expect(dot).toContain(`"${a.key}" [label="inc", tooltip="${a.key}"];`);
    expect(dot).toContain(`"${c.key}" [label="add", tooltip="${c.key}"];`);
    expect(dot.match(/ -> /g)).toHaveLength(3);
    expect(dot).toContain(`"${a.key}" -> "${b.key}";`);
  });

  it("collapses a large graph into one node per function, with edge counts", () => {
    const xs = Array.from({ length: 300 }, (_, i) => delayed(inc)(i));
    const total = delayed(sum)(xs);
    const dot = toDot(total, { maxNodes: 100 });
    expect(dot.split("\n").slice(4)).toEqual([
      '  "group:inc" [label="inc ×300", tooltip="300 tasks of inc"];',
      '  "group:sum" [label="sum ×1", tooltip="1 tasks of sum"];',
      '  "group:inc" -> "group:sum" [label="300", penwidth=3.48];',
      "}",
      "",
    ]);
  });

  it("takes explicit states, infers their inputs, and escapes quotes", () => {
    const dot = toDot({ 'a"b': 1, c: [inc, 'a"b'] }, { states: { c: "erred" } });
    expect(dot).toContain('"a\\"b" [label="a\\"b", tooltip="a\\"b (done)", shape=ellipse, fillcolor="#a8dab5"];');
    expect(dot).toContain('"c" [label="inc", tooltip="c (erred)", fillcolor="#f28b82"];');
  });

  it("rejects what it cannot draw", () => {
    expect(() => toDot(42 as never)).toThrow("skein visualize: expected a Delayed, a collection, Futures or a raw graph, got number");
    expect(() => toDot([delayed(inc)(1), "x"] as never)).toThrow("skein visualize: item 1 is neither a Delayed nor a Future (got string)");
  });
});

describe("visualize after a run", () => {
  let client: Client;
  beforeAll(async () => {
    client = await Client.connect({ processes: false, nWorkers: 1, threadsPerWorker: 2 });
  });
  afterAll(async () => {
    await client?.close();
  });

  it("colours finished tasks, the failed one and what reads it", async () => {
    const a = delayed(inc)(10);
    const bad = delayed(fail)(a);
    const after = delayed(inc)(bad);
    const ok = delayed(add)(a, 1);
    const futures = client.compute([after, ok]);
    await client.wait(futures);
    const dot = toDot([after, ok]);
    expect(dot).toContain(`"${a.key}" [label="inc", tooltip="${a.key} (done)", fillcolor="#a8dab5"];`);
    expect(dot).toContain(`"${ok.key}" [label="add", tooltip="${ok.key} (done)", fillcolor="#a8dab5"];`);
    expect(dot).toContain(`"${bad.key}" [label="fail", tooltip="${bad.key} (erred)", fillcolor="#f28b82"];`);
    expect(dot).toContain(`"${after.key}" [label="inc", tooltip="${after.key} (erred)", fillcolor="#f28b82"];`);
    for (const f of futures) f.release();
  });

  it("writes SVG and DOT files, and draws Futures and collapsed groups with state counts", async () => {
    const xs = Array.from({ length: 40 }, (_, i) => delayed(inc)(i));
    const total = delayed(sum)(xs);
    const f = client.compute(total);
    expect(await f.result()).toBe(820);
    const svgPath = join(dir, "graph.svg");
    const svg = await visualize(total, svgPath);
    expect(readFileSync(svgPath, "utf8")).toBe(svg);
    expect(svg).toContain("<svg");
    expect(svg).toContain(`<title>${total.key.replace(/-/g, "&#45;")}</title>`); // Graphviz escapes dashes
    expect(svg).toContain('fill="#a8dab5"');
    const dot = await visualize(total, join(dir, "graph.dot"), { maxNodes: 10 });
    expect(readFileSync(join(dir, "graph.dot"), "utf8")).toBe(dot);
    expect(dot).toContain('"group:inc" [label="inc ×40\\n40 done", tooltip="40 tasks of inc", fillcolor="#a8dab5"];');
    expect(await visualize(f, undefined, { format: "dot" })).toContain(`"${f.key}" [label="sum", tooltip="${f.key} (done)", fillcolor="#a8dab5"];`);
    f.release();
  });

  it("colours from the scheduler's task stream once no Future is held", async () => {
    const a = delayed(inc)(100);
    const b = delayed(fail)(a);
    const c = delayed(inc)(b);
    await expect(c.compute(client)).rejects.toThrow("boom");
    // compute() released its Future: the client knows nothing of these keys now.
    expect(client.keyRecord(c.key)).toBeUndefined();
    expect(toDot(c, { client })).not.toMatch(/\((done|erred)\)/);
    const dot = await visualize(c, undefined, { format: "dot", client });
    expect(dot).toContain(`"${a.key}" [label="inc", tooltip="${a.key} (done)", fillcolor="#a8dab5"];`);
    expect(dot).toContain(`"${b.key}" [label="fail", tooltip="${b.key} (erred)", fillcolor="#f28b82"];`);
    expect(dot).toContain(`"${c.key}" [label="inc", tooltip="${c.key} (erred)", fillcolor="#f28b82"];`);
  });

  it("names a path it cannot tell the format of", async () => {
    await expect(visualize({ x: 1 }, join(dir, "g.png"))).rejects.toThrow(`skein visualize: cannot tell the format of "${join(dir, "g.png")}": use a .svg or .dot file name, or the format option`);
  });
});

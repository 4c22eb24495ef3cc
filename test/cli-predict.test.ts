import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readRowGroups, writeParquetFile } from "../src/data/index.js";
import type { Matrix } from "../src/data/matrix.js";
import { LogisticRegression, save, toOnnx } from "../estimators/index.js";
import { killAll, skein } from "./cli-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "skein-cli-predict-"));
const FEATURES = ["f0", "f1", "f2"];
const SIZES = [300, 0, 170];
let model: LogisticRegression;
/** Rows of every input file, as one matrix per file. */
const inputs: Matrix[] = [];

function features(n: number, seed: number): Float64Array {
  let s = seed;
  const out = new Float64Array(n * 3);
  for (let i = 0; i < out.length; i++) out[i] = (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 31 - 1;
  return out;
}

async function writeInput(path: string, X: Matrix, firstId: number): Promise<void> {
  const columns = new Map<string, Float64Array | Int32Array>([["id", Int32Array.from({ length: X.rows }, (_, i) => firstId + i)]]);
  FEATURES.forEach((f, j) => columns.set(f, Float64Array.from({ length: X.rows }, (_, i) => X.data[i * 3 + j])));
  columns.set("note", Float64Array.from({ length: X.rows }, () => 7));
  await writeParquetFile(path, { rows: X.rows, columns });
}

beforeAll(async () => {
  const Xt = features(400, 1);
  const yt = new Float64Array(400);
  for (let i = 0; i < 400; i++) yt[i] = Xt[i * 3] - 0.5 * Xt[i * 3 + 1] + 0.2 * Xt[i * 3 + 2] > 0 ? 1 : 0;
  model = await new LogisticRegression().fit({ rows: 400, cols: 3, data: Xt }, yt);
  await save(model, join(dir, "model.json"));
  writeFileSync(join(dir, "model.onnx"), toOnnx(model));
  mkdirSync(join(dir, "data"));
  for (let k = 0; k < SIZES.length; k++) {
    const X = { rows: SIZES[k], cols: 3, data: features(SIZES[k], 10 + k) };
    inputs.push(X);
    await writeInput(join(dir, "data", `in-${k}.parquet`), X, k * 1000);
  }
});

afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const p = skein(["predict", ...args, "--nworkers", "1"]);
  const code = await p.exited(120_000);
  return { code, stdout: p.stdout, stderr: p.stderr };
}

describe("skein predict", () => {
  it("writes one output per input with ids and probabilities equal to the model's, atomically", async () => {
    const out = join(dir, "out-proba");
    const r = await run(["--model", join(dir, "model.json"), "--input", join(dir, "data", "*.parquet"), "--output", out, "--columns", FEATURES.join(","), "--id-column", "id", "--method", "predictProba"]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["in-0.parquet", "in-1.parquet", "in-2.parquet"]);
    for (let k = 0; k < SIZES.length; k++) {
      expect(r.stdout).toContain(`wrote ${join(out, `in-${k}.parquet`)} (${SIZES[k]} rows) from ${join(dir, "data", `in-${k}.parquet`)}`);
      const b = await readRowGroups(join(out, `in-${k}.parquet`));
      expect([...b.columns.keys()]).toEqual(["id", "proba_0", "proba_1"]);
      expect(b.rows).toBe(SIZES[k]);
      expect(Array.from(b.columns.get("id") as Int32Array)).toEqual(Array.from({ length: SIZES[k] }, (_, i) => k * 1000 + i));
      const want = model.predictProba(inputs[k]);
      expect(Array.from(b.columns.get("proba_1") as Float64Array)).toEqual(Array.from({ length: SIZES[k] }, (_, i) => want.data[2 * i + 1]));
    }
    // Progress went to stderr (plain lines: not a terminal).
    expect(r.stderr).toMatch(/skein predict/);
  }, 150_000);

  it("runs an .onnx model; a bad input fails with its path named and exit code 1, the good ones are still written", async () => {
    const bad = join(dir, "mixed");
    mkdirSync(bad);
    await writeInput(join(bad, "good.parquet"), inputs[0], 0);
    writeFileSync(join(bad, "broken.parquet"), "this is not parquet");
    const out = join(dir, "out-mixed");
    const r = await run(["--model", join(dir, "model.onnx"), "--input", bad, "--output", out, "--columns", FEATURES.join(",")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`skein predict: ${join(bad, "broken.parquet")}: `);
    expect(r.stderr).toContain("skein predict: 1 of 2 input(s) failed");
    expect(readdirSync(out)).toEqual(["good.parquet"]);
    const b = await readRowGroups(join(out, "good.parquet"));
    expect(Array.from(b.columns.get("prediction") as Float64Array)).toEqual(Array.from(model.predict(inputs[0])));
  }, 150_000);

  it("runs on a running scheduler with --scheduler (transform of a saved pipeline into an output directory tree)", async () => {
    const s = skein(["scheduler", "--port", "0"], { SKEIN_TOKEN: undefined });
    const [, address] = await s.waitFor(/listening at (\S+)\n/);
    const w = skein(["worker", address, "--nworkers", "1", "--nthreads", "1", "--memory-limit", "1GB"], { SKEIN_TOKEN: undefined });
    await w.waitFor(/skein worker .* listening at /);
    const { Pipeline, StandardScaler } = await import("../estimators/index.js");
    const Xt = { rows: 400, cols: 3, data: features(400, 1) };
    const pipe = await new Pipeline({ steps: [["s", new StandardScaler()]] }).fit(Xt);
    await save(pipe, join(dir, "scaler.json"));
    mkdirSync(join(dir, "tree", "a"), { recursive: true });
    mkdirSync(join(dir, "tree", "b"));
    await writeInput(join(dir, "tree", "a", "in-2.parquet"), inputs[2], 0);
    await writeInput(join(dir, "tree", "b", "in-2.parquet"), inputs[0], 0);
    const out = join(dir, "out-remote");
    const p = skein(["predict", "--model", join(dir, "scaler.json"), "--input", join(dir, "tree"), "--output", out, "--method", "transform", "--columns", FEATURES.join(","), "--scheduler", address], { SKEIN_TOKEN: undefined });
    const code = await p.exited(120_000);
    expect(p.stderr).not.toMatch(/Error/);
    expect(code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["a", "b"]);
    expect((await readRowGroups(join(out, "b", "in-2.parquet"))).rows).toBe(SIZES[0]);
    const b = await readRowGroups(join(out, "a", "in-2.parquet"));
    expect([...b.columns.keys()]).toEqual(["t0", "t1", "t2"]);
    const want = pipe.transform(inputs[2]);
    expect(Array.from(b.columns.get("t1") as Float64Array)).toEqual(Array.from({ length: SIZES[2] }, (_, i) => want.data[3 * i + 1]));
    s.child.kill("SIGTERM");
    expect(await w.exited(30_000)).toBe(0);
  }, 150_000);

  it("a model file that cannot be loaded is an error naming it", async () => {
    const path = join(dir, "broken-model.json");
    writeFileSync(path, '{"format":"skein-model","version":1,');
    const r = await run(["--model", path, "--input", join(dir, "data"), "--output", join(dir, "never")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`skein predict: --model ${path}: skein estimators: load: ${path} is not valid JSON (truncated or corrupted?)`);
    expect(existsSync(join(dir, "never"))).toBe(false);
  }, 150_000);
});

import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { createLogger, lineLog, logSettings, parseLogLevel, resolveLogFormat } from "../src/log.js";
import { CLI_MAIN, killAll, spawnProc } from "./cli-helpers.js";

function sink(isTTY = false): Writable & { lines: () => string[]; isTTY: boolean } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  }) as Writable & { lines: () => string[]; isTTY: boolean };
  w.lines = () => chunks.join("").split("\n").filter((l) => l !== "");
  w.isTTY = isTTY;
  return w;
}

const skein = (args: readonly string[], env: Record<string, string | undefined> = {}) =>
  spawnProc(process.execPath, ["--import", "tsx", CLI_MAIN, ...args], { SKEIN_LOG_LEVEL: undefined, SKEIN_LOG_FORMAT: undefined, ...env });

afterAll(() => killAll());

describe("createLogger", () => {
  it("writes one JSON object per record, with a string level, at or above its level", () => {
    const out = sink();
    const log = createLogger({ stream: out, name: "skein-test", format: "json" });
    log.debug("not shown");
    log.info({ address: "tcp://127.0.0.1:1" }, "listening");
    log.warn("careful");
    const recs = out.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(recs.map((r) => [r.level, r.msg, r.name, r.pid])).toEqual([
      ["info", "listening", "skein-test", process.pid],
      ["warn", "careful", "skein-test", process.pid],
    ]);
    expect(recs[0].address).toBe("tcp://127.0.0.1:1");
    expect(Number.isNaN(Date.parse(String(recs[0].time)))).toBe(false);
  });

  it("writes `<time> <level> <msg> k=v` lines in text format, error stacks below", () => {
    const out = sink();
    const log = createLogger({ stream: out, level: "debug", format: "text" });
    log.debug({ worker: "w-1", n: 3 }, "spilled");
    log.error(new Error("boom"), "failed");
    const lines = out.lines();
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z debug spilled worker=w-1 n=3$/);
    expect(lines[1]).toMatch(/^\S+ error failed$/);
    expect(lines[2]).toBe("Error: boom");
  });

  it("picks text on a TTY and JSON elsewhere for auto", () => {
    expect(resolveLogFormat("auto", sink(true))).toBe("text");
    expect(resolveLogFormat("auto", sink(false))).toBe("json");
    expect(resolveLogFormat("json", sink(true))).toBe("json");
    const out = sink(true);
    createLogger({ stream: out }).info("hi");
    expect(out.lines()[0]).toMatch(/^\S+ info hi$/);
  });

  it("adapts to the servers' (level, msg) hook and stays silent at silent", () => {
    const out = sink();
    const log = lineLog(createLogger({ stream: out, format: "json", level: "warn" }));
    log("info", "dropped");
    log("warn", "kept");
    log("error", "also kept");
    expect(out.lines().map((l) => (JSON.parse(l) as { level: string; msg: string }).msg)).toEqual(["kept", "also kept"]);
    const quiet = sink();
    lineLog(createLogger({ stream: quiet, level: "silent" }))("error", "x");
    expect(quiet.lines()).toEqual([]);
  });
});

describe("log settings", () => {
  it("takes the flag, then the environment, then info/auto", () => {
    expect(logSettings({}, {})).toEqual({ level: "info", format: "auto" });
    expect(logSettings({}, { SKEIN_LOG_LEVEL: "debug", SKEIN_LOG_FORMAT: "text" })).toEqual({ level: "debug", format: "text" });
    expect(logSettings({ logLevel: "WARN", logFormat: "json" }, { SKEIN_LOG_LEVEL: "debug" })).toEqual({ level: "warn", format: "json" });
  });

  it("names the bad value and where it came from", () => {
    expect(() => parseLogLevel("loud")).toThrow('skein: --log-level must be one of trace, debug, info, warn, error, fatal, silent, got "loud"');
    expect(() => logSettings({}, { SKEIN_LOG_FORMAT: "xml" })).toThrow('skein: SKEIN_LOG_FORMAT must be one of json, text, auto, got "xml"');
  });
});

describe("skein scheduler logging", () => {
  it("logs where it listens as JSON on stderr and the address on stdout", async () => {
    const p = skein(["scheduler", "--port", "0", "--no-dashboard"]);
    const [, address] = await p.waitFor(/^skein scheduler listening at (tcp:\/\/127\.0\.0\.1:[0-9]+)\n$/);
    const [line] = await p.waitFor(/^\{.*"msg":"skein scheduler listening at .*\}\n/m, "stderr");
    const rec = JSON.parse(line) as Record<string, unknown>;
    expect([rec.level, rec.name, rec.msg, rec.address]).toEqual(["info", "skein-scheduler", `skein scheduler listening at ${address}`, address]);
    p.child.kill("SIGTERM");
    expect(await p.exited()).toBe(0);
    expect(p.stderr).toContain('"msg":"skein scheduler: SIGTERM, shutting down"');
  });

  it("writes nothing below --log-level and text with --log-format text", async () => {
    const p = skein(["scheduler", "--port", "0", "--no-dashboard", "--log-level", "warn"]);
    await p.waitFor(/listening at/);
    p.child.kill("SIGTERM");
    expect(await p.exited()).toBe(0);
    expect(p.stderr).toBe("");
    const t = skein(["scheduler", "--port", "0", "--no-dashboard"], { SKEIN_LOG_FORMAT: "text" });
    await t.waitFor(/^\S+ info skein scheduler listening at tcp:\/\/127\.0\.0\.1:[0-9]+ address=tcp:\/\/127\.0\.0\.1:[0-9]+\n/, "stderr");
    t.child.kill("SIGTERM");
    expect(await t.exited()).toBe(0);
  });

  it("rejects a bad level", async () => {
    const p = skein(["scheduler", "--port", "0", "--log-level", "loud"]);
    expect(await p.exited()).toBe(1);
    expect(p.stderr).toBe('skein: --log-level must be one of trace, debug, info, warn, error, fatal, silent, got "loud"\n');
  });
});

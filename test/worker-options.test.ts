/**
 * Worker process options: flags, SKEIN_WORKER_OPTIONS, precedence, and error messages.
 */
import { describe, expect, it } from "vitest";
import { parseWorkerOptions } from "../src/worker/options.js";

describe("parseWorkerOptions", () => {
  it("reads flags", () => {
    expect(
      parseWorkerOptions(["--scheduler", "tcp://h:1", "--nthreads=3", "--name", "w1", "--memory-limit", "1000", "--resources", '{"GPU":2}', "--listen", "tcp://0.0.0.0:0", "--heartbeat-ms", "500"], {}),
    ).toEqual({ scheduler: "tcp://h:1", nthreads: 3, name: "w1", memoryLimit: 1000, resources: { GPU: 2 }, listen: "tcp://0.0.0.0:0", heartbeatMs: 500 });
  });

  it("reads SKEIN_WORKER_OPTIONS, with flags winning, and the token from the environment", () => {
    const env = { SKEIN_WORKER_OPTIONS: JSON.stringify({ scheduler: "tcp://h:1", nthreads: 2, name: "a", resources: { GPU: 1 }, token: "t1" }) };
    expect(parseWorkerOptions(["--nthreads", "4"], env)).toEqual({ scheduler: "tcp://h:1", nthreads: 4, name: "a", resources: { GPU: 1 }, token: "t1" });
    expect(parseWorkerOptions([], { ...env, SKEIN_TOKEN: "t2" }).token).toBe("t2");
  });

  it("reads the inline limit from the flag, the JSON or SKEIN_INLINE_MAX_MS, in that order", () => {
    const base = ["--scheduler", "tcp://h:1"];
    expect(parseWorkerOptions([...base, "--inline-max-ms", "0"], { SKEIN_INLINE_MAX_MS: "2" }).inlineMaxMs).toBe(0);
    expect(parseWorkerOptions(base, { SKEIN_WORKER_OPTIONS: '{"inlineMaxMs":0.5}', SKEIN_INLINE_MAX_MS: "2" }).inlineMaxMs).toBe(0.5);
    expect(parseWorkerOptions(base, { SKEIN_INLINE_MAX_MS: "2" }).inlineMaxMs).toBe(2);
    expect(parseWorkerOptions(base, {}).inlineMaxMs).toBeUndefined();
    expect(() => parseWorkerOptions(base, { SKEIN_INLINE_MAX_MS: "soon" })).toThrow(
      'skein worker: --inline-max-ms (SKEIN_INLINE_MAX_MS) must be a non-negative number, got "soon"',
    );
  });

  it("defaults to one thread", () => {
    expect(parseWorkerOptions(["--scheduler", "inproc://s"], {})).toEqual({ scheduler: "inproc://s", nthreads: 1 });
  });

  it("rejects bad input with the flag and the value", () => {
    expect(() => parseWorkerOptions([], {})).toThrow("skein worker: no scheduler address: pass --scheduler tcp://host:port or set it in SKEIN_WORKER_OPTIONS");
    expect(() => parseWorkerOptions(["--scheduler", "h:1"], {})).toThrow('skein worker: --scheduler must be an address like tcp://host:port, got "h:1"');
    expect(() => parseWorkerOptions(["--scheduler", "tcp://h:1", "--nthreads", "0"], {})).toThrow('skein worker: --nthreads must be a positive integer, got "0"');
    expect(() => parseWorkerOptions(["--scheduler", "tcp://h:1", "--resources", "{GPU:1}"], {})).toThrow('skein worker: --resources must be JSON like {"GPU":1}, got "{GPU:1}"');
    expect(() => parseWorkerOptions(["--scheduler", "tcp://h:1", "--threads", "2"], {})).toThrow('skein worker: unknown argument "--threads"');
    expect(() => parseWorkerOptions(["--scheduler"], {})).toThrow("skein worker: --scheduler needs a value");
    expect(() => parseWorkerOptions([], { SKEIN_WORKER_OPTIONS: "{" })).toThrow(/^skein worker: SKEIN_WORKER_OPTIONS is not valid JSON/);
  });
});

import { describe, expect, test } from "vitest";
import {
  CancelledError,
  FunctionReferenceError,
  GraphError,
  SerializationError,
  SkeinError,
  TaskError,
  describeValue,
  remoteErrorInfo,
} from "../src/errors.js";
import type { RemoteErrorInfo } from "../src/graph/spec.js";

describe("error classes", () => {
  test("names and inheritance", () => {
    for (const [E, name] of [
      [SkeinError, "SkeinError"],
      [GraphError, "GraphError"],
      [FunctionReferenceError, "FunctionReferenceError"],
      [SerializationError, "SerializationError"],
    ] as const) {
      const e = new E("skein: x");
      expect(e).toBeInstanceOf(Error);
      expect(e).toBeInstanceOf(SkeinError);
      expect(e.name).toBe(name);
      expect(e.stack!.startsWith(`${name}: skein: x\n`)).toBe(true);
    }
  });

  test("CancelledError names the key", () => {
    const e = new CancelledError("inc-1");
    expect(e.message).toBe('skein: task "inc-1" was cancelled');
    expect(e.key).toBe("inc-1");
    expect(e.name).toBe("CancelledError");
    expect(new CancelledError("k", "client closed").message).toBe('skein: task "k" was cancelled: client closed');
  });
});

describe("TaskError", () => {
  const info: RemoteErrorInfo = {
    name: "Error",
    message: "boom",
    stack: "Error: boom\n    at fail (file:///w/tasks.ts:3:9)",
    key: "fail-1",
    fn: "fail",
    worker: "tcp://127.0.0.1:4000",
  };

  test("message, fields and stack", () => {
    const e = new TaskError(info);
    expect(e).toBeInstanceOf(SkeinError);
    expect(e.name).toBe("TaskError");
    expect(e.message).toBe('skein: task "fail-1" (fail) failed on tcp://127.0.0.1:4000: Error: boom');
    expect(e.key).toBe("fail-1");
    expect(e.fn).toBe("fail");
    expect(e.worker).toBe("tcp://127.0.0.1:4000");
    expect(e.remoteName).toBe("Error");
    expect(e.remoteMessage).toBe("boom");
    expect(e.causeKey).toBeUndefined();
    expect(e.stack).toContain("--- remote stack on tcp://127.0.0.1:4000 ---\nError: boom\n    at fail (file:///w/tasks.ts:3:9)\n--- local stack ---\n");
    expect(e.stack!.startsWith(`TaskError: ${e.message}\n`)).toBe(true);
    expect(e.toInfo()).toEqual(info);
  });

  test("dependents name the key whose failure they inherit", () => {
    const e = new TaskError({ ...info, key: "add-2", fn: "add", causeKey: "fail-1", worker: "" });
    expect(e.message).toBe('skein: task "add-2" (add) failed because its dependency "fail-1" failed: Error: boom');
    expect(e.causeKey).toBe("fail-1");
    expect(e.toInfo()).toEqual({ ...info, key: "add-2", fn: "add", causeKey: "fail-1", worker: "" });
  });

  test("remoteErrorInfo captures thrown values", () => {
    const err = new TypeError("bad");
    expect(remoteErrorInfo(err, { key: "k", fn: "f", worker: "w" })).toEqual({
      name: "TypeError",
      message: "bad",
      stack: err.stack,
      key: "k",
      fn: "f",
      worker: "w",
    });
    expect(remoteErrorInfo(42, { key: "k", fn: "f", worker: "" })).toEqual({
      name: "Error",
      message: "non-Error value thrown: number 42",
      stack: "Error: non-Error value thrown: number 42",
      key: "k",
      fn: "f",
      worker: "",
    });
  });
});

describe("describeValue", () => {
  test("short descriptions", () => {
    expect(describeValue(3)).toBe("number 3");
    expect(describeValue("a")).toBe('string "a"');
    expect(describeValue(null)).toBe("null");
    expect(describeValue(undefined)).toBe("undefined");
    expect(describeValue(true)).toBe("boolean true");
    expect(describeValue(5n)).toBe("bigint 5n");
    expect(describeValue([1, 2])).toBe("array [ 1, 2 ]");
    expect(describeValue({ a: 1 })).toBe("object { a: 1 }");
    expect(describeValue(function f() {})).toBe("function f");
    expect(describeValue("x".repeat(100))).toBe(`string "${"x".repeat(56)}..."`);
  });
});

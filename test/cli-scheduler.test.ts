import { readFileSync, statSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Client } from "../src/client/client.js";
import { killAll, skein } from "./cli-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "skein-cli-sched-"));
afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("skein CLI: help", () => {
  it("prints --help for the program and every command", async () => {
    for (const [args, usage] of [
      [["--help"], "Usage: skein [options] [command]"],
      [["scheduler", "--help"], "Usage: skein scheduler [options]"],
      [["worker", "--help"], "Usage: skein worker [options] [address]"],
    ] as const) {
      const p = skein(args);
      expect(await p.exited()).toBe(0);
      expect(p.stdout.startsWith(usage)).toBe(true);
    }
    const s = skein(["scheduler", "--help"]);
    await s.exited();
    for (const flag of ["--host", "--port", "--scheduler-file", "--token", "--insecure", "--tls-cert", "--tls-key", "--tls-ca", "--heartbeat-timeout"]) {
      expect(s.stdout).toContain(flag);
    }
    expect(s.stdout).toContain("--dashboard-port");
  });

  it("rejects an unknown option with the usage", async () => {
    const p = skein(["scheduler", "--prot", "1"]);
    expect(await p.exited()).toBe(1);
    expect(p.stderr).toContain("error: unknown option '--prot'");
  });
});

describe("skein scheduler", () => {
  it("refuses to listen off loopback without a token unless --insecure", async () => {
    const p = skein(["scheduler", "--host", "0.0.0.0", "--port", "0"], { SKEIN_TOKEN: undefined });
    expect(await p.exited()).toBe(1);
    expect(p.stdout).toBe("");
    expect(p.stderr).toBe(
      "skein scheduler: refusing to listen on 0.0.0.0 without authentication: set a token (SKEIN_TOKEN or --token), " +
        "use TLS (--tls-cert, --tls-key, --tls-ca), or pass --insecure to accept unauthenticated connections\n",
    );
    const ok = skein(["scheduler", "--host", "0.0.0.0", "--port", "0", "--insecure"], { SKEIN_TOKEN: undefined });
    const [, address] = await ok.waitFor(/^skein scheduler listening at (tcp:\/\/[0-9.]+:[1-9][0-9]*)\n/);
    expect(address).not.toContain("0.0.0.0");
    ok.child.kill("SIGTERM");
    expect(await ok.exited()).toBe(0);
  });

  it("writes the scheduler file (0600, with the token), refuses and logs a wrong token, and shuts down cleanly", async () => {
    const file = join(dir, "scheduler.json");
    const p = skein(["scheduler", "--port", "0", "--scheduler-file", file], { SKEIN_TOKEN: "tok-123" });
    const [, address] = await p.waitFor(/^skein scheduler listening at (tcp:\/\/127\.0\.0\.1:[1-9][0-9]*)\n/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ address, pid: p.child.pid, token: "tok-123" });

    await expect(Client.connect({ address, token: "wrong" })).rejects.toThrow(
      `skein: the scheduler at ${address} refused the connection: authentication failed: wrong or missing token`,
    );
    await expect(Client.connect(address)).rejects.toThrow("authentication failed: wrong or missing token");
    await p.waitFor(/"level":"warn".*"msg":"skein scheduler: refused connection from tcp:\/\/127\.0\.0\.1:[0-9]+: authentication failed: wrong or missing token"\}\n/, "stderr");

    const client = await Client.connect({ schedulerFile: file });
    expect(await client.workers()).toEqual([]);
    await client.close();

    p.child.kill("SIGTERM");
    expect(await p.exited()).toBe(0);
    expect(existsSync(file)).toBe(false);
  });

  it("takes --token from the command line too, and rejects half a TLS setup", async () => {
    const p = skein(["scheduler", "--port", "0", "--token", "cli-tok"], { SKEIN_TOKEN: undefined });
    const [, address] = await p.waitFor(/listening at (\S+)\n/);
    const c = await Client.connect({ address, token: "cli-tok" });
    await c.close();
    p.child.kill("SIGINT");
    expect(await p.exited()).toBe(0);

    const half = skein(["scheduler", "--port", "0", "--tls-cert", "x.pem"]);
    expect(await half.exited()).toBe(1);
    expect(half.stderr).toBe("skein scheduler: TLS needs all three of --tls-cert, --tls-key and --tls-ca\n");
  });
});

describe("scheduler connection hygiene", () => {
  it("refuses and logs a connection that never says hello", async () => {
    const { SchedulerServer } = await import("../src/scheduler/server.js");
    const { connect } = await import("../src/comm/index.js");
    const logs: string[] = [];
    const server = await SchedulerServer.start({ listen: ["tcp://127.0.0.1:0"], token: "t", helloTimeoutMs: 200, log: (level, msg) => logs.push(`${level} ${msg}`) });
    try {
      const conn = await connect(server.address("tcp"));
      const got = new Promise<unknown>((resolve) => (conn.onMessages = resolve));
      const closed = new Promise<string>((resolve) => (conn.onClose = resolve));
      expect(await got).toEqual([{ op: "refused", reason: "no hello within 200 ms" }]);
      await closed;
      expect(logs).toEqual([expect.stringMatching(/^warn skein scheduler: refused connection from tcp:\/\/127\.0\.0\.1:[0-9]+: no hello within 200 ms$/)]);
    } finally {
      await server.close();
    }
  });
});

import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../src/client/client.js";
import { connect } from "../src/comm/index.js";
import type { Message } from "../src/protocol.js";
import { killAll, skein } from "./cli-helpers.js";
import { add, inc, sum } from "./fixtures/tasks.js";
import { makeTestCerts, type TestCerts } from "./tls-certs.js";

const dir = mkdtempSync(join(tmpdir(), "skein-cli-worker-"));
let certs: TestCerts;
beforeAll(() => {
  certs = makeTestCerts();
});
afterAll(async () => {
  await killAll();
  certs?.remove();
  rmSync(dir, { recursive: true, force: true });
});

const WORKER_LINE = /skein worker (\S+) listening at (tcp|tls):\/\/([0-9.]+):([1-9][0-9]*) \(scheduler \S+\)\n/g;

function workerLines(stdout: string): { name: string; address: string }[] {
  return [...stdout.matchAll(WORKER_LINE)].map((m) => ({ name: m[1], address: `${m[2]}://${m[3]}:${m[4]}` }));
}

describe("skein worker", () => {
  it("joins through a scheduler file written later, runs a graph, and exits when the scheduler goes away", async () => {
    const file = join(dir, "sched.json");
    const local = join(dir, "scratch");
    // Workers first: they wait for the file, as with a batch system starting both at once.
    const w = skein(
      ["worker", "--scheduler-file", file, "--nworkers", "2", "--nthreads", "1", "--name", "w", "--memory-limit", "1GB", "--resources", "GPU=1", "--local-directory", local],
      { SKEIN_TOKEN: undefined },
    );
    const s = skein(["scheduler", "--port", "0", "--scheduler-file", file], { SKEIN_TOKEN: "file-token" });
    const [, address] = await s.waitFor(/listening at (\S+)\n/);
    await w.waitFor(/(skein worker .*\n){2}/);
    const started = workerLines(w.stdout);
    expect(started.map((x) => x.name).sort()).toEqual(["w-0", "w-1"]);
    expect(started.every((x) => x.address.startsWith("tcp://127.0.0.1:"))).toBe(true);
    expect(existsSync(local)).toBe(true);

    const client = await Client.connect({ schedulerFile: file });
    try {
      const workers = await client.workers();
      expect(workers.map((x) => [x.name, x.nthreads, x.memoryLimit, x.resources]).sort()).toEqual([
        ["w-0", 1, 1e9, { GPU: 1 }],
        ["w-1", 1, 1e9, { GPU: 1 }],
      ]);
      expect(workers.map((x) => x.address).sort()).toEqual(started.map((x) => x.address).sort());
      const xs = client.map(inc, Array.from({ length: 100 }, (_, i) => i));
      expect(await client.submit(sum, xs).result()).toBe(5050);
      // A transfer between the two workers: each holds one input.
      const a = client.with({ workers: "w-0" }).submit(inc, 10);
      const b = client.with({ workers: "w-1" }).submit(inc, 20);
      expect(await client.with({ workers: "w-0" }).submit(add, a, b).result()).toBe(32);
    } finally {
      await client.close();
    }
    expect(address).toBe(`tcp://127.0.0.1:${address.split(":")[2]}`);

    s.child.kill("SIGTERM");
    expect(await s.exited()).toBe(0);
    expect(await w.exited()).toBe(0);
    expect(w.stderr).toContain('"msg":"skein worker: all workers have exited"}\n');
  });

  it("stops its worker processes on SIGTERM, and they leave the scheduler", async () => {
    const s = skein(["scheduler", "--port", "0"], { SKEIN_TOKEN: "t2" });
    const [, address] = await s.waitFor(/listening at (\S+)\n/);
    const w = skein(["worker", address, "--nworkers", "2", "--interface", "lo"], { SKEIN_TOKEN: "t2" });
    await w.waitFor(/(skein worker .*\n){2}/);
    const started = workerLines(w.stdout);
    expect(started.every((x) => x.address.startsWith("tcp://127.0.0.1:"))).toBe(true);
    w.child.kill("SIGTERM");
    expect(await w.exited()).toBe(0);
    for (const x of started) await s.waitFor(new RegExp(`worker ${x.name} at ${x.address} lost`), "stderr");
    const c = await Client.connect({ address, token: "t2" });
    expect(await c.workers()).toEqual([]);
    await c.close();
    s.child.kill("SIGTERM");
    expect(await s.exited()).toBe(0);
  });

  it("fails clearly on a wrong token, an unknown interface, or no scheduler", async () => {
    const s = skein(["scheduler", "--port", "0"], { SKEIN_TOKEN: "right" });
    const [, address] = await s.waitFor(/listening at (\S+)\n/);
    const wrong = skein(["worker", address], { SKEIN_TOKEN: "wrong" });
    expect(await wrong.exited()).toBe(1);
    expect(wrong.stderr).toContain(`skein worker: scheduler ${address} refused this worker: authentication failed: wrong or missing token`);

    const iface = skein(["worker", address, "--interface", "nope0"], { SKEIN_TOKEN: "right" });
    expect(await iface.exited()).toBe(1);
    expect(iface.stderr).toMatch(/^skein: network interface "nope0" not found \(this host has: [^)]*\blo\b[^)]*\)\n$/);

    const noCerts = skein(["worker", "tls://127.0.0.1:1"]);
    expect(await noCerts.exited()).toBe(1);
    expect(noCerts.stderr).toBe("skein worker: tls://127.0.0.1:1 is a TLS address: give --tls-cert, --tls-key and --tls-ca\n");

    const none = skein(["worker"]);
    expect(await none.exited()).toBe(1);
    expect(none.stderr).toBe("skein worker: give the scheduler's address (skein worker tcp://host:8786) or --scheduler-file, not both\n");

    const late = skein(["worker", "--scheduler-file", join(dir, "never.json"), "--timeout", "0.3"]);
    expect(await late.exited()).toBe(1);
    expect(late.stderr).toBe(`skein worker: scheduler file "${join(dir, "never.json")}" did not appear within 300 ms\n`);
    s.child.kill("SIGTERM");
    expect(await s.exited()).toBe(0);
  });

  it("workers refuse and log a peer without the token", async () => {
    const s = skein(["scheduler", "--port", "0"], { SKEIN_TOKEN: "peer-tok" });
    const [, address] = await s.waitFor(/listening at (\S+)\n/);
    const w = skein(["worker", address], { SKEIN_TOKEN: "peer-tok" });
    await w.waitFor(/skein worker .*\n/);
    const [{ address: workerAddress }] = workerLines(w.stdout);
    const conn = await connect(workerAddress);
    const reply = new Promise<Message[]>((resolve) => (conn.onMessages = resolve));
    conn.send({ op: "hello-peer" });
    conn.send({ op: "get-data", id: 1, keys: ["x"] });
    expect(await reply).toEqual([{ op: "refused", reason: "authentication failed: wrong or missing token" }]);
    await w.waitFor(/"level":"warn".*"msg":"skein worker \S+: refused connection from tcp:\/\/127\.0\.0\.1:[0-9]+: authentication failed: wrong or missing token"\}\n/, "stderr");
    conn.close();
    s.child.kill("SIGTERM");
    expect(await w.exited()).toBe(0);
    expect(await s.exited()).toBe(0);
  });

  it("runs over TLS with mutual certificates, and the scheduler refuses a client without one", async () => {
    const tlsArgs = (f: { ca: string; cert: string; key: string }) => ["--tls-ca", f.ca, "--tls-cert", f.cert, "--tls-key", f.key];
    const s = skein(["scheduler", "--host", "127.0.0.1", "--port", "0", ...tlsArgs(certs.files.node)]);
    const [, address] = await s.waitFor(/^skein scheduler listening at (tls:\/\/127\.0\.0\.1:[0-9]+)\n/);
    const w = skein(["worker", address, "--nworkers", "2", "--name", "t", ...tlsArgs(certs.files.other)]);
    await w.waitFor(/(skein worker .*\n){2}/);
    expect(workerLines(w.stdout).every((x) => x.address.startsWith("tls://127.0.0.1:"))).toBe(true);

    const client = await Client.connect({ address, tls: certs.other });
    try {
      const a = client.with({ workers: "t-0" }).submit(inc, 1);
      const b = client.with({ workers: "t-1" }).submit(inc, 2);
      expect(await client.with({ workers: "t-1" }).submit(add, a, b).result()).toBe(5);
    } finally {
      await client.close();
    }
    await expect(Client.connect({ address, tls: certs.rogue, timeoutMs: 5000 })).rejects.toThrow();
    await s.waitFor(/"level":"warn".*"msg":"skein comm: refused TLS connection from tls:\/\/127\.0\.0\.1:[0-9]+: client certificate not accepted: /, "stderr");
    await expect(Client.connect({ address })).rejects.toThrow(`skein comm: ${address} needs TLS certificates (the tls option: ca, cert, key)`);

    s.child.kill("SIGTERM");
    expect(await s.exited()).toBe(0);
    expect(await w.exited()).toBe(0);
  });
});

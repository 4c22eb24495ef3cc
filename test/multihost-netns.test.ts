/**
 * Several hosts on one machine (network namespaces, see test/netns.ts): the scheduler on one,
 * a worker on each of two others, the client on a fourth, each a separate process started
 * with the real CLI. One worker host's link is cut mid-graph; the result must still be right
 * and the scheduler must drop that worker (after its --heartbeat-timeout).
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_MAIN, killAll, spawnProc, type Proc } from "./cli-helpers.js";
import { createLab, netnsUnavailable, removeStaleLabs, type NetnsHost, type NetnsLab } from "./netns.js";
import { makeTestCerts, type TestCerts } from "./tls-certs.js";

const CLIENT = fileURLToPath(new URL("./fixtures/multihost-client.ts", import.meta.url));
const unavailable = netnsUnavailable();
if (unavailable !== undefined) console.warn(`skipping multi-host tests: ${unavailable}`);

const TOKEN = "netns-test-token";
let lab: NetnsLab | undefined;
let certs: TestCerts | undefined;

afterAll(async () => {
  await killAll();
  lab?.destroy();
  certs?.remove();
});

function onHost(host: NetnsHost, args: string[], env: Record<string, string> = {}): Proc {
  return spawnProc("ip", ["netns", "exec", host.ns, process.execPath, "--import", "tsx", ...args], { SKEIN_TOKEN: TOKEN, ...env });
}

/** Sum of (i + 1) for i < n: what the client's graph computes. */
const expected = (n: number): number => (n * (n + 1)) / 2;

describe.skipIf(unavailable !== undefined)("many hosts (network namespaces)", () => {
  beforeAll(() => {
    removeStaleLabs("skein");
    lab = createLab(`skein${process.pid}`, 4);
  });

  it("keeps the result correct when a worker host's link is cut mid-graph, and drops that worker", async () => {
    const [schedHost, host1, host2, clientHost] = lab!.hosts;
    const scheduler = onHost(schedHost, [CLI_MAIN, "scheduler", "--host", schedHost.ip, "--port", "8786", "--heartbeat-timeout", "3"]);
    await scheduler.waitFor(/^skein scheduler listening at tcp:\/\/10\.77\.0\.1:8786\n/);
    const address = "tcp://10.77.0.1:8786";
    const w1 = onHost(host1, [CLI_MAIN, "worker", address, "--interface", "eth0", "--name", "w1", "--nthreads", "1"]);
    const w2 = onHost(host2, [CLI_MAIN, "worker", address, "--name", "w2", "--nthreads", "1"]);
    const [, w1Address] = await w1.waitFor(/^skein worker w1 listening at (tcp:\/\/10\.77\.0\.2:[0-9]+) /);
    // No --interface: the worker binds the address that routes to the scheduler.
    const [, w2Address] = await w2.waitFor(/^skein worker w2 listening at (tcp:\/\/10\.77\.0\.3:[0-9]+) /);

    const n = 160;
    const client = onHost(clientHost, [CLIENT, address, String(n), "40"]);
    await client.waitFor(/^progress [0-9]+\n/, "stdout", 30_000);
    lab!.setLink(host2, false);
    try {
      const [line] = await client.waitFor(/^\{.*\}\n/m, "stdout", 30_000);
      const out = JSON.parse(line) as { total: number; workers: { name: string; address: string }[] };
      expect(out.total).toBe(expected(n));
      expect(out.workers).toEqual([{ name: "w1", address: w1Address }]);
      await scheduler.waitFor(new RegExp(`"level":"warn".*"msg":"skein scheduler: worker w2 at ${w2Address.replace(/\./g, "\\.")} lost: no heartbeat for [0-9]+ s"`), "stderr");
      expect(await client.exited()).toBe(0);
    } finally {
      // The next test uses this host again, whatever happened here.
      await killAll();
      lab!.setLink(host2, true);
    }
  }, 60_000);

  it("runs across hosts over TLS with mutual certificates", async () => {
    certs = makeTestCerts();
    const tlsArgs = (f: { ca: string; cert: string; key: string }) => ["--tls-ca", f.ca, "--tls-cert", f.cert, "--tls-key", f.key];
    const [schedHost, host1, host2, clientHost] = lab!.hosts;
    // TLS alone authenticates: no token needed off loopback.
    const noToken = { SKEIN_TOKEN: "" };
    const scheduler = onHost(schedHost, [CLI_MAIN, "scheduler", "--host", "0.0.0.0", "--port", "8787", "--no-dashboard", ...tlsArgs(certs.files.node)], noToken);
    await scheduler.waitFor(/^skein scheduler listening at tls:\/\/10\.77\.0\.1:8787\n/);
    const address = "tls://10.77.0.1:8787";
    const w1 = onHost(host1, [CLI_MAIN, "worker", address, "--name", "t1", ...tlsArgs(certs.files.other)], noToken);
    const w2 = onHost(host2, [CLI_MAIN, "worker", address, "--name", "t2", ...tlsArgs(certs.files.other)], noToken);
    await w1.waitFor(/^skein worker t1 listening at tls:\/\/10\.77\.0\.2:[0-9]+ /);
    await w2.waitFor(/^skein worker t2 listening at tls:\/\/10\.77\.0\.3:[0-9]+ /);
    const n = 40;
    const client = onHost(clientHost, [CLIENT, address, String(n), "5"], { ...noToken, MULTIHOST_TLS: JSON.stringify(certs.files.node) });
    const [line] = await client.waitFor(/^\{.*\}\n/m, "stdout", 30_000);
    const out = JSON.parse(line) as { total: number; workers: { name: string }[] };
    expect(out.total).toBe(expected(n));
    expect(out.workers.map((w) => w.name).sort()).toEqual(["t1", "t2"]);
    expect(await client.exited()).toBe(0);
  }, 60_000);
});

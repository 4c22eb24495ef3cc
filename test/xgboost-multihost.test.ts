/**
 * Distributed XGBoost across hosts (network namespaces, see test/netns.ts): scheduler, two
 * workers and the client each on their own host, started as separate processes. The tracker
 * listens on the client host's address; participants dial it and then each other over the
 * hosts' links.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_MAIN, killAll, spawnProc, type Proc } from "./cli-helpers.js";
import { createLab, netnsUnavailable, removeStaleLabs, type NetnsHost, type NetnsLab } from "./netns.js";

const CLIENT = fileURLToPath(new URL("./fixtures/xgb/multihost-client.ts", import.meta.url));
const unavailable = netnsUnavailable();
if (unavailable !== undefined) console.warn(`skipping multi-host XGBoost test: ${unavailable}`);

const TOKEN = "netns-xgb-token";
let lab: NetnsLab | undefined;

afterAll(async () => {
  await killAll();
  lab?.destroy();
});

function onHost(host: NetnsHost, args: string[]): Proc {
  return spawnProc("ip", ["netns", "exec", host.ns, process.execPath, "--import", "tsx", ...args], { SKEIN_TOKEN: TOKEN });
}

describe.skipIf(unavailable !== undefined)("distributed XGBoost across hosts", () => {
  beforeAll(() => {
    removeStaleLabs("skxgb");
    lab = createLab(`skxgb${process.pid}`, 4);
  });

  it("trains with one participant per worker host; the tracker is reached at the client host's address", async () => {
    const [schedHost, host1, host2, clientHost] = lab!.hosts;
    const scheduler = onHost(schedHost, [CLI_MAIN, "scheduler", "--host", schedHost.ip, "--port", "8786"]);
    await scheduler.waitFor(/^skein scheduler listening at tcp:\/\/10\.77\.0\.1:8786\n/);
    const address = "tcp://10.77.0.1:8786";
    const w1 = onHost(host1, [CLI_MAIN, "worker", address, "--name", "w1", "--nthreads", "1"]);
    const w2 = onHost(host2, [CLI_MAIN, "worker", address, "--name", "w2", "--nthreads", "1"]);
    await w1.waitFor(/^skein worker w1 listening at tcp:\/\/10\.77\.0\.2:[0-9]+ /);
    await w2.waitFor(/^skein worker w2 listening at tcp:\/\/10\.77\.0\.3:[0-9]+ /);
    const client = onHost(clientHost, [CLIENT, address]);
    const [line] = await client.waitFor(/^\{.*\}\n/m, "stdout", 60_000);
    const out = JSON.parse(line) as { trackerHost: string; participants: { name: string; rank: number; rows: number }[]; rounds: number; auc: number };
    expect(out.trackerHost).toBe(clientHost.ip);
    expect(out.participants).toEqual([
      { name: "w1", rank: 0, rows: 1000 },
      { name: "w2", rank: 1, rows: 1000 },
    ]);
    expect(out.rounds).toBe(10);
    expect(out.auc).toBeGreaterThan(0.95);
    expect(await client.exited()).toBe(0);
  }, 90_000);
});

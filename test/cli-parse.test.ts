import { describe, expect, it } from "vitest";
import { externalAddress, interfaceAddress, isLoopbackHost, localAddressToward } from "../src/cli/network.js";
import { parseCount, parseMemoryLimit, parsePort, parseResources, parseSeconds } from "../src/cli/parse.js";
import { checkListenSecurity } from "../src/cli/security.js";
import { parseWorkerOptions } from "../src/worker/options.js";
import { makeTestCerts } from "./tls-certs.js";

const REFUSAL = (host: string) =>
  `skein scheduler: refusing to listen on ${host} without authentication: set a token (SKEIN_TOKEN or --token), ` +
  "use TLS (--tls-cert, --tls-key, --tls-ca), or pass --insecure to accept unauthenticated connections";

describe("cli option values", () => {
  it("reads memory limits as Dask does", () => {
    const total = 16e9;
    expect(parseMemoryLimit("auto", 4, total)).toBe(4e9);
    expect(parseMemoryLimit("0", 1, total)).toBe(0);
    expect(parseMemoryLimit("123456", 1, total)).toBe(123456);
    expect(parseMemoryLimit("4GB", 1, total)).toBe(4e9);
    expect(parseMemoryLimit("4 gb", 1, total)).toBe(4e9);
    expect(parseMemoryLimit("512MiB", 1, total)).toBe(512 * 2 ** 20);
    expect(parseMemoryLimit("1.5GiB", 1, total)).toBe(1.5 * 2 ** 30);
    expect(parseMemoryLimit("0.25", 1, total)).toBe(4e9);
    for (const bad of ["lots", "-1GB", "4XB", ""]) {
      expect(() => parseMemoryLimit(bad, 1, total)).toThrow(
        `skein: --memory-limit must be "auto", a number of bytes, a size like "4GB" or a fraction like "0.5", got ${JSON.stringify(bad)}`,
      );
    }
  });

  it("reads resources, counts, ports and seconds", () => {
    expect(parseResources("GPU=1,MEM=2e9")).toEqual({ GPU: 1, MEM: 2e9 });
    expect(parseResources(" GPU = 2 ")).toEqual({ GPU: 2 });
    expect(() => parseResources("GPU")).toThrow('skein: --resources must look like "GPU=1,MEM=2" (names with non-negative numbers), got "GPU"');
    expect(() => parseResources("GPU=-1")).toThrow('got "GPU=-1"');
    expect(parseCount("--nworkers", "3")).toBe(3);
    expect(() => parseCount("--nworkers", "0")).toThrow('skein: --nworkers must be an integer >= 1, got "0"');
    expect(() => parseCount("--nworkers", "2.5")).toThrow('skein: --nworkers must be an integer >= 1, got "2.5"');
    expect(parsePort("0")).toBe(0);
    expect(() => parsePort("70000")).toThrow('skein: --port must be an integer from 0 to 65535, got "70000"');
    expect(parseSeconds("--heartbeat-timeout", "3")).toBe(3000);
    expect(parseSeconds("--heartbeat-timeout", "0.5")).toBe(500);
    expect(() => parseSeconds("--heartbeat-timeout", "0")).toThrow('skein: --heartbeat-timeout must be a positive number of seconds, got "0"');
  });
});

describe("cli network helpers", () => {
  const ifaces = {
    lo: [{ address: "127.0.0.1", netmask: "255.0.0.0", family: "IPv4", mac: "00:00:00:00:00:00", internal: true, cidr: "127.0.0.1/8" }],
    eth0: [
      { address: "fe80::1", netmask: "ffff:ffff:ffff:ffff::", family: "IPv6", mac: "02:00:00:00:00:01", internal: false, cidr: "fe80::1/64", scopeid: 2 },
      { address: "10.77.0.2", netmask: "255.255.255.0", family: "IPv4", mac: "02:00:00:00:00:01", internal: false, cidr: "10.77.0.2/24" },
    ],
    v6only: [{ address: "fd00::2", netmask: "ffff:ffff:ffff:ffff::", family: "IPv6", mac: "02:00:00:00:00:02", internal: false, cidr: "fd00::2/64", scopeid: 0 }],
  } as const;
  type Ifaces = Parameters<typeof interfaceAddress>[1];

  it("finds an interface's IPv4 address, naming the interfaces that exist when it is missing", () => {
    expect(interfaceAddress("eth0", ifaces as unknown as Ifaces)).toBe("10.77.0.2");
    expect(interfaceAddress("lo", ifaces as unknown as Ifaces)).toBe("127.0.0.1");
    expect(() => interfaceAddress("ib0", ifaces as unknown as Ifaces)).toThrow('skein: network interface "ib0" not found (this host has: eth0, lo, v6only)');
    expect(() => interfaceAddress("v6only", ifaces as unknown as Ifaces)).toThrow('skein: network interface "v6only" has no IPv4 address');
    expect(externalAddress(ifaces as unknown as Ifaces)).toBe("10.77.0.2");
  });

  it("knows loopback hosts and the local address toward a host", async () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "::ffff:127.0.0.1"]) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ["0.0.0.0", "::", "10.0.0.1", "example.org"]) expect(isLoopbackHost(h)).toBe(false);
    expect(await localAddressToward("127.0.0.1", 8786)).toBe("127.0.0.1");
  });

  it("refuses to listen off loopback without a token, TLS or --insecure", () => {
    expect(() => checkListenSecurity({ host: "0.0.0.0", tls: false, insecure: false })).toThrow(REFUSAL("0.0.0.0"));
    expect(() => checkListenSecurity({ host: "10.77.0.1", token: "", tls: false, insecure: false })).toThrow(REFUSAL("10.77.0.1"));
    expect(() => checkListenSecurity({ host: "127.0.0.1", tls: false, insecure: false })).not.toThrow();
    expect(() => checkListenSecurity({ host: "0.0.0.0", token: "s3cret", tls: false, insecure: false })).not.toThrow();
    expect(() => checkListenSecurity({ host: "0.0.0.0", tls: true, insecure: false })).not.toThrow();
    expect(() => checkListenSecurity({ host: "0.0.0.0", tls: false, insecure: true })).not.toThrow();
  });
});

describe("worker process options for TLS", () => {
  it("reads the three PEM files from flags or JSON, and wants all three", () => {
    const certs = makeTestCerts();
    try {
      const f = certs.files.node;
      const fromFlags = parseWorkerOptions(["--scheduler", "tls://10.0.0.1:8786", "--tls-ca", f.ca, "--tls-cert", f.cert, "--tls-key", f.key], {});
      expect(fromFlags.scheduler).toBe("tls://10.0.0.1:8786");
      expect(fromFlags.tls?.cert.toString()).toBe(certs.node.cert.toString());
      expect(fromFlags.tls?.key.toString()).toBe(certs.node.key.toString());
      expect(fromFlags.tls?.ca.toString()).toBe(certs.node.ca.toString());
      const fromJson = parseWorkerOptions([], { SKEIN_WORKER_OPTIONS: JSON.stringify({ scheduler: "tls://h:1", listen: "tls://10.0.0.2:0", tls: f }) });
      expect(fromJson.listen).toBe("tls://10.0.0.2:0");
      expect(fromJson.tls?.ca.toString()).toBe(certs.node.ca.toString());
      expect(() => parseWorkerOptions(["--scheduler", "tls://h:1", "--tls-ca", f.ca], {})).toThrow(
        "skein worker: TLS needs all three of --tls-ca, --tls-cert and --tls-key (file paths)",
      );
      expect(() => parseWorkerOptions(["--scheduler", "tls://h:1", "--tls-ca", f.ca, "--tls-cert", f.cert, "--tls-key", "/nonexistent.key"], {})).toThrow(
        'skein tls: cannot read key file "/nonexistent.key": ENOENT',
      );
    } finally {
      certs.remove();
    }
  });
});

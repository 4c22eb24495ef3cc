/**
 * Hosts on one machine for multi-host tests: one network namespace per host, each with an
 * `eth0` veth whose other end sits on a bridge in a hub namespace. Nothing is added to the
 * machine's own namespace except, briefly, the veth pairs before they move.
 *
 *   hub ns:  br0 ── h0 ── (veth) ── eth0 in host 0, 10.77.0.1/24
 *                 ├─ h1 ── (veth) ── eth0 in host 1, 10.77.0.2/24 ...
 */
import { execFileSync } from "node:child_process";

export interface NetnsHost {
  readonly ns: string;
  readonly ip: string;
  /** The hub-side end of this host's link (set it down to cut the host off). */
  readonly hubLink: string;
}

export interface NetnsLab {
  readonly hub: string;
  readonly hosts: NetnsHost[];
  /** Take a host's link down (as a pulled cable) or bring it back. */
  setLink(host: NetnsHost, up: boolean): void;
  /** Delete every namespace (and with them every link). Safe to call twice. */
  destroy(): void;
}

function ip(args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Why `ip netns` cannot be used here, or undefined when it can (tries a throwaway namespace). */
export function netnsUnavailable(): string | undefined {
  const probe = `skein-probe-${process.pid}`;
  try {
    ip(["netns", "add", probe]);
  } catch (err) {
    const msg = (err as { stderr?: Buffer | string }).stderr?.toString().trim() || (err as Error).message;
    return `ip netns is not permitted here (${msg}); run as root with iproute2 installed`;
  }
  try {
    ip(["netns", "del", probe]);
  } catch {
    // Best effort.
  }
  return undefined;
}

/**
 * Delete namespaces left by an earlier run that was killed before its cleanup: names
 * `${base}<pid>-...` whose pid is no longer running.
 */
export function removeStaleLabs(base: string): void {
  const names = ip(["netns", "list"]).split("\n").map((l) => l.split(" ")[0]).filter(Boolean);
  for (const ns of names) {
    const m = new RegExp(`^${base}([0-9]+)-`).exec(ns);
    if (!m) continue;
    let alive = true;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      alive = false;
    }
    if (alive) continue;
    try {
      ip(["netns", "del", ns]);
    } catch {
      // Someone else removed it.
    }
  }
}

/** `n` hosts on 10.77.0.0/24 (host i at 10.77.0.{i+1}), namespaces named `${prefix}-h{i}`. */
export function createLab(prefix: string, n: number): NetnsLab {
  const hub = `${prefix}-hub`;
  const hosts: NetnsHost[] = [];
  const namespaces: string[] = [];
  const tag = String(process.pid % 100000);
  const lab: NetnsLab = {
    hub,
    hosts,
    setLink(host, up) {
      ip(["-n", hub, "link", "set", host.hubLink, up ? "up" : "down"]);
    },
    destroy() {
      for (const ns of namespaces.splice(0)) {
        try {
          ip(["netns", "del", ns]);
        } catch {
          // Already gone.
        }
      }
      // Veth ends still in this namespace only if setup failed half-way.
      for (let i = 0; i < n; i++) {
        try {
          ip(["link", "del", `sk${tag}a${i}`]);
        } catch {
          // Not there: the normal case.
        }
      }
    },
  };
  try {
    ip(["netns", "add", hub]);
    namespaces.push(hub);
    ip(["-n", hub, "link", "add", "br0", "type", "bridge"]);
    ip(["-n", hub, "link", "set", "br0", "up"]);
    for (let i = 0; i < n; i++) {
      const ns = `${prefix}-h${i}`;
      ip(["netns", "add", ns]);
      namespaces.push(ns);
      const a = `sk${tag}a${i}`;
      const b = `sk${tag}b${i}`;
      ip(["link", "add", a, "type", "veth", "peer", "name", b]);
      ip(["link", "set", a, "netns", ns]);
      ip(["link", "set", b, "netns", hub]);
      ip(["-n", ns, "link", "set", a, "name", "eth0"]);
      ip(["-n", ns, "addr", "add", `10.77.0.${i + 1}/24`, "dev", "eth0"]);
      ip(["-n", ns, "link", "set", "eth0", "up"]);
      ip(["-n", ns, "link", "set", "lo", "up"]);
      const hubLink = `h${i}`;
      ip(["-n", hub, "link", "set", b, "name", hubLink]);
      ip(["-n", hub, "link", "set", hubLink, "master", "br0"]);
      ip(["-n", hub, "link", "set", hubLink, "up"]);
      hosts.push({ ns, ip: `10.77.0.${i + 1}`, hubLink });
    }
  } catch (err) {
    lab.destroy();
    throw err;
  }
  return lab;
}

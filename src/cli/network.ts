/**
 * Hosts and interfaces for the CLI: is a host loopback, the IPv4 address of a named interface
 * (`--interface ib0`), and which local address reaches a given scheduler.
 */
import dgram from "node:dgram";
import { isIP } from "node:net";
import { networkInterfaces, type NetworkInterfaceInfo } from "node:os";
import { CliError } from "./parse.js";

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(h);
}

export function isWildcardHost(host: string): boolean {
  return host === "0.0.0.0" || host === "::" || host === "";
}

type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>;

/** The IPv4 address of interface `name`; the error names the interfaces that exist. */
export function interfaceAddress(name: string, interfaces: Interfaces = networkInterfaces()): string {
  const infos = interfaces[name];
  if (infos === undefined) {
    const names = Object.keys(interfaces).sort();
    throw new CliError(`skein: network interface "${name}" not found (this host has: ${names.join(", ") || "none"})`);
  }
  const v4 = infos.find((i) => i.family === "IPv4");
  if (v4 === undefined) throw new CliError(`skein: network interface "${name}" has no IPv4 address`);
  return v4.address;
}

/** A non-loopback IPv4 address of this host, for telling others where a wildcard listener is. */
export function externalAddress(interfaces: Interfaces = networkInterfaces()): string | undefined {
  for (const name of Object.keys(interfaces).sort()) {
    for (const i of interfaces[name] ?? []) if (i.family === "IPv4" && !i.internal) return i.address;
  }
  return undefined;
}

/**
 * The local address this host uses to reach `host` (as Dask's get_ip): a connected UDP socket
 * asks the kernel's routing table; no packet is sent.
 */
export async function localAddressToward(host: string, port: number): Promise<string> {
  if (isLoopbackHost(host)) return isIP(host) === 6 ? "::1" : "127.0.0.1";
  const family = isIP(host) === 6 ? "udp6" : "udp4";
  const sock = dgram.createSocket(family);
  try {
    return await new Promise<string>((resolve, reject) => {
      sock.once("error", reject);
      sock.connect(port || 9, host, () => resolve(sock.address().address));
    });
  } catch (err) {
    throw new CliError(`skein: cannot find a local address that reaches ${host}: ${(err as Error).message}`);
  } finally {
    sock.close();
  }
}

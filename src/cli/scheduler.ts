/**
 * `skein scheduler`: a SchedulerServer on one TCP (or TLS) address, announced on stdout and in
 * an optional scheduler file, until SIGINT/SIGTERM.
 */
import { rm } from "node:fs/promises";
import { readTlsFiles, setCommLogger, formatSocketAddress, type TlsFiles } from "../comm/index.js";
import { writeSchedulerFile } from "../cluster/scheduler-file.js";
import { SchedulerServer } from "../scheduler/server.js";
import { externalAddress, isWildcardHost } from "./network.js";
import { checkListenSecurity } from "./security.js";

export interface SchedulerCommandOptions {
  host: string;
  port: number;
  schedulerFile?: string;
  token?: string;
  insecure: boolean;
  tls?: TlsFiles;
  heartbeatTimeoutMs?: number;
  allowedFailures?: number;
}

export interface RunningScheduler {
  readonly server: SchedulerServer;
  /** Where clients and workers connect (a wildcard host replaced by this host's address). */
  readonly address: string;
  close(): Promise<void>;
}

/** One line per log record on stderr; comm warnings (refused TLS peers, bad frames) too. */
export function logToStderr(level: string, msg: string): void {
  process.stderr.write(`${new Date().toISOString()} ${level} ${msg}\n`);
}

export async function runScheduler(o: SchedulerCommandOptions): Promise<RunningScheduler> {
  checkListenSecurity({ host: o.host, token: o.token, tls: o.tls !== undefined, insecure: o.insecure });
  const tls = o.tls ? readTlsFiles(o.tls) : undefined;
  const scheme = tls ? "tls" : "tcp";
  setCommLogger(logToStderr);
  const server = await SchedulerServer.start({
    listen: [formatSocketAddress(scheme, o.host, o.port)],
    token: o.token,
    tls,
    heartbeatTimeoutMs: o.heartbeatTimeoutMs,
    allowedFailures: o.allowedFailures,
    log: logToStderr,
  });
  const bound = server.addresses[0];
  let address = bound;
  if (isWildcardHost(o.host)) {
    const port = Number(bound.slice(bound.lastIndexOf(":") + 1));
    address = formatSocketAddress(scheme, externalAddress() ?? "127.0.0.1", port);
  }
  if (o.schedulerFile !== undefined) {
    try {
      await writeSchedulerFile(o.schedulerFile, { address, pid: process.pid, ...(o.token ? { token: o.token } : {}) });
    } catch (err) {
      await server.close();
      throw err;
    }
  }
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await server.close();
      if (o.schedulerFile !== undefined) await rm(o.schedulerFile, { force: true });
    })());
  return { server, address, close };
}

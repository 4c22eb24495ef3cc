/**
 * `skein scheduler`: a SchedulerServer on one TCP (or TLS) address, announced on stdout and in
 * an optional scheduler file, until SIGINT/SIGTERM.
 */
import { rm } from "node:fs/promises";
import { readTlsFiles, setCommLogger, formatSocketAddress, type TlsFiles } from "../comm/index.js";
import { createLogger, lineLog, type Logger } from "../log.js";
import { writeSchedulerFile } from "../cluster/scheduler-file.js";
import { SchedulerServer } from "../scheduler/server.js";
import { Dashboard } from "../dashboard/server.js";
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
  /** The dashboard's port (8787 by default, a free one when taken), or false for none. */
  dashboard?: false | { port: number };
  /** Where log records go; default: JSON (text on a TTY) on stderr at level info. */
  logger?: Logger;
}

export interface RunningScheduler {
  readonly server: SchedulerServer;
  /** Where clients and workers connect (a wildcard host replaced by this host's address). */
  readonly address: string;
  /** The dashboard's URL when one is served (set by the dashboard; printed by announceLines). */
  readonly dashboardUrl?: string;
  readonly logger: Logger;
  close(): Promise<void>;
}

/** What `skein scheduler` prints on stdout once it listens: the address, then the dashboard if any. */
export function announceLines(s: Pick<RunningScheduler, "address" | "dashboardUrl">): string[] {
  const lines = [`skein scheduler listening at ${s.address}`];
  if (s.dashboardUrl !== undefined) lines.push(`skein scheduler dashboard at ${s.dashboardUrl}`);
  return lines;
}

export async function runScheduler(o: SchedulerCommandOptions): Promise<RunningScheduler> {
  checkListenSecurity({ host: o.host, token: o.token, tls: o.tls !== undefined, insecure: o.insecure });
  const tls = o.tls ? readTlsFiles(o.tls) : undefined;
  const scheme = tls ? "tls" : "tcp";
  const logger = o.logger ?? createLogger({ name: "skein-scheduler" });
  const log = lineLog(logger);
  // Comm warnings (refused TLS peers, bad frames) go to the same log.
  setCommLogger(log);
  const server = await SchedulerServer.start({
    listen: [formatSocketAddress(scheme, o.host, o.port)],
    token: o.token,
    tls,
    heartbeatTimeoutMs: o.heartbeatTimeoutMs,
    allowedFailures: o.allowedFailures,
    log,
  });
  const bound = server.addresses[0];
  let address = bound;
  if (isWildcardHost(o.host)) {
    const port = Number(bound.slice(bound.lastIndexOf(":") + 1));
    address = formatSocketAddress(scheme, externalAddress() ?? "127.0.0.1", port);
  }
  let dashboardUrl: string | undefined;
  if (o.dashboard !== false) {
    try {
      const publicHost = isWildcardHost(o.host) ? (externalAddress() ?? "127.0.0.1") : o.host;
      const d = await Dashboard.start(server, { port: o.dashboard?.port, host: o.host, publicHost });
      dashboardUrl = d.url;
      if (d.fellBack) logger.info({ dashboard: d.url }, `skein scheduler: dashboard port ${d.requestedPort} was taken, serving on ${d.port}`);
    } catch (err) {
      await server.close();
      throw err;
    }
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
  return { server, address, dashboardUrl, logger, close };
}

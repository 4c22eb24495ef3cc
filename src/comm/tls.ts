/**
 * The TLS transport: `tls://host:port`, the TCP transport's Connection over a tls.TLSSocket,
 * always with mutual certificates: both ends present a certificate signed by the shared CA and
 * both ends reject a peer that doesn't. The listener requests a certificate and checks
 * `socket.authorized` itself before the socket becomes a Connection (nothing the peer sent is
 * read), rather than leaving it to `rejectUnauthorized`: node then drops a TLS 1.3 peer with a
 * bare "socket hang up" and no address, and the log line must say who was refused and why.
 *
 * As Dask, the host name in the peer's certificate is not checked: a cluster's hosts are reached
 * by IP addresses that change from run to run, and trust comes from the private CA, which signs
 * only the cluster's own certificates.
 */
import { readFileSync } from "node:fs";
import type net from "node:net";
import tls from "node:tls";
import type { Connection, Listener, ListenOptions } from "./types.js";
import { commLog, errorMessage } from "./base.js";
import {
  acceptSocket,
  bindServer,
  dialSocket,
  formatSocketAddress,
  frameLimits,
  parseSocketAddress,
  type ConnectOptions,
  type TcpConnection,
} from "./tcp.js";

/** PEM contents (not paths) of this end's certificate and key and of the CA that signs peers. */
export interface TlsConfig {
  readonly ca: string | Buffer;
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

/** Paths to PEM files, as the CLI's `--tls-ca/--tls-cert/--tls-key` give them. */
export interface TlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export interface TlsListenOptions extends ListenOptions {
  tls?: TlsConfig;
}

export interface TlsConnectOptions extends ConnectOptions {
  tls?: TlsConfig;
}

/** Read the three PEM files; the error names the file that failed. */
export function readTlsFiles(files: TlsFiles): TlsConfig {
  const read = (what: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`skein tls: cannot read ${what} file "${path}": ${errorMessage(err)}`);
    }
  };
  return { ca: read("CA", files.ca), cert: read("certificate", files.cert), key: read("key", files.key) };
}

function needConfig(address: string, config: TlsConfig | undefined): TlsConfig {
  if (config === undefined) {
    throw new Error(`skein comm: ${address} needs TLS certificates (the tls option: ca, cert, key)`);
  }
  return config;
}

export async function listenTls(
  address: string,
  onConnection: (c: Connection) => void,
  opts?: TlsListenOptions,
): Promise<Listener> {
  parseSocketAddress("tls", address);
  const config = needConfig(address, opts?.tls);
  const limits = frameLimits(opts);
  const conns = new Set<TcpConnection>();
  let server: tls.Server;
  try {
    server = tls.createServer(
      // rejectUnauthorized: false only defers the decision to the check below (see the top).
      { ca: config.ca, cert: config.cert, key: config.key, requestCert: true, rejectUnauthorized: false, noDelay: true },
      (socket) => {
        if (!socket.authorized) {
          const peer = formatSocketAddress("tls", socket.remoteAddress ?? "unknown", socket.remotePort ?? 0);
          // Without a certificate node reports UNABLE_TO_GET_ISSUER_CERT; say what happened.
          const presented = Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
          const why = presented ? String(socket.authorizationError ?? "not signed by the CA") : "no certificate presented";
          commLog("warn", `skein comm: refused TLS connection from ${peer}: client certificate not accepted: ${why}`);
          socket.destroy();
          return;
        }
        acceptSocket("tls", socket, conns, limits, onConnection);
      },
    );
  } catch (err) {
    throw new Error(`skein comm: cannot listen on ${address}: ${errorMessage(err)}`);
  }
  // Handshakes that fail earlier (no shared cipher, garbage instead of TLS).
  // The socket may already be gone (then node no longer knows the peer's address).
  server.on("tlsClientError", (err: Error, socket: net.Socket) => {
    const peer = socket.remoteAddress === undefined ? "a peer that already disconnected" : formatSocketAddress("tls", socket.remoteAddress, socket.remotePort ?? 0);
    commLog("warn", `skein comm: TLS handshake with ${peer} failed: ${err.message}`);
  });
  return bindServer("tls", address, server, conns);
}

export async function connectTls(address: string, opts?: TlsConnectOptions): Promise<Connection> {
  const { host, port } = parseSocketAddress("tls", address);
  const config = needConfig(address, opts?.tls);
  return dialSocket(address, port, opts, "secureConnect", () =>
    tls.connect({
      host,
      port,
      ca: config.ca,
      cert: config.cert,
      key: config.key,
      rejectUnauthorized: true,
      // Trust comes from the private CA (see the top of this file); the name is not checked.
      checkServerIdentity: () => undefined,
    }),
  );
}

/**
 * Transport-independent entry points: `listen` and `connect` pick TCP, TLS or the in-process
 * transport by the address scheme.
 */
import type { Connection, Listener } from "./types.js";
import { connectTcp, listenTcp } from "./tcp.js";
import { connectTls, listenTls, type TlsConnectOptions, type TlsListenOptions } from "./tls.js";
import { connectInproc, listenInproc } from "./inproc.js";

export type { Connection, Listener, ListenOptions } from "./types.js";
export type { ConnectOptions } from "./tcp.js";
export { parseTcpAddress, formatTcpAddress, parseSocketAddress, formatSocketAddress } from "./tcp.js";
export { readTlsFiles, type TlsConfig, type TlsFiles, type TlsConnectOptions, type TlsListenOptions } from "./tls.js";
export { setCommLogger, type CommLogger, type CommLogLevel } from "./base.js";
export { FrameError, DEFAULT_MAX_FRAME_BYTES } from "./framing.js";
export { packValue, unpackValue, packRun, unpackRun, type UnpackValueOptions } from "./serialize.js";

function unsupported(address: string): Error {
  return new Error(`skein comm: unsupported address "${address}" (expected tcp://host:port, tls://host:port or inproc://name)`);
}

/** `opts.tls` is used by tls:// addresses and ignored by the others. */
export async function listen(
  address: string,
  onConnection: (c: Connection) => void,
  opts?: TlsListenOptions,
): Promise<Listener> {
  if (address.startsWith("tcp://")) return listenTcp(address, onConnection, opts);
  if (address.startsWith("tls://")) return listenTls(address, onConnection, opts);
  if (address.startsWith("inproc://")) return listenInproc(address, onConnection, opts);
  throw unsupported(address);
}

/** `opts.tls` is used by tls:// addresses and ignored by the others. */
export async function connect(address: string, opts?: TlsConnectOptions): Promise<Connection> {
  if (address.startsWith("tcp://")) return connectTcp(address, opts);
  if (address.startsWith("tls://")) return connectTls(address, opts);
  if (address.startsWith("inproc://")) return connectInproc(address);
  throw unsupported(address);
}

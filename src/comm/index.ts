/**
 * Transport-independent entry points: `listen` and `connect` pick TCP or the in-process
 * transport by the address scheme.
 */
import type { Connection, Listener, ListenOptions } from "./types.js";
import { connectTcp, listenTcp, type ConnectOptions } from "./tcp.js";
import { connectInproc, listenInproc } from "./inproc.js";

export type { Connection, Listener, ListenOptions } from "./types.js";
export type { ConnectOptions } from "./tcp.js";
export { parseTcpAddress, formatTcpAddress } from "./tcp.js";
export { setCommLogger, type CommLogger, type CommLogLevel } from "./base.js";
export { FrameError, DEFAULT_MAX_FRAME_BYTES } from "./framing.js";
export { packValue, unpackValue, packRun, unpackRun, type UnpackValueOptions } from "./serialize.js";

function unsupported(address: string): Error {
  return new Error(`skein comm: unsupported address "${address}" (expected tcp://host:port or inproc://name)`);
}

export async function listen(
  address: string,
  onConnection: (c: Connection) => void,
  opts?: ListenOptions,
): Promise<Listener> {
  if (address.startsWith("tcp://")) return listenTcp(address, onConnection, opts);
  if (address.startsWith("inproc://")) return listenInproc(address, onConnection, opts);
  throw unsupported(address);
}

export async function connect(address: string, opts?: ConnectOptions): Promise<Connection> {
  if (address.startsWith("tcp://")) return connectTcp(address, opts);
  if (address.startsWith("inproc://")) return connectInproc(address);
  throw unsupported(address);
}

/**
 * The rule for a scheduler's listener: off loopback, connections must authenticate, with a
 * shared token or with TLS client certificates, unless the operator says `--insecure`.
 */
import { isLoopbackHost } from "./network.js";
import { CliError } from "./parse.js";

export interface ListenSecurity {
  host: string;
  token?: string;
  tls: boolean;
  insecure: boolean;
}

/** Throws the refusal when the listener would accept anyone from the network. */
export function checkListenSecurity(s: ListenSecurity): void {
  if (isLoopbackHost(s.host) || s.insecure || s.tls || (s.token !== undefined && s.token !== "")) return;
  throw new CliError(
    `skein scheduler: refusing to listen on ${s.host} without authentication: set a token (SKEIN_TOKEN or --token), ` +
      `use TLS (--tls-cert, --tls-key, --tls-ca), or pass --insecure to accept unauthenticated connections`,
  );
}

/**
 * Throwaway certificates for TLS tests, made with the `openssl` command: a CA, two identities
 * it signs ("node" and "other"), and an identity signed by an unrelated CA ("rogue").
 * Written to a fresh temporary directory; the caller removes it.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TlsConfig, TlsFiles } from "../src/comm/index.js";

export interface TestCerts {
  dir: string;
  /** Paths, for the CLI. */
  files: { node: TlsFiles; other: TlsFiles; rogue: TlsFiles };
  /** Contents, for the API. */
  node: TlsConfig;
  other: TlsConfig;
  rogue: TlsConfig;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

function makeCa(dir: string, name: string): void {
  openssl(dir, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
    "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.pem`]);
}

function makeIdentity(dir: string, name: string, ca: string): void {
  openssl(dir, ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", `/CN=${name}`,
    "-keyout", `${name}.key`, "-out", `${name}.csr`]);
  // Used as both server and client certificate, for any address (names are not checked).
  const ext = join(dir, `${name}.ext`);
  execFileSync("sh", ["-c", `printf 'basicConstraints=CA:FALSE\\nkeyUsage=digitalSignature,keyEncipherment\\nextendedKeyUsage=serverAuth,clientAuth\\nsubjectAltName=IP:127.0.0.1,DNS:localhost\\n' > '${ext}'`]);
  openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial",
    "-days", "2", "-extfile", ext, "-out", `${name}.pem`]);
}

export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), "skein-tls-"));
  try {
    makeCa(dir, "ca");
    makeCa(dir, "rogue-ca");
    makeIdentity(dir, "node", "ca");
    makeIdentity(dir, "other", "ca");
    makeIdentity(dir, "rogue", "rogue-ca");
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const files = (name: string, ca: string): TlsFiles => ({
    ca: join(dir, `${ca}.pem`),
    cert: join(dir, `${name}.pem`),
    key: join(dir, `${name}.key`),
  });
  const load = (f: TlsFiles): TlsConfig => ({ ca: readFileSync(f.ca), cert: readFileSync(f.cert), key: readFileSync(f.key) });
  const node = files("node", "ca");
  const other = files("other", "ca");
  // The rogue trusts the real CA (so it would accept the server) but is signed by its own.
  const rogue = files("rogue", "ca");
  return {
    dir,
    files: { node, other, rogue },
    node: load(node),
    other: load(other),
    rogue: load(rogue),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

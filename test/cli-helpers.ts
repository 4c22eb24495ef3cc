/**
 * Spawning `skein` CLI processes in tests: every wait is bounded, every process is remembered
 * so `killAll()` (in afterAll) leaves nothing behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const CLI_MAIN = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

export interface Proc {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the first stdout/stderr match of `re` (searching what arrived so far too). */
  waitFor(re: RegExp, stream?: "stdout" | "stderr", timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or signal name) once the process exited. */
  exited(timeoutMs?: number): Promise<number | string>;
}

const live = new Set<ChildProcess>();

/** Run `command args...` (default: node + tsx + the CLI entry with `args`). */
export function spawnProc(command: string, args: readonly string[], env: Record<string, string | undefined> = {}): Proc {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], cwd: REPO_ROOT });
  live.add(child);
  const exit = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => {
      live.delete(child);
      resolve(code ?? signal ?? "unknown");
    }),
  );
  const watchers: (() => void)[] = [];
  const p: Proc = {
    child,
    stdout: "",
    stderr: "",
    waitFor(re, stream = "stdout", timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const m = p[stream].match(re);
          if (m) {
            clearTimeout(timer);
            resolve(m);
            return true;
          }
          return false;
        };
        const timer = setTimeout(
          () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${re} on ${stream}\n--- stdout:\n${p.stdout}\n--- stderr:\n${p.stderr}`)),
          timeoutMs,
        );
        if (check()) return;
        const w = (): void => {
          if (check()) watchers.splice(watchers.indexOf(w), 1);
        };
        watchers.push(w);
        void exit.then(() => {
          setImmediate(() => {
            if (!check()) {
              clearTimeout(timer);
              reject(new Error(`process exited while waiting for ${re} on ${stream}\n--- stdout:\n${p.stdout}\n--- stderr:\n${p.stderr}`));
            }
          });
        });
      });
    },
    exited(timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`process did not exit within ${timeoutMs} ms\n--- stderr:\n${p.stderr}`)), timeoutMs);
        void exit.then((v) => {
          clearTimeout(timer);
          resolve(v);
        });
      });
    },
  };
  child.stdout!.on("data", (b: Buffer) => {
    p.stdout += b.toString();
    for (const w of [...watchers]) w();
  });
  child.stderr!.on("data", (b: Buffer) => {
    p.stderr += b.toString();
    for (const w of [...watchers]) w();
  });
  return p;
}

export function skein(args: readonly string[], env: Record<string, string | undefined> = {}): Proc {
  return spawnProc(process.execPath, ["--import", "tsx", CLI_MAIN, ...args], env);
}

/** SIGKILL every process spawned here that is still running (and its process group's workers via IPC loss). */
export async function killAll(): Promise<void> {
  const waits = [...live].map(
    (c) =>
      new Promise<void>((resolve) => {
        if (c.exitCode !== null || c.signalCode !== null) return resolve();
        c.once("exit", () => resolve());
        c.kill("SIGKILL");
      }),
  );
  await Promise.all(waits);
}

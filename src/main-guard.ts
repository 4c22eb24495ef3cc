/**
 * The `main` guard: workers import a user's script to find its exported task functions, so a
 * script must run its work only when it is the entry point (Python's `if __name__ == "__main__"`).
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** True when the module with this `import.meta` is the script node was started with. */
export function isMain(meta: ImportMeta): boolean {
  const entry = process.argv[1];
  if (!entry || !meta.url.startsWith("file:")) return false;
  try {
    return realpathSync(fileURLToPath(meta.url)) === realpathSync(entry);
  } catch {
    return false;
  }
}

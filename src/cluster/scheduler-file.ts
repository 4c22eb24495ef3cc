/**
 * The scheduler file: a small JSON document a scheduler writes so clients and workers can find
 * it (`skein scheduler --scheduler-file F`), as Dask's `--scheduler-file`.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { SkeinError } from "../errors.js";

export interface SchedulerFileInfo {
  address: string;
  /** Present when the scheduler requires a token; the file should then be readable by its owner only. */
  token?: string;
  dashboard?: string;
  pid?: number;
}

export async function readSchedulerFile(path: string): Promise<SchedulerFileInfo> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new SkeinError(`skein: cannot read scheduler file "${path}": ${(err as Error).message}`);
  }
  let info: unknown;
  try {
    info = JSON.parse(text);
  } catch {
    throw new SkeinError(`skein: scheduler file "${path}" is not valid JSON`);
  }
  if (!info || typeof (info as SchedulerFileInfo).address !== "string") {
    throw new SkeinError(`skein: scheduler file "${path}" has no "address" field`);
  }
  return info as SchedulerFileInfo;
}

/** Written atomically (temp file + rename) so a reader never sees half a file. */
export async function writeSchedulerFile(path: string, info: SchedulerFileInfo): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(info, null, 2) + "\n", { mode: 0o600 });
  await rename(tmp, path);
}

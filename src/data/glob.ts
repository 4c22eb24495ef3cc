/**
 * File lists for the readers: a file, a directory (its files, recursively, in sorted order), or
 * a glob with `*`, `?`, `[...]`, `{a,b}` and `**` (any number of directories). Node 20 has no
 * stable fs.glob, and this is all the readers need. Hidden entries (`.x`) and `_x` files
 * (`_SUCCESS`, `_metadata`) are skipped in directory walks, as Dask and Spark do.
 */
import { readdir, stat } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { SkeinError } from "../errors.js";

export interface FileList {
  /** Absolute paths, sorted. */
  files: string[];
  /** The directory hive-style `key=value` folders are read relative to. */
  base: string;
}

const MAGIC = /[*?[{]/;

export function hasGlob(p: string): boolean {
  return MAGIC.test(p);
}

/** A regular expression for one path segment of a glob. */
function segmentRegex(seg: string): RegExp {
  let re = "";
  let inBrace = false;
  for (let i = 0; i < seg.length; i++) {
    const ch = seg[i];
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (ch === "[") {
      const end = seg.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        let body = seg.slice(i + 1, end);
        if (body.startsWith("!")) body = "^" + body.slice(1);
        re += `[${body.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else if (ch === "{") {
      inBrace = true;
      re += "(?:";
    } else if (ch === "}" && inBrace) {
      inBrace = false;
      re += ")";
    } else if (ch === "," && inBrace) re += "|";
    else re += ch.replace(/[.+^$()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

function skipped(name: string): boolean {
  return name.startsWith(".") || name.startsWith("_");
}

/** Every file under `dir` (recursive), skipping hidden and `_` entries. */
export async function walk(dir: string, accept: (name: string) => boolean = () => true): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    if (skipped(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p, accept)));
    else if (e.isFile() && accept(e.name)) out.push(p);
  }
  return out;
}

async function expandGlob(pattern: string): Promise<FileList> {
  const abs = resolve(pattern);
  const segs = abs.split(sep);
  let k = 0;
  while (k < segs.length && !hasGlob(segs[k])) k++;
  const base = segs.slice(0, k).join(sep) || sep;
  const rest = segs.slice(k);
  const out: string[] = [];
  const visit = async (dir: string, i: number): Promise<void> => {
    if (i === rest.length) return;
    const seg = rest[i];
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (seg === "**") {
      await visit(dir, i + 1); // zero directories
      for (const e of entries) if (e.isDirectory() && !e.name.startsWith(".")) await visit(join(dir, e.name), i);
      return;
    }
    const re = segmentRegex(seg);
    const last = i === rest.length - 1;
    for (const e of entries) {
      if (!re.test(e.name) || (e.name.startsWith(".") && !seg.startsWith("."))) continue;
      const p = join(dir, e.name);
      if (last) {
        if (e.isFile()) out.push(p);
      } else if (e.isDirectory()) await visit(p, i + 1);
    }
  };
  await visit(base, 0);
  return { files: [...new Set(out)].sort(), base };
}

/**
 * Files named by `paths` (each a file, a directory or a glob). `accept` filters the files of
 * directory walks (not of globs or explicit files). An empty result is an error naming the input.
 */
export async function listFiles(paths: string | readonly string[], accept?: (name: string) => boolean): Promise<FileList> {
  const list = typeof paths === "string" ? [paths] : [...paths];
  if (list.length === 0) throw new SkeinError("skein data: no paths given");
  const files: string[] = [];
  let base: string | undefined;
  for (const p of list) {
    let got: FileList;
    if (hasGlob(p)) got = await expandGlob(p);
    else if (await isDir(p)) got = { files: (await walk(resolve(p), accept)).sort(), base: resolve(p) };
    else {
      const abs = resolve(p);
      try {
        if (!(await stat(abs)).isFile()) throw new Error("not a file");
      } catch {
        throw new SkeinError(`skein data: no such file or directory: ${p}`);
      }
      got = { files: [abs], base: resolve(abs, "..") };
    }
    if (got.files.length === 0) throw new SkeinError(`skein data: no files match ${JSON.stringify(p)}`);
    files.push(...got.files);
    base ??= got.base;
  }
  return { files, base: base as string };
}

/** Hive-style `key=value` folders between `base` and `file`, in order. */
export function hivePairs(base: string, file: string): [string, string][] {
  const rel = file.startsWith(base + sep) ? file.slice(base.length + 1) : file;
  const parts = rel.split(sep).slice(0, -1);
  const out: [string, string][] = [];
  for (const seg of parts) {
    const eq = seg.indexOf("=");
    if (eq > 0) out.push([decodeURIComponent(seg.slice(0, eq)), decodeURIComponent(seg.slice(eq + 1))]);
  }
  return out;
}

import { SkeinError } from "../../errors.js";

/**
 * A Parquet file that cannot be read or written: missing magic, truncated footer, a page that
 * does not decode. The message always names the file: `skein parquet: <file>: <what>`.
 */
export class ParquetError extends SkeinError {
  static {
    this.prototype.name = "ParquetError";
  }
  constructor(
    readonly file: string,
    readonly what: string,
    options?: { cause?: unknown },
  ) {
    super(`skein parquet: ${file}: ${what}`, options);
  }
}

/**
 * A well-formed file that uses something skein does not read (nested columns, INT96, LZO...).
 * A separate class so a caller with another engine at hand can fall back on it.
 */
export class ParquetUnsupportedError extends ParquetError {
  static {
    this.prototype.name = "ParquetUnsupportedError";
  }
}

/** The message of any thrown value, for wrapping decode errors of the libraries we call. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

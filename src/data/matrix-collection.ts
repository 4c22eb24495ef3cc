/**
 * Partitioned numeric data for estimators and solvers: a Matrix per partition
 * (`Frame.toMatrix`), or X and y per partition (`Frame.splitXY`, the shape of skein/solvers'
 * `Partition`). Row counts carry over from the Frame.
 */
import { Collection, type Part } from "./collection.js";
import { concatRows, matrix, type Matrix } from "./matrix.js";
import type { XYPartition } from "./types.js";

export class MatrixCollection extends Collection<Matrix> {
  constructor(
    parts: readonly Part<Matrix>[],
    rows: readonly (number | undefined)[],
    /** Column names of every partition's matrix. */
    readonly columns: readonly string[],
  ) {
    super(parts, rows);
  }

  protected rebuild(parts: readonly Part<Matrix>[], rows: readonly (number | undefined)[]): this {
    return new MatrixCollection(parts, rows, this.columns) as this;
  }

  protected combine(parts: Matrix[]): Matrix {
    return parts.length === 0 ? matrix(0, this.columns.length, new Float64Array(0), [...this.columns]) : concatRows(parts);
  }
}

export class XYCollection extends Collection<XYPartition> {
  constructor(
    parts: readonly Part<XYPartition>[],
    rows: readonly (number | undefined)[],
    /** Feature names (the columns of every X). */
    readonly features: readonly string[],
  ) {
    super(parts, rows);
  }

  protected rebuild(parts: readonly Part<XYPartition>[], rows: readonly (number | undefined)[]): this {
    return new XYCollection(parts, rows, this.features) as this;
  }

  protected combine(parts: XYPartition[]): XYPartition {
    const X = parts.length === 0 ? matrix(0, this.features.length, new Float64Array(0), [...this.features]) : concatRows(parts.map((p) => p.X));
    let n = 0;
    for (const p of parts) n += p.y.length;
    const y = new Float64Array(n);
    let at = 0;
    for (const p of parts) {
      y.set(p.y, at);
      at += p.y.length;
    }
    return { X, y };
  }
}

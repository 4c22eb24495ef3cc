/**
 * `frame.groupBy(keys).agg({ col: "sum" | [...] })` and `frame.describe()`: per-partition
 * partials reduced as a tree (fan-in 8), so no task ever holds more than 8 partials.
 */
import { SkeinError } from "../errors.js";
import { task, type Part } from "./collection.js";
import {
  AGG_OPS,
  aggPartialTask,
  combineAggTask,
  describeSchemaOf,
  finalizeAggTask,
  finalizeDescribeTask,
  type AggOp,
  type AggPartial,
} from "./agg-tasks.js";
import { Frame } from "./frame.js";
import { isNumeric } from "./partition.js";
import type { Dtype, FramePartition, Schema } from "./types.js";

export type AggSpec = Record<string, AggOp | readonly AggOp[]>;

const FAN_IN = 8;

function treeReduce(parts: readonly Part<AggPartial>[], keyNames: string[], cols: string[]): Part<AggPartial> {
  let level: Part<AggPartial>[] = [...parts];
  if (level.length === 0) return task(combineAggTask, keyNames, cols);
  while (level.length > 1) {
    const next: Part<AggPartial>[] = [];
    for (let i = 0; i < level.length; i += FAN_IN) next.push(task(combineAggTask, keyNames, cols, ...level.slice(i, i + FAN_IN)));
    level = next;
  }
  return level[0];
}

export class GroupBy {
  constructor(
    readonly frame: Frame,
    readonly keys: readonly string[],
  ) {}

  /**
   * One row per group (sorted by key), the key columns, then the statistics: a column named
   * after its source column when one op is asked for it, `<col>_<op>` when several. Every
   * statistic is float64; count counts non-NaN values; std is the sample std (ddof 1).
   */
  agg(spec: AggSpec): Frame {
    const cols: string[] = [];
    const outputs: [number, AggOp, string][] = [];
    for (const [col, ops] of Object.entries(spec)) {
      const dt = this.frame.dtype(col);
      if (!isNumeric(dt)) throw new SkeinError(`skein data: agg: column "${col}" holds strings, not numbers`);
      if (this.keys.includes(col)) throw new SkeinError(`skein data: agg: column "${col}" is a group key`);
      const list = typeof ops === "string" ? [ops] : [...ops];
      if (list.length === 0) throw new SkeinError(`skein data: agg: no statistic for column "${col}"`);
      const c = cols.push(col) - 1;
      for (const op of list) {
        if (!AGG_OPS.includes(op)) throw new SkeinError(`skein data: agg: unknown statistic "${op}" for column "${col}" (use ${AGG_OPS.join(", ")})`);
        outputs.push([c, op, list.length === 1 ? col : `${col}_${op}`]);
      }
    }
    const keyNames = [...this.keys];
    const keyDtypes: Dtype[] = keyNames.map((k) => this.frame.dtype(k));
    const partials = this.frame.parts.map((p) => task(aggPartialTask, p, keyNames, cols));
    const root = treeReduce(partials, keyNames, cols);
    const schema: Schema = [
      ...keyNames.map((name, i) => ({ name, dtype: keyDtypes[i] })),
      ...outputs.map(([, , name]) => ({ name, dtype: "float64" as const })),
    ];
    const result: Part<FramePartition> = task(finalizeAggTask, root, keyDtypes, outputs);
    return new Frame([result], [keyNames.length ? undefined : 1], schema);
  }
}

export function describeFrame(frame: Frame): Frame {
  const cols = frame.schema.filter((f) => isNumeric(f.dtype)).map((f) => f.name);
  const partials = frame.parts.map((p) => task(aggPartialTask, p, [], cols));
  const root = treeReduce(partials, [], cols);
  return new Frame([task(finalizeDescribeTask, root)], [5], describeSchemaOf(cols));
}

/** Errors raised by skein/solvers. Messages start with "glm:" and carry the bad value. */
import { SkeinError } from "../src/errors.js";
import type { PenaltyName, SolverName } from "./types.js";

/** Bad data or options for a GLM (NaN in X, y outside the family's domain, wrong shapes). */
export class GlmError extends SkeinError {
  static {
    this.prototype.name = "GlmError";
  }
}

/** A solver asked for a penalty it cannot handle; `auto` choices catch this kind. */
export class UnsupportedPenaltyError extends GlmError {
  static {
    this.prototype.name = "UnsupportedPenaltyError";
  }
  constructor(
    readonly solver: SolverName,
    readonly penalty: PenaltyName,
    alternatives: readonly SolverName[],
  ) {
    super(`glm: solver "${solver}" does not support penalty "${penalty}" (use ${orList(alternatives)})`);
  }
}

/** "a, b or c" */
function orList(names: readonly string[]): string {
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
}

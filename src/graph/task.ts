import type { FnRef, Key } from "./spec.js";

/**
 * A task in plain form, before packing: what raw graphs and Delayed values normalise to.
 * `fn === null` means "the value args[0]" (with KeyRefs substituted): aliases, lists, literals.
 */
export interface NormalizedTask {
  readonly key: Key;
  readonly fn: FnRef | null;
  readonly args: readonly unknown[];
  /** Keys this task reads, de-duplicated, in first-seen order. */
  readonly deps: readonly Key[];
}

/**
 * `delayed(fn)`: lazy calls that build a graph instead of running. `delayed(add)(delayed(inc)(1), 2)`
 * is a Delayed whose graph holds both tasks; `.compute()` runs it on a client. Keys are
 * deterministic (`name-<token>`) unless `pure: false`, as in dask.
 */
import { SkeinError } from "../errors.js";
import { locateFunction } from "../functions/locate.js";
import { encodeArgs } from "./build.js";
import type { FnRef, Key } from "./spec.js";
import type { NormalizedTask } from "./task.js";
import { tokenize, uniqueKey } from "./tokenize.js";

/** What `Delayed.compute` needs from a client. */
export interface DelayedComputer {
  computeDelayed<T>(d: Delayed<T>): Promise<T>;
}

let defaultComputer: DelayedComputer | undefined;

/**
 * Sets the client used by `compute()` without an argument. With `ifCurrent`, only replaces
 * the default if it is still `ifCurrent` (a closing client clears itself, not a newer one).
 */
export function setDefaultComputer(c: DelayedComputer | undefined, ifCurrent?: DelayedComputer): void {
  if (ifCurrent !== undefined && defaultComputer !== ifCurrent) return;
  defaultComputer = c;
}

export function getDefaultComputer(): DelayedComputer | undefined {
  return defaultComputer;
}

let externalKeyOf: (v: unknown) => Key | undefined = () => undefined;

/** Lets Delayed arguments hold other keyed values (Futures): the client installs its check. */
export function setExternalKeyOf(keyOf: (v: unknown) => Key | undefined): void {
  externalKeyOf = keyOf;
}

export class Delayed<T> {
  /** Phantom, for type inference only. */
  declare readonly __type?: T;

  constructor(
    readonly key: Key,
    /** This call's own task. */
    readonly task: NormalizedTask,
    /** Delayed values this call reads directly. */
    readonly dependencies: readonly Delayed<unknown>[],
    /** Other keyed values (Futures) it reads, by key: their keys are not in `tasks()`. */
    readonly external: ReadonlyMap<Key, object>,
  ) {}

  /** This task and every task it depends on, each once, dependencies before dependents. */
  tasks(): NormalizedTask[] {
    const out: NormalizedTask[] = [];
    const seen = new Set<Key>([this.key]);
    // Iterative post-order: long chains of delayed calls must not overflow the stack.
    const stack: Delayed<unknown>[] = [this];
    const next: number[] = [0];
    while (stack.length > 0) {
      const top = stack.length - 1;
      const d = stack[top];
      const i = next[top];
      if (i < d.dependencies.length) {
        next[top] = i + 1;
        const dep = d.dependencies[i];
        if (!seen.has(dep.key)) {
          seen.add(dep.key);
          stack.push(dep);
          next.push(0);
        }
      } else {
        out.push(d.task);
        stack.pop();
        next.pop();
      }
    }
    return out;
  }

  /** `tasks()` by key. */
  get graph(): ReadonlyMap<Key, NormalizedTask> {
    const g = new Map<Key, NormalizedTask>();
    for (const t of this.tasks()) g.set(t.key, t);
    return g;
  }

  /** Runs the graph on `client` (default: the last connected client) and returns the value. */
  compute(client?: DelayedComputer): Promise<T> {
    const c = client ?? defaultComputer;
    if (!c) return Promise.reject(new SkeinError("skein: no client; call Client.connect() first or pass a client"));
    return c.computeDelayed(this);
  }

  toString(): string {
    return `Delayed(${this.key})`;
  }
}

/** A handle on a value already on the cluster (a client Future), as far as Delayed cares. */
export interface KeyedValue<T> {
  readonly key: Key;
  result(): Promise<T>;
}

/** A value, a Delayed of it or a Future on it; arrays may mix them. */
export type DelayedArg<T> =
  | T
  | Delayed<T>
  | KeyedValue<T>
  | (T extends readonly (infer U)[] ? readonly DelayedArg<U>[] : never);
export type DelayedArgs<A extends readonly unknown[]> = { [K in keyof A]: DelayedArg<A[K]> };

export interface DelayedOptions {
  /** Key prefix and display name; default: the function's export name. */
  readonly name?: string;
  /** Deterministic keys from function and arguments (default); false gives a fresh key per call. */
  readonly pure?: boolean;
}

/** Wraps `fn` so calls build Delayed values instead of running. `fn` must be exported. */
export function delayed<A extends unknown[], R>(
  fn: (...args: A) => R,
  opts: DelayedOptions = {},
): (...args: DelayedArgs<A>) => Delayed<Awaited<R>> {
  const ref: FnRef = locateFunction(fn);
  const name = opts.name ?? ref.name;
  const pure = opts.pure ?? true;
  return (...args: DelayedArgs<A>): Delayed<Awaited<R>> => {
    const dependencies: Delayed<unknown>[] = [];
    let external: Map<Key, object> | undefined;
    const keyOf = (v: unknown): Key | undefined => {
      if (v instanceof Delayed) {
        dependencies.push(v as Delayed<unknown>);
        return v.key;
      }
      const k = externalKeyOf(v);
      if (k !== undefined) (external ??= new Map()).set(k, v as object);
      return k;
    };
    const enc = encodeArgs(args, keyOf);
    const key = pure ? `${name}-${tokenize(ref.module, ref.name, enc.args)}` : uniqueKey(name);
    const task: NormalizedTask = { key, fn: ref, args: enc.args, deps: enc.deps };
    return new Delayed<Awaited<R>>(key, task, dependencies, external ?? EMPTY);
  };
}

const EMPTY: ReadonlyMap<Key, object> = new Map();

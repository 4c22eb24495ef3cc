/**
 * Which tasks a worker runs on its own event loop instead of a task thread.
 *
 * Handing a task to a thread and back costs two wake-ups (30-70 µs each on a VM) and runs the
 * task in an isolate whose code warms up apart from the worker's. For a lone task of a few
 * microseconds that is most of the worker's share of a `submit -> result` round trip: inline,
 * a round trip over TCP fell from ~0.45 to ~0.26 ms. Tasks stay in threads otherwise, because
 * there a long task cannot block heartbeats, transfers or new work.
 *
 * Pure bookkeeping per key prefix (`inc-3f2a…` -> `inc`), fed with every run's duration: a
 * prefix may run inline after `streak` runs in a row of at most `tinyMs` each. A slower run
 * resets the streak; an inline run longer than `barMs`, or any run that called a function
 * marked threadBound, bars the prefix on this worker for good. The executor adds what this
 * cannot see: only a task arriving while nothing else runs, with small inputs.
 */
import { keyPrefix } from "../graph/keys.js";
import type { Key } from "../graph/spec.js";

export interface InlinePolicyOptions {
  /** A run this short (ms) counts towards the streak. 0 disables inline runs. Default 1. */
  readonly tinyMs?: number;
  /** Tiny runs in a row before a prefix runs inline. Default 4. */
  readonly streak?: number;
  /** An inline run longer than this (ms) bars its prefix. Default 20. */
  readonly barMs?: number;
  /** Prefixes remembered; past it the table starts over (keys without a hash suffix are all distinct). Default 10,000. */
  readonly maxPrefixes?: number;
}

interface PrefixRecord {
  streak: number;
  barred: boolean;
}

export class InlinePolicy {
  private readonly tinyMs: number;
  private readonly streak: number;
  private readonly barMs: number;
  private readonly maxPrefixes: number;
  private readonly prefixes = new Map<string, PrefixRecord>();

  constructor(opts: InlinePolicyOptions = {}) {
    this.tinyMs = opts.tinyMs ?? 1;
    this.streak = opts.streak ?? 4;
    this.barMs = opts.barMs ?? 20;
    this.maxPrefixes = opts.maxPrefixes ?? 10_000;
    if (!(this.tinyMs >= 0) || !Number.isInteger(this.streak) || this.streak < 1 || !(this.barMs >= this.tinyMs)) {
      throw new RangeError(`skein worker: inline policy needs tinyMs >= 0, streak >= 1, barMs >= tinyMs (got ${this.tinyMs}, ${this.streak}, ${this.barMs})`);
    }
  }

  get enabled(): boolean {
    return this.tinyMs > 0;
  }

  /** A run of `key` took `ms`, in a thread or inline; `threadBound` if it called a marked function. */
  observe(key: Key, ms: number, inline: boolean, threadBound: boolean): void {
    if (!this.enabled) return;
    const prefix = keyPrefix(key);
    let r = this.prefixes.get(prefix);
    if (r === undefined) {
      if (this.prefixes.size >= this.maxPrefixes) this.prefixes.clear();
      r = { streak: 0, barred: false };
      this.prefixes.set(prefix, r);
    }
    if (threadBound || (inline && ms > this.barMs)) r.barred = true;
    if (r.barred) return;
    r.streak = ms <= this.tinyMs ? r.streak + 1 : 0;
  }

  /** May a task with this key run inline (as far as its prefix's history tells)? */
  allows(key: Key): boolean {
    if (!this.enabled) return false;
    const r = this.prefixes.get(keyPrefix(key));
    return r !== undefined && !r.barred && r.streak >= this.streak;
  }
}

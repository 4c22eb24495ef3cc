/**
 * Bounded transition log: a ring buffer of parallel arrays, so recording a transition
 * allocates nothing. `story(key)` scans it; that is a diagnostic path, not a hot one.
 */
import type { Key } from "../graph/spec.js";
import { TASK_STATE_NAMES, type TransitionRecord } from "./events.js";

export class TransitionLog {
  private readonly keys: (Key | undefined)[];
  private readonly stimuli: (string | undefined)[];
  private readonly starts: Uint8Array;
  private readonly finishes: Uint8Array;
  private readonly times: Float64Array;
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.keys = new Array<Key | undefined>(capacity).fill(undefined);
    this.stimuli = new Array<string | undefined>(capacity).fill(undefined);
    this.starts = new Uint8Array(capacity);
    this.finishes = new Uint8Array(capacity);
    this.times = new Float64Array(capacity);
  }

  record(key: Key, start: number, finish: number, stimulusId: string, time: number): void {
    const cap = this.capacity;
    if (cap === 0) return;
    const i = this.next;
    this.keys[i] = key;
    this.stimuli[i] = stimulusId;
    this.starts[i] = start;
    this.finishes[i] = finish;
    this.times[i] = time;
    this.next = i + 1 === cap ? 0 : i + 1;
    if (this.count < cap) this.count++;
  }

  /** Transitions of `key` still in the log, oldest first. */
  story(key: Key): TransitionRecord[] {
    const out: TransitionRecord[] = [];
    const cap = this.capacity;
    let i = this.count < cap ? 0 : this.next;
    for (let n = 0; n < this.count; n++) {
      if (this.keys[i] === key) {
        out.push({
          key,
          start: TASK_STATE_NAMES[this.starts[i]],
          finish: TASK_STATE_NAMES[this.finishes[i]],
          stimulusId: this.stimuli[i] as string,
          time: this.times[i],
        });
      }
      i = i + 1 === cap ? 0 : i + 1;
    }
    return out;
  }
}

export function formatStory(records: readonly TransitionRecord[]): string {
  if (records.length === 0) return "  (no transitions logged)";
  return records.map((r) => `  ${r.start}>${r.finish} stimulus=${r.stimulusId} time=${r.time}`).join("\n");
}

/**
 * Terminal progress for futures and for any counted loop: a cli-progress bar when the stream is a
 * terminal, a few plain lines (start, every 25 %, end) when it is not (CI logs, files, pipes), so
 * a log never fills with carriage-return redraws.
 */
import cliProgress from "cli-progress";
import { SkeinError } from "../errors.js";
import { Future, type KeyRecord } from "./future.js";

export interface ProgressOptions {
  /** Where to write. Default process.stderr (stdout stays clean for the program's own output). */
  stream?: NodeJS.WritableStream;
  /** Text before the counts. Default "progress". */
  label?: string;
  /** Draw a bar (true) or plain lines (false). Default: whether `stream` is a TTY. */
  tty?: boolean;
  /** Plain mode: print a line each time another fraction this large is done. Default 0.25. */
  step?: number;
  /** Unit named in plain lines. Default "tasks". */
  unit?: string;
  /** Clock in ms, for tests. Default performance.now. */
  now?: () => number;
}

interface Sink {
  start(total: number): void;
  update(done: number, erred: number, total: number): void;
  stop(done: number, erred: number, total: number): void;
}

/**
 * Counts units of work towards a total and shows them. `tick(n)` when n more are done (`fail(n)`
 * when they failed: they count as done and are reported as erred); `done()` ends the display
 * (idempotent). The total may grow (`addTotal`) for work discovered on the way.
 */
export class ProgressReporter {
  private nDone = 0;
  private nErred = 0;
  private count: number;
  private finished = false;
  private readonly sink: Sink;

  constructor(total: number, options: ProgressOptions = {}) {
    if (!Number.isInteger(total) || total < 0) throw new SkeinError(`skein progress: total must be a non-negative integer, got ${String(total)}`);
    this.count = total;
    const stream = options.stream ?? process.stderr;
    const tty = options.tty ?? (stream as NodeJS.WritableStream & { isTTY?: boolean }).isTTY === true;
    const label = options.label ?? "progress";
    this.sink = tty ? new BarSink(stream, label) : new LineSink(stream, label, options);
    this.sink.start(total);
  }

  get total(): number {
    return this.count;
  }

  /** Units done so far, failed ones included. */
  get completed(): number {
    return this.nDone;
  }

  /** Units that failed. */
  get erred(): number {
    return this.nErred;
  }

  tick(n = 1): void {
    if (this.finished) return;
    this.nDone += n;
    this.sink.update(this.nDone, this.nErred, this.count);
  }

  fail(n = 1): void {
    if (this.finished) return;
    this.nErred += n;
    this.tick(n);
  }

  addTotal(n: number): void {
    if (this.finished) return;
    this.count += n;
    this.sink.update(this.nDone, this.nErred, this.count);
  }

  /** End the display: the bar stops (cursor restored), plain mode prints its last line. */
  done(): void {
    if (this.finished) return;
    this.finished = true;
    this.sink.stop(this.nDone, this.nErred, this.count);
  }
}

/**
 * Show progress until every future is done, then resolve. Failed or cancelled futures count as
 * done and are reported as erred: this never rejects for them (read each future's result for its
 * error). Futures sharing a key count once. Keep the futures unreleased while it runs: a
 * released key is no longer followed by the client.
 */
export function progress(futures: Future<unknown> | Iterable<Future<unknown>>, options: ProgressOptions = {}): Promise<void> {
  const records = new Set<KeyRecord>();
  if (futures instanceof Future) records.add(futures.record);
  else for (const f of futures) records.add(f.record);
  const reporter = new ProgressReporter(records.size, options);
  let left = records.size;
  if (left === 0) {
    reporter.done();
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    for (const r of records) {
      r.onDone(() => {
        if (r.status === "finished") reporter.tick();
        else reporter.fail();
        if (--left === 0) {
          reporter.done();
          resolve();
        }
      });
    }
  });
}

class BarSink implements Sink {
  private readonly bar: cliProgress.SingleBar;

  constructor(stream: NodeJS.WritableStream, label: string) {
    this.bar = new cliProgress.SingleBar({
      stream,
      format: `${label} [{bar}] {value}/{total} {percentage}% | {duration_formatted} | eta {eta_formatted}{erred}`,
      hideCursor: false,
      barsize: 30,
      fps: 10,
    });
  }

  start(total: number): void {
    this.bar.start(total, 0, { erred: "" });
  }

  update(done: number, erred: number, total: number): void {
    if (this.bar.getTotal() !== total) this.bar.setTotal(total);
    this.bar.update(done, { erred: erred > 0 ? ` | ${erred} erred` : "" });
  }

  stop(done: number, erred: number, total: number): void {
    this.update(done, erred, total);
    this.bar.stop();
  }
}

class LineSink implements Sink {
  private readonly step: number;
  private readonly unit: string;
  private readonly now: () => number;
  private readonly t0: number;
  /** Next fraction of the total that earns a line. */
  private next: number;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly label: string,
    o: ProgressOptions,
  ) {
    this.step = o.step ?? 0.25;
    if (!(this.step > 0 && this.step <= 1)) throw new SkeinError(`skein progress: step must be in (0, 1], got ${String(o.step)}`);
    this.unit = o.unit ?? "tasks";
    this.now = o.now ?? (() => performance.now());
    this.t0 = this.now();
    this.next = this.step;
  }

  start(total: number): void {
    this.stream.write(`${this.label}: 0/${total} ${this.unit}\n`);
  }

  update(done: number, erred: number, total: number): void {
    if (total === 0 || done >= total || done / total < this.next) return;
    // Several steps may be crossed at once (a big tick): one line, then aim past them all.
    while (this.next <= done / total) this.next += this.step;
    this.stream.write(`${this.label}: ${done}/${total} ${this.unit} (${Math.floor((100 * done) / total)}%) ${this.elapsed()}${erred > 0 ? `, ${erred} erred` : ""}\n`);
  }

  stop(done: number, erred: number, total: number): void {
    const what = done >= total ? "done" : "stopped";
    this.stream.write(`${this.label}: ${done}/${total} ${this.unit} ${what} in ${this.elapsed()}${erred > 0 ? `, ${erred} erred` : ""}\n`);
  }

  private elapsed(): string {
    return `${((this.now() - this.t0) / 1000).toFixed(1)}s`;
  }
}

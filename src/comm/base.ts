/**
 * What every transport shares: the logging hook, and the Connection bookkeeping that must
 * behave identically over TCP and in-process (per-tick batching of sends, ordered delivery,
 * holding batches that arrive before the owner set `onMessages`, `onClose` exactly once).
 * A transport supplies only `transmit` (ship one batch), `shutdown` and `abort`.
 */
import type { Message } from "../protocol.js";
import type { Connection } from "./types.js";

// ---- logging ----

export type CommLogLevel = "info" | "warn" | "error";
export type CommLogger = (level: CommLogLevel, message: string) => void;

const defaultLogger: CommLogger = (level, message) => {
  if (level !== "info") process.emitWarning(message, { code: "SKEIN_COMM" });
};

let logger: CommLogger = defaultLogger;

/** Route comm log lines to `fn`; `null` restores the default (`process.emitWarning`). */
export function setCommLogger(fn: CommLogger | null): void {
  logger = fn ?? defaultLogger;
}

export function commLog(level: CommLogLevel, message: string): void {
  try {
    logger(level, message);
  } catch {
    // A broken logger must not turn a logged problem into a crash.
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function errorDetail(err: unknown): string {
  return err instanceof Error && err.stack ? err.stack : String(err);
}

// ---- connections ----

/**
 * When queued sends leave. setImmediate rather than a microtask: a batch then collects every
 * send made while handling one round of I/O, and two in-process endpoints talking to each
 * other cannot starve timers and sockets (microtasks would run them back to back forever).
 */
export const scheduleFlush: (fn: () => void) => void = setImmediate;

const OPEN = 0;
const CLOSING = 1;
const CLOSED = 2;

export abstract class BaseConnection implements Connection {
  abstract readonly peer: string;
  onClose: (reason: string) => void = () => {};
  /** Called once the connection is closed (listeners use it to forget the connection). */
  untrack: (() => void) | null = null;

  private state = OPEN;
  private handler: ((msgs: Message[]) => void) | null = null;
  /** Batches received before the owner set a handler; replayed, in order, once it does. */
  private early: Message[][] | null = null;
  private outbox: Message[] = [];
  private flushQueued = false;
  /** Set by a transport that cannot take more now (TCP waiting for 'drain'). */
  private held = false;
  private readonly flushBound = (): void => {
    this.flushQueued = false;
    if (this.state === OPEN && !this.held) this.flush();
  };

  authenticated(): void {}

  get closed(): boolean {
    return this.state !== OPEN;
  }

  get onMessages(): (msgs: Message[]) => void {
    return this.handler ?? this.holdEarly;
  }

  set onMessages(fn: (msgs: Message[]) => void) {
    this.handler = fn;
    if (this.early !== null) scheduleFlush(this.replayEarly);
  }

  send(msg: Message): void {
    if (this.state !== OPEN) return;
    this.outbox.push(msg);
    if (!this.flushQueued && !this.held) {
      this.flushQueued = true;
      scheduleFlush(this.flushBound);
    }
  }

  close(reason = "skein comm: connection closed"): void {
    if (this.state !== OPEN) return;
    this.state = CLOSING;
    this.shutdown(reason);
    queueMicrotask(() => this.finish(reason));
  }

  /** Ship one batch (never empty). */
  protected abstract transmit(batch: Message[]): void;
  /** Graceful local close: ship `takeOutbox()` and let the peer know. */
  protected abstract shutdown(reason: string): void;
  /** Hard close after a protocol violation or a failing handler; must call `finish`. */
  protected abstract abort(reason: string): void;

  protected flush(): void {
    if (this.outbox.length === 0) return;
    const batch = this.outbox;
    this.outbox = [];
    this.transmit(batch);
  }

  protected takeOutbox(): Message[] {
    const batch = this.outbox;
    this.outbox = [];
    return batch;
  }

  /** Stop (true) or resume (false) flushing; resuming flushes what queued meanwhile. */
  protected hold(on: boolean): void {
    this.held = on;
    if (!on && this.outbox.length > 0 && !this.flushQueued && this.state === OPEN) {
      this.flushQueued = true;
      scheduleFlush(this.flushBound);
    }
  }

  /** A transport hands each received batch here, in order. */
  protected deliver(batch: Message[]): void {
    if (this.state !== OPEN) return;
    if (this.handler === null || this.early !== null) {
      (this.early ??= []).push(batch);
      return;
    }
    this.invoke(this.handler, batch);
  }

  /** The connection is closed for `reason`: runs `onClose` exactly once. */
  protected finish(reason: string): void {
    if (this.state === CLOSED) return;
    this.state = CLOSED;
    this.outbox = [];
    this.early = null;
    this.untrack?.();
    try {
      this.onClose(reason);
    } catch (err) {
      commLog("error", `skein comm: onClose handler for ${this.peer} threw: ${errorDetail(err)}`);
    }
  }

  private invoke(handler: (msgs: Message[]) => void, batch: Message[]): void {
    try {
      handler(batch);
    } catch (err) {
      commLog("error", `skein comm: onMessages handler for ${this.peer} threw: ${errorDetail(err)}`);
      this.abort(`skein comm: onMessages handler threw: ${errorMessage(err)}`);
    }
  }

  private readonly holdEarly = (msgs: Message[]): void => {
    (this.early ??= []).push(msgs);
  };

  private readonly replayEarly = (): void => {
    const early = this.early;
    const handler = this.handler;
    if (early === null || handler === null) return;
    this.early = null;
    for (let i = 0; i < early.length && this.state === OPEN; i++) this.invoke(handler, early[i]);
  };
}

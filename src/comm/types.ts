/**
 * The transport contract. TCP and the in-process transport both implement it, so the scheduler,
 * worker and client never know which one they are on.
 */
import type { Message } from "../protocol.js";

export interface Connection {
  /** Remote end, for logs and errors (e.g. "tcp://127.0.0.1:51234" or "inproc://worker-1"). */
  readonly peer: string;
  readonly closed: boolean;
  /**
   * Queue a message. Messages queued in the same tick leave together as one batch (one frame),
   * which is what keeps per-task overhead low. Sending on a closed connection is a no-op.
   */
  send(msg: Message): void;
  /** Called once per received batch, in order. Set by the owner right after connect/accept. */
  onMessages: (msgs: Message[]) => void;
  /** Called exactly once when the connection closes, for any reason, with a human-readable reason. */
  onClose: (reason: string) => void;
  close(reason?: string): void;
  /**
   * The peer proved who it is (hello with the right token): lift the small pre-authentication
   * frame limit of an accepted connection to the listener's maxFrameBytes. No-op elsewhere.
   */
  authenticated(): void;
}

export interface Listener {
  /** The address peers connect to, with the real port when 0 was asked for. */
  readonly address: string;
  close(): Promise<void>;
}

export interface ListenOptions {
  /** Largest accepted frame in bytes; a bigger announced length closes the connection. */
  maxFrameBytes?: number;
  /** Receive binary frames of at least this many bytes into shared memory (see FrameDecoderOptions). */
  sharedMinBytes?: number;
}

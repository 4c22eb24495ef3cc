/**
 * The TensorFlow.js backend, set up once per process or task thread: the wasm backend
 * (`@tensorflow/tfjs-backend-wasm`, SIMD where the runtime has it). tfjs-node is not used: its
 * install step downloads a native binary, which offline and locked-down installs refuse.
 *
 * `tfReady()` is one module-level promise: every caller in a thread shares the same set-up.
 * estimators.ts awaits it at the top level, so once that module is imported (by a worker
 * rebuilding a fitted model, say) the synchronous predict path can use tf at once.
 */
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount, setThreadsCount } from "@tensorflow/tfjs-backend-wasm";

export { tf };

export const TF_PREFIX = "skein tfjs:";

export interface BackendInfo {
  backend: string;
  simd: boolean;
  threads: number;
}

let ready: Promise<BackendInfo> | null = null;

async function init(): Promise<BackendInfo> {
  const threads = Number(process.env.SKEIN_TFJS_THREADS ?? "");
  // Threads only help where the runtime supports wasm threads (not Node 20's default build);
  // the setting must come before the backend initialises.
  if (Number.isInteger(threads) && threads > 0) setThreadsCount(threads);
  const before = { uncaughtException: process.listeners("uncaughtException"), unhandledRejection: process.listeners("unhandledRejection") };
  const ok = await tf.setBackend("wasm");
  if (!ok) throw new Error(`${TF_PREFIX} the wasm backend failed to initialise (backend now "${tf.getBackend()}")`);
  await tf.ready();
  // Emscripten's runtime installs process handlers that rethrow every uncaught error from inside
  // its one-line minified module, so Node prints ~30 kB of source with any crash. Node already
  // exits on both; drop the handlers the backend just added.
  for (const l of process.listeners("uncaughtException")) if (!before.uncaughtException.includes(l)) process.removeListener("uncaughtException", l);
  for (const l of process.listeners("unhandledRejection")) if (!before.unhandledRejection.includes(l)) process.removeListener("unhandledRejection", l);
  const simd = (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) === true;
  return { backend: tf.getBackend(), simd, threads: getThreadsCount() };
}

/** Initialises the wasm backend once in this thread; later calls share the same promise. */
export function tfReady(): Promise<BackendInfo> {
  if (ready === null) {
    ready = init();
    ready.catch(() => {
      ready = null;
    });
  }
  return ready;
}

/** Throws unless tfReady() has finished here (the synchronous paths call this). */
export function assertReady(): void {
  if (tf.getBackend() !== "wasm") {
    throw new Error(`${TF_PREFIX} the wasm backend is not initialised in this thread: await tfReady() first (backend is "${tf.getBackend()}")`);
  }
}

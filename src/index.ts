/**
 * skein: the runtime. Futures on a scheduler built into the library, LocalCluster by default.
 */
export { Client, ClientWithOptions, type ComputeOptions, type ConnectOptions, type TaskOptions, type WaitResult, type Arg } from "./client/client.js";
export { Future, type FutureStatus } from "./client/future.js";
export { AsCompleted, type AsCompletedOptions } from "./client/as-completed.js";
export { LocalCluster, type LocalClusterOptions } from "./cluster/local.js";
export { SchedulerServer, type SchedulerOptions } from "./scheduler/server.js";
export { WorkerServer } from "./worker/server.js";
export { delayed, Delayed } from "./graph/delayed.js";
export { register, threadBound } from "./functions/index.js";
export { KeyRef, type Key, type FnRef } from "./graph/spec.js";
export { SkeinError, GraphError, TaskError, CancelledError, FunctionReferenceError } from "./errors.js";
export { isMain } from "./main-guard.js";
export { readTlsFiles, type TlsConfig, type TlsFiles } from "./comm/tls.js";
export { progress, ProgressReporter, type ProgressOptions } from "./client/progress.js";
export { visualize, toDot, type Visualizable, type VisualizeOptions, type VisualState } from "./graph/visualize.js";
export { Dashboard, type DashboardOptions } from "./dashboard/server.js";
export type { SchedulerPlugin } from "./scheduler/server.js";
export { type PerformanceReportOptions } from "./client/performance-report.js";
export { applyDiskCache, cacheFileName, loadCached, storeCached, type CacheOption, type CacheRewrite, type DiskCacheOptions } from "./graph/cache.js";

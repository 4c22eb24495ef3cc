/**
 * The live dashboard (HTTP + websocket beside the scheduler) and the task stream it draws.
 */
export { Dashboard, DEFAULT_DASHBOARD_PORT, type DashboardOptions } from "./server.js";
export { DashboardModel, type DashboardUpdate, type StreamDelta, type WorkerRow } from "./model.js";
export { ProgressTracker, type FunctionProgress } from "./progress.js";
export { TaskStreamLog, TASK_STREAM_CAPACITY } from "./task-stream.js";

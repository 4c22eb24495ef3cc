/**
 * The dashboard's HTTP + websocket server, run beside a SchedulerServer: GET /status is the
 * page, /ws pushes a `DashboardUpdate` to each viewer every `intervalMs` (500 ms), /api/snapshot
 * answers the same as JSON. Read-only: nothing a viewer sends changes the cluster.
 *
 * Port 8787 by default; when it is taken (another cluster, a test run) the dashboard moves to
 * a free port, as dask's does, and says so through `fellBack`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import type { SchedulerServer } from "../scheduler/server.js";
import { uplotAssets } from "./assets.js";
import { DashboardModel, INITIAL_STREAM } from "./model.js";
import { COMMON_CSS, DASHBOARD_HTML, DASHBOARD_JS, TASK_STREAM_JS } from "./page.js";

export const DEFAULT_DASHBOARD_PORT = 8787;

export interface DashboardOptions {
  /** TCP port; 0 picks a free one. Default 8787 (a free port instead when taken). */
  port?: number;
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
  /** Host name for the URL (when `host` is a wildcard such as 0.0.0.0). Default `host`. */
  publicHost?: string;
  /** How often viewers get an update. Default 500 ms. */
  intervalMs?: number;
}

/** A viewer's send buffer above this skips updates until it drains (a slow browser never piles up). */
const MAX_BUFFERED = 4 << 20;

interface Viewer {
  ws: WebSocket;
  cursor: number;
}

function listenOn(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off("listening", onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}

export class Dashboard {
  readonly model: DashboardModel;
  private readonly viewers = new Set<Viewer>();
  private readonly wss: WebSocketServer;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly scheduler: SchedulerServer,
    private readonly http: Server,
    /** The port asked for. */
    readonly requestedPort: number,
    /** The port it listens on. */
    readonly port: number,
    /** http://host:port/status */
    readonly url: string,
  ) {
    this.model = new DashboardModel(scheduler);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  }

  /** True when the requested port was taken and a free one was used instead. */
  get fellBack(): boolean {
    return this.requestedPort !== 0 && this.requestedPort !== this.port;
  }

  static async start(scheduler: SchedulerServer, opts: DashboardOptions = {}): Promise<Dashboard> {
    const requested = opts.port ?? DEFAULT_DASHBOARD_PORT;
    if (!Number.isInteger(requested) || requested < 0 || requested > 65535) {
      throw new Error(`skein dashboard: port must be an integer in 0..65535, got ${String(opts.port)}`);
    }
    const interval = opts.intervalMs ?? 500;
    if (!(interval >= 10)) throw new Error(`skein dashboard: intervalMs must be >= 10, got ${String(opts.intervalMs)}`);
    const host = opts.host ?? "127.0.0.1";
    let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
    const http = createServer((req, res) => handler?.(req, res));
    try {
      await listenOn(http, requested, host);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || requested === 0) throw err;
      await listenOn(http, 0, host);
    }
    const port = (http.address() as AddressInfo).port;
    const shown = opts.publicHost ?? host;
    const url = `http://${shown.includes(":") ? `[${shown}]` : shown}:${port}/status`;
    const d = new Dashboard(scheduler, http, requested, port, url);
    handler = (req, res) => d.serve(req, res);
    http.on("upgrade", (req, socket, head) => {
      if (new URL(req.url ?? "/", "http://x").pathname !== "/ws" || d.closed) {
        socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
        return;
      }
      d.wss.handleUpgrade(req, socket, head, (ws) => d.addViewer(ws));
    });
    scheduler.addPlugin(d.model);
    scheduler.addPlugin({ close: () => d.close() });
    d.timer = setInterval(() => d.tick(), interval);
    d.timer.unref();
    return d;
  }

  /** Viewers connected now. */
  get viewerCount(): number {
    return this.viewers.size;
  }

  private addViewer(ws: WebSocket): void {
    const v: Viewer = { ws, cursor: Math.max(0, this.scheduler.taskStream.written - INITIAL_STREAM) };
    this.viewers.add(v);
    ws.on("close", () => this.viewers.delete(v));
    ws.on("error", () => this.viewers.delete(v));
    // Messages from viewers are ignored: the dashboard is read-only.
    this.model.tick(Date.now(), true);
    this.send(v);
  }

  private send(v: Viewer): void {
    if (v.ws.readyState !== v.ws.OPEN || v.ws.bufferedAmount > MAX_BUFFERED) return;
    const { update, cursor } = this.model.update(v.cursor);
    v.cursor = cursor;
    v.ws.send(JSON.stringify(update));
  }

  private tick(): void {
    this.model.tick();
    for (const v of this.viewers) this.send(v);
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD" }).end();
      return;
    }
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const body = (type: string, text: string): void => {
      res.writeHead(200, {
        "Content-Type": type,
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'",
      });
      res.end(req.method === "HEAD" ? undefined : text);
    };
    switch (path) {
      case "/":
        res.writeHead(302, { Location: "/status" }).end();
        return;
      case "/status":
        return body("text/html; charset=utf-8", DASHBOARD_HTML);
      case "/dashboard.css":
        return body("text/css; charset=utf-8", COMMON_CSS);
      case "/task-stream.js":
        return body("text/javascript; charset=utf-8", TASK_STREAM_JS);
      case "/dashboard.js":
        return body("text/javascript; charset=utf-8", DASHBOARD_JS);
      case "/uplot.min.js":
        return body("text/javascript; charset=utf-8", uplotAssets().js);
      case "/uplot.min.css":
        return body("text/css; charset=utf-8", uplotAssets().css);
      case "/favicon.ico":
        res.writeHead(204).end();
        return;
      case "/api/snapshot": {
        this.model.tick(Date.now(), true);
        const { update } = this.model.update(this.scheduler.taskStream.written, 0);
        return body("application/json", JSON.stringify(update));
      }
      default:
        res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.scheduler.removePlugin(this.model);
    for (const v of this.viewers) v.ws.terminate();
    this.viewers.clear();
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}

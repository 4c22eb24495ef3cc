/**
 * The dashboard's browser side, as strings (tsc does not copy .html files into dist/, and the
 * page must ship with the library). Plain ES5-style browser JavaScript: no backticks and no
 * `${` inside, so these template literals hold it verbatim.
 *
 * TASK_STREAM_JS is shared with performance reports: a uPlot chart whose draw hook paints one
 * rectangle per bar from typed arrays (a bounded ring), so 100,000 tasks never become DOM nodes.
 */

export const COMMON_CSS = `
:root { --fg: #1d2327; --muted: #646970; --line: #dcdcde; --bg: #f6f7f7; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 18px; align-items: baseline; padding: 10px 16px; background: #1d2327; color: #fff; }
header h1 { font-size: 16px; margin: 0; font-weight: 600; }
header .meta { color: #c3c4c7; }
main { padding: 12px 16px; display: grid; gap: 12px; grid-template-columns: 1fr 1fr; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; min-width: 0; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 13px; margin: 0 0 8px; font-weight: 600; }
h2 small { font-weight: 400; color: var(--muted); margin-left: 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #f0f0f1; white-space: nowrap; }
th { color: var(--muted); font-weight: 500; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin-top: 6px; color: var(--muted); }
.legend .sw { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
.tip { position: fixed; pointer-events: none; background: rgba(29,35,39,0.92); color: #fff; padding: 3px 7px; border-radius: 4px; font-size: 12px; display: none; z-index: 10; white-space: nowrap; }
.bar { position: relative; height: 14px; background: #f0f0f1; border-radius: 3px; overflow: hidden; display: flex; }
.bar span { display: block; height: 100%; }
.prog td.name { max-width: 220px; overflow: hidden; text-overflow: ellipsis; }
.sw { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
.prog td.barcell { width: 55%; }
.muted { color: var(--muted); }
.status-live { color: #68de7c; } .status-down { color: #f86368; }
`;

/** Defines `window.SkeinTaskStream(el, opts)`; needs uPlot loaded first. */
export const TASK_STREAM_JS = `
(function () {
  "use strict";
  // Category20 without its reds (reds mean transfers, as in dask's task stream).
  var PALETTE = ["#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#9467bd", "#c5b0d5",
    "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#bcbd22", "#dbdb8d", "#17becf", "#9edae5",
    "#393b79", "#637939", "#8c6d31"];
  var ACTION_COLORS = [null, "rgba(214,39,40,0.8)", "rgba(255,152,150,0.9)", "rgba(140,86,75,0.8)"];
  var ACTION_NAMES = ["compute", "transfer", "disk-read", "disk-write"];
  function fnColor(name) {
    var h = 0;
    for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) | 0;
    return PALETTE[(h >>> 0) % PALETTE.length];
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; });
  }
  function fmtMs(ms) {
    if (ms < 1) return (ms * 1000).toFixed(0) + " us";
    if (ms < 1000) return ms.toFixed(ms < 10 ? 2 : 1) + " ms";
    return (ms / 1000).toFixed(2) + " s";
  }

  function TaskStream(el, opts) {
    opts = opts || {};
    var cap = opts.cap || 20000;
    var start = new Float64Array(cap), stop = new Float64Array(cap);
    var fn = new Int32Array(cap), row = new Int32Array(cap), act = new Uint8Array(cap), err = new Uint8Array(cap);
    var keys = opts.withKeys ? new Array(cap) : null;
    var n = 0, head = 0, total = 0, dropped = 0;
    var fnNames = [], colors = [], rows = [];
    var zoomed = false;
    var legend = opts.legend || null, tip = opts.tooltip || null;

    function nrows() { return Math.max(rows.length, 1); }
    function yOf(r) { return nrows() - 1 - r; }
    function at(k) { return (head - n + k + cap) % cap; }
    function colorOf(i) {
      if (err[i]) return "#000";
      if (act[i]) return ACTION_COLORS[act[i]];
      var f = fn[i];
      if (colors[f] === undefined) colors[f] = fnColor(fnNames[f] || "?");
      return colors[f];
    }
    function drawBars(u) {
      var ctx = u.ctx, bb = u.bbox;
      var xl = u.scales.x.min, xr = u.scales.x.max;
      if (xl == null || xr == null) return;
      var h = Math.max(1, Math.abs(u.valToPos(0, "y", true) - u.valToPos(1, "y", true)) * 0.8);
      ctx.save();
      ctx.beginPath();
      ctx.rect(bb.left, bb.top, bb.width, bb.height);
      ctx.clip();
      for (var k = 0; k < n; k++) {
        var i = at(k);
        var s = start[i] / 1000, e = stop[i] / 1000;
        if (e < xl || s > xr) continue;
        var x0 = u.valToPos(s, "x", true), x1 = u.valToPos(e, "x", true);
        var y = u.valToPos(yOf(row[i]), "y", true);
        ctx.fillStyle = colorOf(i);
        ctx.fillRect(x0, y - h / 2, Math.max(1, x1 - x0), h);
      }
      ctx.restore();
    }
    function rowSplits() {
      var out = [], step = Math.max(1, Math.ceil(rows.length / 24));
      for (var r = 0; r < rows.length; r += step) out.push(yOf(r));
      return out;
    }
    function height() { return Math.min(opts.maxHeight || 520, Math.max(opts.minHeight || 180, rows.length * 16 + 50)); }
    function width() { return Math.max(300, el.clientWidth || 800); }
    var u = new uPlot({
      width: width(),
      height: height(),
      legend: { show: false },
      cursor: { drag: { x: true, y: false }, points: { show: false }, y: false },
      scales: { x: { time: true }, y: { auto: false, range: function () { return [-0.6, nrows() - 0.4]; } } },
      axes: [
        { grid: { stroke: "#f0f0f1" } },
        { size: 110, grid: { show: false }, splits: rowSplits, values: function (u, splits) {
            return splits.map(function (v) { return rows[nrows() - 1 - v] || ""; });
          } }
      ],
      series: [{}, { label: "bars", stroke: "transparent", points: { show: false } }],
      hooks: {
        draw: [drawBars],
        setSelect: [function (u) { if (u.select.width > 0) zoomed = true; }],
        setCursor: [function (u) { showTip(u); }]
      }
    }, [[0, 1], [null, null]], el);
    el.addEventListener("dblclick", function () { zoomed = false; refresh(); });
    el.addEventListener("mouseleave", function () { if (tip) tip.style.display = "none"; });
    window.addEventListener("resize", function () { u.setSize({ width: width(), height: height() }); });

    function showTip(u) {
      if (!tip) return;
      var left = u.cursor.left, top = u.cursor.top;
      if (left == null || left < 0 || n === 0) { tip.style.display = "none"; return; }
      var x = u.posToVal(left, "x") * 1000, r = nrows() - 1 - Math.round(u.posToVal(top, "y"));
      var slack = (u.posToVal(left + 2, "x") * 1000) - x;
      for (var k = n - 1; k >= 0; k--) {
        var i = at(k);
        if (row[i] === r && start[i] - slack <= x && x <= stop[i] + slack) {
          tip.innerHTML = "<b>" + esc(fnNames[fn[i]] || "?") + "</b> " + ACTION_NAMES[act[i]] + (err[i] ? " (failed)" : "") +
            " &middot; " + fmtMs(stop[i] - start[i]) + (keys ? "<br>" + esc(keys[i]) : "") + "<br>" + esc(rows[r] || "");
          var rect = el.getBoundingClientRect();
          tip.style.left = (rect.left + u.bbox.left / devicePixelRatio + left + 12) + "px";
          tip.style.top = (rect.top + u.bbox.top / devicePixelRatio + top + 12) + "px";
          tip.style.display = "block";
          return;
        }
      }
      tip.style.display = "none";
    }

    function refresh() {
      var lo = Infinity, hi = -Infinity;
      for (var k = 0; k < n; k++) {
        var i = at(k);
        if (start[i] < lo) lo = start[i];
        if (stop[i] > hi) hi = stop[i];
      }
      if (n === 0) { hi = Date.now(); lo = hi - 1000; }
      if (opts.range) { lo = Math.min(lo, opts.range[0]); hi = Math.max(hi, opts.range[1]); }
      if (hi - lo < 1) hi = lo + 1;
      var h = height();
      if (h !== u.height) u.setSize({ width: width(), height: h });
      u.batch(function () {
        u.setData([[lo / 1000, hi / 1000], [null, null]], false);
        // The row count may have changed: the y range is ours, not uPlot's.
        u.setScale("y", { min: -0.6, max: nrows() - 0.4 });
        if (!zoomed) u.setScale("x", { min: lo / 1000, max: hi / 1000 });
      });
      if (legend) renderLegend();
    }

    function counts() {
      var c = {};
      for (var k = 0; k < n; k++) {
        var i = at(k);
        if (act[i] !== 0) continue;
        var name = fnNames[fn[i]] || "?";
        c[name] = (c[name] || 0) + 1;
      }
      return c;
    }

    function renderLegend() {
      var c = counts(), names = Object.keys(c).sort(function (a, b) { return c[b] - c[a]; });
      var html = names.slice(0, 40).map(function (name) {
        return "<span class=\\"fn\\" data-fn=\\"" + esc(name) + "\\" data-count=\\"" + c[name] + "\\"><span class=\\"sw\\" style=\\"background:" +
          fnColor(name) + "\\"></span>" + esc(name) + " (" + c[name] + ")</span>";
      }).join("");
      html += "<span><span class=\\"sw\\" style=\\"background:" + ACTION_COLORS[1] + "\\"></span>transfer</span>";
      html += "<span><span class=\\"sw\\" style=\\"background:#000\\"></span>failed</span>";
      if (dropped > 0) html += "<span>" + dropped + " bars not shown (too many at once)</span>";
      legend.innerHTML = html;
    }

    /** Add bars: d = {fnNames, rows, start, stop, fn, row, action, erred, dropped, key?}. */
    this.append = function (d) {
      fnNames = d.fnNames;
      rows = d.rows;
      dropped += d.dropped || 0;
      var m = d.start.length;
      for (var j = 0; j < m; j++) {
        start[head] = d.start[j]; stop[head] = d.stop[j]; fn[head] = d.fn[j]; row[head] = d.row[j];
        act[head] = d.action[j]; err[head] = d.erred[j];
        if (keys) keys[head] = d.key ? d.key[j] : "";
        head = (head + 1) % cap;
        if (n < cap) n++;
      }
      total += m;
      refresh();
    };
    /** Forget every bar (a reconnected viewer gets the recent ones again). */
    this.reset = function () { n = 0; head = 0; total = 0; dropped = 0; refresh(); };
    this.counts = counts;
    this.size = function () { return n; };
    this.total = function () { return total; };
    this.plot = u;
  }
  window.SkeinTaskStream = TaskStream;
  window.skeinFnColor = fnColor;
  window.skeinEsc = esc;
  window.skeinFmtMs = fmtMs;
})();
`;

export const DASHBOARD_JS = `
(function () {
  "use strict";
  var esc = window.skeinEsc;
  var STATES = ["released", "waiting", "no-worker", "queued", "processing", "memory", "erred", "forgotten"];
  var SERIES = [
    { key: "waiting", label: "waiting", color: "#8c8f94", of: function (s) { return s["waiting"] + s["queued"] + s["no-worker"]; } },
    { key: "processing", label: "processing", color: "#2ca02c", of: function (s) { return s["processing"]; } },
    { key: "memory", label: "in memory", color: "#1f77b4", of: function (s) { return s["memory"]; } },
    { key: "erred", label: "erred", color: "#000000", of: function (s) { return s["erred"]; } }
  ];
  var HISTORY = 600;
  var PROGRESS_COLORS = { done: "#1f77b4", memory: "#6baed6", erred: "#000000", processing: "#2ca02c", waiting: "#dcdcde" };

  function fmtBytes(b) {
    if (!(b > 0)) return "0 B";
    var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
    return b.toFixed(b < 10 && i > 0 ? 1 : 0) + " " + u[i];
  }

  var stream = new window.SkeinTaskStream(document.getElementById("stream"), {
    legend: document.getElementById("stream-legend"),
    tooltip: document.getElementById("tip"),
    cap: 20000
  });

  var hist = [[]];
  for (var s = 0; s < SERIES.length; s++) hist.push([]);
  var statesEl = document.getElementById("states-chart");
  var statesPlot = new uPlot({
    width: Math.max(300, statesEl.clientWidth || 500),
    height: 200,
    cursor: { points: { show: false } },
    scales: { x: { time: true } },
    series: [{}].concat(SERIES.map(function (x) { return { label: x.label, stroke: x.color, width: 1.5 }; })),
    axes: [{}, { size: 60 }]
  }, hist, statesEl);
  window.addEventListener("resize", function () { statesPlot.setSize({ width: Math.max(300, statesEl.clientWidth), height: 200 }); });

  function renderStates(states, time) {
    hist[0].push(time / 1000);
    for (var s = 0; s < SERIES.length; s++) hist[s + 1].push(SERIES[s].of(states));
    if (hist[0].length > HISTORY) for (var j = 0; j < hist.length; j++) hist[j].shift();
    statesPlot.setData(hist);
    var cells = STATES.map(function (st) {
      return "<td class=\\"num\\" data-state=\\"" + st + "\\">" + states[st] + "</td>";
    }).join("");
    document.getElementById("states").innerHTML =
      "<tr>" + STATES.map(function (st) { return "<th class=\\"num\\">" + st + "</th>"; }).join("") + "</tr><tr>" + cells + "</tr>";
  }

  function renderProgress(list) {
    var parts = ["done", "memory", "erred", "processing", "waiting"];
    var html = "<tr><th>function</th><th class=\\"barcell\\"></th><th class=\\"num\\">done</th><th class=\\"num\\">in memory</th>" +
      "<th class=\\"num\\">erred</th><th class=\\"num\\">processing</th><th class=\\"num\\">waiting</th><th class=\\"num\\">total</th></tr>";
    for (var i = 0; i < list.length; i++) {
      var p = list[i];
      var bar = parts.map(function (k) {
        return p[k] > 0 ? "<span style=\\"width:" + (100 * p[k] / p.total).toFixed(2) + "%;background:" + PROGRESS_COLORS[k] + "\\"></span>" : "";
      }).join("");
      html += "<tr data-fn=\\"" + esc(p.name) + "\\" data-total=\\"" + p.total + "\\" data-done=\\"" + p.done + "\\" data-memory=\\"" + p.memory +
        "\\" data-erred=\\"" + p.erred + "\\" data-processing=\\"" + p.processing + "\\" data-waiting=\\"" + p.waiting + "\\">" +
        "<td class=\\"name\\"><span class=\\"sw\\" style=\\"background:" + window.skeinFnColor(p.name) + "\\"></span>" +
        esc(p.name) + "</td><td class=\\"barcell\\"><div class=\\"bar\\">" + bar + "</div></td>" +
        "<td class=\\"num\\">" + p.done + "</td><td class=\\"num\\">" + p.memory + "</td><td class=\\"num\\">" + p.erred +
        "</td><td class=\\"num\\">" + p.processing + "</td><td class=\\"num\\">" + p.waiting + "</td><td class=\\"num\\">" + p.total + "</td></tr>";
    }
    if (list.length === 0) html += "<tr><td colspan=\\"8\\" class=\\"muted\\">no tasks yet</td></tr>";
    document.getElementById("progress").innerHTML = html;
  }

  function memBar(w) {
    var limit = w.memoryLimit > 0 ? w.memoryLimit : Math.max(w.rss, w.managed + w.spilled, 1);
    var managed = Math.min(w.managed, limit), unmanaged = Math.max(0, Math.min(w.rss, limit) - managed);
    var color = w.paused ? "#d63638" : (w.rss > 0.8 * limit && w.memoryLimit > 0 ? "#dba617" : "#1f77b4");
    return "<div class=\\"bar\\" title=\\"managed " + fmtBytes(w.managed) + ", unmanaged " + fmtBytes(unmanaged) + ", spilled " + fmtBytes(w.spilled) + "\\">" +
      "<span style=\\"width:" + (100 * managed / limit).toFixed(2) + "%;background:" + color + "\\"></span>" +
      "<span style=\\"width:" + (100 * unmanaged / limit).toFixed(2) + "%;background:" + color + ";opacity:0.4\\"></span></div>";
  }

  function renderWorkers(ws) {
    var html = "<tr><th>worker</th><th class=\\"num\\">threads</th><th class=\\"num\\">running</th><th class=\\"num\\">assigned</th>" +
      "<th class=\\"num\\">CPU</th><th style=\\"width:24%\\">memory (managed | process) / limit</th><th class=\\"num\\">managed</th>" +
      "<th class=\\"num\\">spilled</th><th class=\\"num\\">process</th><th class=\\"num\\">limit</th><th class=\\"num\\">results</th>" +
      "<th class=\\"num\\" title=\\"results copied from other workers\\">copied in</th><th>status</th></tr>";
    for (var i = 0; i < ws.length; i++) {
      var w = ws[i];
      html += "<tr data-worker=\\"" + esc(w.address) + "\\"><td title=\\"" + esc(w.address) + "\\">" + esc(w.name) + "</td><td class=\\"num\\">" + w.nthreads +
        "</td><td class=\\"num\\">" + w.executing + "</td><td class=\\"num\\">" + w.processing + "</td><td class=\\"num\\">" +
        (w.cpu == null ? "<span class=\\"muted\\">n/a</span>" : w.cpu.toFixed(0) + "%") + "</td><td>" + memBar(w) + "</td><td class=\\"num\\">" +
        fmtBytes(w.managed) + "</td><td class=\\"num\\">" + fmtBytes(w.spilled) + "</td><td class=\\"num\\">" + fmtBytes(w.rss) + "</td><td class=\\"num\\">" +
        (w.memoryLimit > 0 ? fmtBytes(w.memoryLimit) : "none") + "</td><td class=\\"num\\">" + w.nkeys + "</td><td class=\\"num\\">" +
        w.received + " \\u00b7 " + fmtBytes(w.receivedBytes) + "</td><td>" + (w.paused ? "paused" : "running") + "</td></tr>";
    }
    if (ws.length === 0) html += "<tr><td colspan=\\"13\\" class=\\"muted\\">no workers</td></tr>";
    document.getElementById("workers").innerHTML = html;
  }

  // applyMs: how long the last update took to draw (the page stays responsive while it is small).
  var state = { updates: 0, last: null, stream: stream, connected: false, applyMs: 0, maxApplyMs: 0 };
  window.skeinDashboard = state;

  function apply(u) {
    var t0 = performance.now();
    stream.append(u.stream);
    renderProgress(u.progress);
    renderWorkers(u.workers);
    renderStates(u.states, u.time);
    var threads = 0;
    for (var i = 0; i < u.workers.length; i++) threads += u.workers[i].nthreads;
    document.getElementById("summary").textContent = u.scheduler + " \\u00b7 " + u.workers.length + " workers \\u00b7 " + threads +
      " threads \\u00b7 " + (u.states.processing) + " processing \\u00b7 " + u.states.memory + " in memory";
    document.getElementById("stream-count").textContent = stream.size() + " bars shown";
    state.updates++;
    state.last = u;
    state.applyMs = performance.now() - t0;
    if (state.applyMs > state.maxApplyMs) state.maxApplyMs = state.applyMs;
  }

  function connect() {
    var status = document.getElementById("status");
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
    ws.onopen = function () {
      // The server starts every connection with its recent bars: drop ours so none is drawn twice.
      stream.reset();
      state.connected = true;
      status.textContent = "live";
      status.className = "status-live";
    };
    ws.onmessage = function (ev) {
      var u = JSON.parse(ev.data);
      if (u.type === "update") apply(u);
    };
    ws.onclose = function () {
      state.connected = false;
      status.textContent = "disconnected, retrying";
      status.className = "status-down";
      setTimeout(connect, 2000);
    };
  }
  connect();
})();
`;

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>skein dashboard</title>
<link rel="stylesheet" href="uplot.min.css">
<link rel="stylesheet" href="dashboard.css">
</head>
<body>
<header><h1>skein dashboard</h1><span class="meta" id="summary">connecting</span><span id="status" class="status-down">connecting</span></header>
<main>
<section class="wide"><h2>Task stream <small id="stream-count"></small><small>one row per worker thread; drag to zoom, double-click to follow</small></h2>
<div id="stream"></div><div class="legend" id="stream-legend"></div></section>
<section><h2>Progress <small>per function</small></h2><table class="prog" id="progress"></table></section>
<section><h2>Graph <small>tasks by state</small></h2><table id="states"></table><div id="states-chart"></div></section>
<section class="wide"><h2>Workers</h2><table id="workers"></table></section>
</main>
<div class="tip" id="tip"></div>
<script src="uplot.min.js"></script>
<script src="task-stream.js"></script>
<script src="dashboard.js"></script>
</body>
</html>
`;

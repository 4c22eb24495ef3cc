import { describe, expect, it } from "vitest";
import { caseLine, emit, formatLine, median, ratioOf, sig, timeit } from "../bench/lib/report.js";
import { anchorRows, field, isSkipped, num, parseAnchorStdout, readRecorded, record, str } from "../bench/lib/anchor.js";
import { intOption, numberOption, parseArgs, scaled } from "../bench/lib/args.js";
import { BENCHMARKS, listText, planRuns } from "../bench/lib/registry.js";
import { caseNames, matchAnchorRow, parseSchedulerArgs, schedulerSizes } from "../bench/lib/scheduler-plan.js";

// A bench_scheduler.py --json run at --scale 0.2 as it prints it (progress lines, then the JSON line).
const CANNED_STDOUT = [
  "True map_gather 2000 3.017751080000039 3.017751080000039",
  "True roundtrip 10.594264974999987 10.594264974999987",
  "wrote /tmp/skein-anchors-out-x972iqf9/bench_scheduler_processes_True_scale0.2.json",
  JSON.stringify({
    script: "bench_scheduler",
    mode: "processes",
    processes: true,
    repeat: 1,
    scale: 0.2,
    quick: false,
    cluster_startup_s: 0.777756936000003,
    result_file: "/tmp/skein-anchors-out-x972iqf9/bench_scheduler_processes_True_scale0.2.json",
    results: {
      map_gather_2000: { tasks: 2000, median_s: 3.017751080000039, min_s: 3.017751080000039, tasks_per_s_median: 662.7451857294917, tasks_per_s_best: 662.7451857294917 },
      map_gather_10000: { tasks: 10000, median_s: 16.319282971000007, min_s: 16.319282971000007, tasks_per_s_median: 612.7720205459017, tasks_per_s_best: 612.7720205459017 },
      submit_result_roundtrip_200: { round_trips: 200, median_s: 2.1188529949999975, min_s: 2.1188529949999975, ms_per_roundtrip_median: 10.594264974999987, ms_per_roundtrip_best: 10.594264974999987 },
      delayed_tree_reduce_2000: { tasks: 3999, median_s: 6.653181238000002, min_s: 6.653181238000002, tasks_per_s_median: 601.0658445856693, tasks_per_s_best: 601.0658445856693 },
      as_completed_2000_plus_1000: { tasks: 3000, median_s: 5.517288021000013, min_s: 5.517288021000013, tasks_per_s_median: 543.7454032817101, tasks_per_s_best: 543.7454032817101 },
    },
  }),
  "",
].join("\n");

describe("median", () => {
  it("takes the middle value, or the mean of the two middle values", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it("does not reorder its input", () => {
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });

  it("refuses an empty list", () => {
    expect(() => median([])).toThrow("skein bench: median of an empty list");
  });
});

describe("ratioOf", () => {
  it("is ours/anchor for throughputs and anchor/ours for durations", () => {
    expect(ratioOf(30_000, 600, "higher")).toBe(50);
    expect(ratioOf(0.25, 10, "lower")).toBe(40);
  });

  it("is null when a figure is missing, zero or not finite", () => {
    expect(ratioOf(100, null, "higher")).toBeNull();
    expect(ratioOf(100, undefined, "lower")).toBeNull();
    expect(ratioOf(0, 10, "lower")).toBeNull();
    expect(ratioOf(100, Number.NaN, "higher")).toBeNull();
    expect(ratioOf(Number.POSITIVE_INFINITY, 1, "higher")).toBeNull();
  });
});

describe("emit", () => {
  it("prints one JSON line with fixed leading fields, the ratio, the target check and the extras", () => {
    const out: string[] = [];
    const line = emit(
      {
        bench: "scheduler",
        case: "map_gather_10000",
        ours: 31_234.5678,
        anchor: 612.7720205459017,
        unit: "tasks/s",
        better: "higher",
        target: 50,
        tasks: 10_000,
        ours_samples_s: [0.320123456, 0.33],
      },
      (s) => out.push(s),
    );
    expect(out).toEqual([line + "\n"]);
    expect(line).toBe(
      '{"bench":"scheduler","case":"map_gather_10000","unit":"tasks/s","better":"higher","ours":31230,"anchor":612.8,' +
        '"ratio":50.97,"target":50,"meets_target":true,"anchor_source":"measured","tasks":10000,"ours_samples_s":[0.3201,0.33]}',
    );
  });

  it("keeps integers exact and rounds the rest", () => {
    const line = formatLine({ bench: "b", case: "c", ours: 707.8123, anchor: null, unit: "B", better: "lower", tasks: 99_999, heap_bytes: 41_234_567 });
    expect(JSON.parse(line)).toMatchObject({ ours: 707.8, tasks: 99_999, heap_bytes: 41_234_567 });
  });

  it("computes round-trip ratios as anchor ms over our ms and reports a missed target", () => {
    const l = caseLine({ bench: "scheduler", case: "submit_result_roundtrip_1000", ours: 0.5, anchor: 10, unit: "ms/roundtrip", better: "lower", target: 40 });
    expect(l.ratio).toBe(20);
    expect(l.meets_target).toBe(false);
  });

  it("says the anchor is missing when it is", () => {
    const line = formatLine({
      bench: "scheduler",
      case: "cluster_startup",
      ours: 0.4,
      anchor: null,
      unit: "s",
      better: "lower",
      anchor_skipped: "not requested (--no-anchor)",
    });
    expect(JSON.parse(line)).toEqual({
      bench: "scheduler",
      case: "cluster_startup",
      unit: "s",
      better: "lower",
      ours: 0.4,
      anchor: null,
      ratio: null,
      target: null,
      meets_target: null,
      anchor_source: "none",
      anchor_skipped: "not requested (--no-anchor)",
    });
  });

  it("keeps a recorded anchor marked as recorded", () => {
    const l = caseLine({ bench: "b", case: "c", ours: 2, anchor: 1, unit: "x/s", better: "higher", anchor_source: "recorded" });
    expect(l.anchor_source).toBe("recorded");
    expect(l.ratio).toBe(2);
  });
});

describe("sig", () => {
  it("rounds to significant digits and leaves 0 and non-finite values alone", () => {
    expect(sig(123_456.789)).toBe(123_500);
    expect(sig(0.000123456, 3)).toBe(0.000123);
    expect(sig(0)).toBe(0);
    expect(Number.isNaN(sig(Number.NaN))).toBe(true);
  });
});

describe("timeit", () => {
  it("runs fn repeat times with the before/after hooks around each run and returns seconds", async () => {
    const calls: string[] = [];
    const t = await timeit(() => void calls.push("run"), 3, {
      before: () => void calls.push("before"),
      after: () => void calls.push("after"),
    });
    expect(calls).toEqual(["before", "run", "after", "before", "run", "after", "before", "run", "after"]);
    expect(t.samples).toHaveLength(3);
    expect(t.median).toBe(median(t.samples));
    expect(t.min).toBe(Math.min(...t.samples));
    expect(t.samples.every((s) => s >= 0 && s < 1)).toBe(true);
  });

  it("refuses a repeat that is not a positive integer", async () => {
    await expect(timeit(() => 0, 0)).rejects.toThrow("skein bench: repeat must be a positive integer, got 0");
  });
});

describe("parseAnchorStdout and the accessors", () => {
  it("parses the last non-empty stdout line", () => {
    const data = parseAnchorStdout(CANNED_STDOUT);
    expect(str(data, "script")).toBe("bench_scheduler");
    expect(num(data, "scale")).toBe(0.2);
    expect(num(data, "results", "submit_result_roundtrip_200", "ms_per_roundtrip_median")).toBe(10.594264974999987);
    expect(num(data, "results", "nope", "median_s")).toBeNull();
    expect(str(data, "scale")).toBeNull();
    expect(record(data, "results", "map_gather_2000")).toEqual({
      tasks: 2000,
      median_s: 3.017751080000039,
      min_s: 3.017751080000039,
      tasks_per_s_median: 662.7451857294917,
      tasks_per_s_best: 662.7451857294917,
    });
    expect(field(data, "results", "map_gather_2000", "tasks", "deeper")).toBeUndefined();
    expect(Object.keys(anchorRows(data))).toEqual([
      "map_gather_2000",
      "map_gather_10000",
      "submit_result_roundtrip_200",
      "delayed_tree_reduce_2000",
      "as_completed_2000_plus_1000",
    ]);
  });

  it("names the offending line when the last line is not a JSON object", () => {
    expect(() => parseAnchorStdout("progress\nTraceback (most recent call last)\n")).toThrow(
      `skein bench: anchor's last stdout line is not JSON: "Traceback (most recent call last)"`,
    );
    expect(() => parseAnchorStdout("[1, 2]\n")).toThrow(`skein bench: anchor's last stdout line is not a JSON object: "[1, 2]"`);
    expect(() => parseAnchorStdout("\n\n")).toThrow("skein bench: anchor printed nothing on stdout");
  });

  it("leaves scalar entries of a recorded file's results out of the rows", () => {
    const rows = anchorRows({ results: { cluster_startup_s: 1.4, loadavg_before: "3.16", map_gather_10000: { median_s: 20 } } });
    expect(rows).toEqual({ map_gather_10000: { median_s: 20 } });
  });

  it("reports a missing recorded file as skipped instead of throwing", () => {
    const r = readRecorded("no-such-file.json", "/nonexistent/anchors");
    expect(isSkipped(r)).toBe(true);
    expect(r).toEqual({ skipped: "recorded anchor /nonexistent/anchors/results/no-such-file.json not found" });
  });
});

describe("parseArgs", () => {
  const spec = { flags: ["quick"], values: ["scale", "repeat"] };

  it("reads flags, --name value, --name=value and positionals", () => {
    const a = parseArgs(["processes", "--quick", "--scale", "0.5", "--repeat=2"], spec);
    expect([...a.flags]).toEqual(["quick"]);
    expect(Object.fromEntries(a.values)).toEqual({ scale: "0.5", repeat: "2" });
    expect(a.positional).toEqual(["processes"]);
    expect(numberOption(a, "scale", 1)).toBe(0.5);
    expect(intOption(a, "repeat", 3)).toBe(2);
  });

  it("names unknown options, missing values and bad numbers", () => {
    expect(() => parseArgs(["--sclae", "2"], spec)).toThrow('skein bench: unknown option "--sclae" (known: --quick, --scale, --repeat)');
    expect(() => parseArgs(["--scale"], spec)).toThrow("skein bench: option --scale needs a value");
    expect(() => parseArgs(["--quick=1"], spec)).toThrow('skein bench: option --quick takes no value, got "--quick=1"');
    expect(() => numberOption(parseArgs(["--scale", "abc"], spec), "scale", 1)).toThrow('skein bench: --scale must be a positive number, got "abc"');
    expect(() => intOption(parseArgs(["--repeat", "1.5"], spec), "repeat", 3)).toThrow('skein bench: --repeat must be a positive integer, got "1.5"');
  });
});

describe("scaled", () => {
  it("matches Python's max(2, int(round(n * scale))), half to even", () => {
    expect(scaled(10_000, 1)).toBe(10_000);
    expect(scaled(10_000, 0.2)).toBe(2000);
    expect(scaled(1000, 0.1)).toBe(100);
    expect(scaled(5, 0.5)).toBe(2); // round(2.5) == 2 in Python
    expect(scaled(7, 0.5)).toBe(4); // round(3.5) == 4
    expect(scaled(10, 0.01)).toBe(2);
  });
});

describe("bench registry", () => {
  it("runs every benchmark with shared options, or one by name with its own", () => {
    const all = planRuns(["--quick"]);
    expect(all).toEqual({ kind: "run", runs: BENCHMARKS.map((entry) => ({ entry, args: ["--quick"] })) });
    const one = planRuns(["scheduler", "--repeat", "5"]);
    expect(one.kind === "run" && one.runs.map((r) => [r.entry.name, r.args])).toEqual([["scheduler", ["--repeat", "5"]]]);
    expect(planRuns(["--list"])).toEqual({ kind: "list" });
    expect(planRuns([]).kind).toBe("run");
  });

  it("names the known benchmarks for an unknown one", () => {
    const known = BENCHMARKS.map((e) => e.name).join(", ");
    expect(known.startsWith("scheduler")).toBe(true);
    expect(() => planRuns(["shceduler"])).toThrow(`skein bench: unknown benchmark "shceduler" (known: ${known})`);
  });

  it("lists every benchmark with its file", () => {
    expect(listText()).toContain("  scheduler    bench/scheduler.ts: ");
  });
});

describe("scheduler plan", () => {
  it("uses the anchor script's sizes and row names", () => {
    const s = schedulerSizes(0.2);
    const names = [
      ...s.mapGather.map(caseNames.mapGather),
      caseNames.roundTrip(s.roundTrips),
      caseNames.tree(s.treeLeaves),
      caseNames.asCompleted(s.asCompletedInitial, s.asCompletedExtra),
    ];
    expect(names).toEqual(Object.keys(anchorRows(parseAnchorStdout(CANNED_STDOUT))));
    const full = schedulerSizes(1);
    expect(2 * full.treeLeaves - 1).toBe(19_999);
    expect(2 * full.millionLeaves - 1).toBe(999_999);
  });

  it("parses options with --quick defaults that explicit values override", () => {
    expect(parseSchedulerArgs([])).toEqual({ quick: false, scale: 1, repeat: 3, anchor: "measured", million: true });
    expect(parseSchedulerArgs(["--quick"])).toEqual({ quick: true, scale: 0.1, repeat: 1, anchor: "measured", million: true });
    expect(parseSchedulerArgs(["--quick", "--repeat", "2", "--anchor-recorded", "--no-million"])).toEqual({
      quick: true,
      scale: 0.1,
      repeat: 2,
      anchor: "recorded",
      million: false,
    });
    expect(parseSchedulerArgs(["--no-anchor"]).anchor).toBe("none");
    expect(() => parseSchedulerArgs(["--no-anchor", "--anchor-recorded"])).toThrow(
      "skein bench scheduler: --no-anchor and --anchor-recorded exclude each other",
    );
  });

  it("matches anchor rows by name, or by kind and order for recorded figures of another scale", () => {
    const data = parseAnchorStdout(CANNED_STDOUT);
    expect(matchAnchorRow(data, "map_gather", "map_gather_10000", 1)).toEqual({
      name: "map_gather_10000",
      figure: 612.7720205459017,
      medianS: 16.319282971000007,
    });
    expect(matchAnchorRow(data, "submit_result_roundtrip", "submit_result_roundtrip_200")?.figure).toBe(10.594264974999987);
    expect(matchAnchorRow(data, "map_gather", "map_gather_50000", 1)).toEqual({
      name: "map_gather_10000",
      figure: 612.7720205459017,
      medianS: 16.319282971000007,
      note: "anchor row map_gather_10000 has a different size than map_gather_50000; the rate is compared as is",
    });
    expect(matchAnchorRow(data, "as_completed", "as_completed_10000_plus_5000")?.name).toBe("as_completed_2000_plus_1000");
    expect(matchAnchorRow({ results: {} }, "as_completed", "as_completed_10000_plus_5000")).toBeNull();
  });
});

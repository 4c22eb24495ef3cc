import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { mpiPlace } from "../src/cli/mpi.js";
import { CLI_MAIN, killAll, skein, spawnProc } from "./cli-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "skein-mpi-test-"));
afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

const SCRIPT = "test/fixtures/mpi-script.ts";

/** `mpirun -n 4 node --import tsx src/cli/main.ts mpi ...` as a container allows it (root, no shared-memory CMA). */
function mpirun(args: readonly string[]) {
  return spawnProc(
    "mpirun",
    ["--oversubscribe", "--allow-run-as-root", "-n", "4", "--mca", "btl", "self,tcp", process.execPath, "--import", "tsx", CLI_MAIN, "mpi", "--log-level", "warn", ...args],
    { OMPI_MCA_btl_vader_single_copy_mechanism: "none", SKEIN_LOG_LEVEL: undefined, SKEIN_LOG_FORMAT: undefined },
  );
}

describe("mpiPlace", () => {
  it("reads rank, size and job from Open MPI, PMI and Slurm variables", () => {
    expect(mpiPlace({ OMPI_COMM_WORLD_RANK: "2", OMPI_COMM_WORLD_SIZE: "4", OMPI_COMM_WORLD_LOCAL_SIZE: "4", PMIX_NAMESPACE: "prterun-h-1@1" })).toEqual({
      rank: 2,
      size: 4,
      localSize: 4,
      jobId: "prterun-h-1@1",
    });
    expect(mpiPlace({ PMI_RANK: "0", PMI_SIZE: "3" })).toEqual({ rank: 0, size: 3, localSize: 1, jobId: undefined });
    expect(mpiPlace({ SLURM_PROCID: "5", SLURM_NTASKS: "8", SLURM_NTASKS_PER_NODE: "4", SLURM_JOB_ID: "991", SLURM_STEP_ID: "2" })).toEqual({
      rank: 5,
      size: 8,
      localSize: 4,
      jobId: "991.2",
    });
  });

  it("fails clearly outside a launcher, with too few ranks, or bad values", () => {
    expect(() => mpiPlace({})).toThrow(
      "skein mpi: no MPI or Slurm rank/size in the environment (looked for OMPI_COMM_WORLD_RANK, PMI_RANK, PMIX_RANK, SLURM_PROCID, MV2_COMM_WORLD_RANK " +
        "and OMPI_COMM_WORLD_SIZE, PMI_SIZE, SLURM_NTASKS, SLURM_NPROCS, MV2_COMM_WORLD_SIZE); start it with mpirun -n N or srun -n N",
    );
    expect(() => mpiPlace({ PMI_RANK: "0", PMI_SIZE: "2" })).toThrow("skein mpi: needs at least 3 ranks (scheduler, script, one worker), got PMI_SIZE=2");
    expect(() => mpiPlace({ PMI_RANK: "x", PMI_SIZE: "4" })).toThrow('skein mpi: PMI_RANK must be a non-negative integer, got "x"');
    expect(() => mpiPlace({ SLURM_PROCID: "4", SLURM_NTASKS: "4" })).toThrow("skein mpi: rank 4 (SLURM_PROCID) is not below the size 4 (SLURM_NTASKS)");
  });

  it("exits 1 with that message when started without mpirun", async () => {
    const p = skein(["mpi", SCRIPT], { OMPI_COMM_WORLD_RANK: undefined, PMI_RANK: undefined, PMIX_RANK: undefined, SLURM_PROCID: undefined });
    expect(await p.exited()).toBe(1);
    expect(p.stderr).toMatch(/^skein mpi: no MPI or Slurm rank\/size in the environment /);
  });
});

describe("skein mpi under mpirun -n 4", () => {
  it("runs the script on rank 1 against the scheduler on rank 0 and workers on ranks 2-3, then every rank exits 0", async () => {
    const p = mpirun([SCRIPT, "a", "--b"]);
    expect(await p.exited(60_000)).toBe(0);
    const out = JSON.parse(p.stdout.trim()) as { workers: string[]; total: number; ranOn: string[]; args: string[] };
    expect(out).toEqual({ workers: ["rank-2", "rank-3"], total: 5, ranOn: ["rank-2", "rank-3"], args: ["a", "--b"] });
  });

  it("exits with the script's failure, and the scheduler file is gone", async () => {
    const file = join(dir, "sched.json");
    const p = mpirun(["--scheduler-file", file, "--no-dashboard", SCRIPT, "--fail"]);
    expect(await p.exited(60_000)).toBe(1);
    expect(JSON.parse(p.stdout.trim()).total).toBe(5);
    expect(p.stderr).toContain("Error: the script failed on purpose");
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${file}.exit`)).toBe(false);
  });
});

describe("skein mpi under Slurm's variables (srun sets them; here three processes play the ranks)", () => {
  it("rank 1 exits with the script's own code, the other ranks with 0", async () => {
    const slurm = (rank: number) =>
      spawnProc(process.execPath, ["--import", "tsx", CLI_MAIN, "mpi", "--no-dashboard", "--log-level", "warn", SCRIPT, "--exit-3"], {
        SLURM_PROCID: String(rank),
        SLURM_NTASKS: "3",
        SLURM_JOB_ID: `t${process.pid}`,
        SLURM_STEP_ID: "0",
        SKEIN_LOG_LEVEL: undefined,
        SKEIN_LOG_FORMAT: undefined,
      });
    const ranks = [slurm(0), slurm(1), slurm(2)];
    expect(await Promise.all(ranks.map((r) => r.exited(60_000)))).toEqual([0, 3, 0]);
    expect(JSON.parse(ranks[1].stdout.trim())).toEqual({ workers: ["rank-2"], total: 5, ranOn: ["rank-2"], args: ["--exit-3"] });
    expect(existsSync(join(tmpdir(), `skein-mpi-t${process.pid}.0.json`))).toBe(false);
  });
});

"""Anchor for bench/multinode: the workloads of shared/anchors' bench_scheduler.py, unchanged,
on a cluster of separate processes: `dask scheduler` + 2 x `dask worker --nthreads 1`, started
here and reached through a scheduler file (instead of bench_scheduler's LocalCluster).

usage: /usr/bin/python3 dask_multinode.py [REPEAT] [--scale S] [--quick] [--json]
env:   SHARED_ANCHORS  the shared anchors folder (holds python/bench_scheduler.py)

Prints what bench_scheduler.py prints; its --json line carries "cluster": "dask scheduler + 2 dask worker".
"""
import os
import runpy
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
import distributed  # noqa: E402

SHARED = os.environ.get("SHARED_ANCHORS") or os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "shared", "anchors")
SCRIPT = os.path.join(SHARED, "python", "bench_scheduler.py")
DASK = [sys.executable, "-m", "distributed.cli"]


class ProcessCluster:
    """What bench_scheduler needs of a LocalCluster (scheduler_address, close), as real processes."""

    def __init__(self, n_workers=2, threads_per_worker=1, **_ignored):
        self.dir = tempfile.mkdtemp(prefix="skein-dask-multinode-")
        sched_file = os.path.join(self.dir, "scheduler.json")
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.procs = [subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
             "--no-dashboard", "--scheduler-file", sched_file], **quiet)]
        deadline = time.time() + 60
        while not os.path.exists(sched_file):
            if time.time() > deadline:
                raise RuntimeError("dask scheduler did not write its scheduler file within 60 s")
            time.sleep(0.05)
        for _ in range(n_workers):
            self.procs.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", sched_file,
                 "--nthreads", str(threads_per_worker), "--nworkers", "1", "--no-dashboard",
                 "--host", "127.0.0.1", "--local-directory", self.dir], **quiet))
        import json
        with open(sched_file) as f:
            self.scheduler_address = json.load(f)["address"]

    def close(self):
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_Client = distributed.Client


def client_for(cluster, **kw):
    """bench_scheduler calls Client(cluster): connect to the external scheduler instead."""
    client = _Client(cluster.scheduler_address, **kw)
    client.wait_for_workers(2)
    return client


if __name__ == "__main__":
    distributed.LocalCluster = ProcessCluster
    distributed.Client = client_for
    sys.argv = [SCRIPT, "processes", *sys.argv[1:]]
    sys.path.insert(0, os.path.dirname(SCRIPT))
    runpy.run_path(SCRIPT, run_name="__main__")

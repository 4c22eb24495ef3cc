/**
 * Asynchronous consensus ADMM (after Rocklin, "Asynchronous Optimization Algorithms with Dask",
 * and Zhang & Kwok, "Asynchronous Distributed ADMM for Consensus Optimization", ICML 2014):
 * every partition runs its own loop of local solves, and the consensus z is updated each time
 * one finishes, from the newest x_i of every partition (the others' may be a little stale), after
 * which that partition is resubmitted at once with the new z. A slow partition delays only itself;
 * the synchronous driver (admm.ts) waits for the slowest local solve every round.
 *
 * The finished partition's dual is updated against the z its solve was given, not the new one:
 *   u_i <- u_i + x_i - z_seen(i),   then   z <- prox_R(mean_j(x_j + u_j)).
 * Updating it against the new z (the synchronous order) is unstable once iterates are stale:
 * along directions the loss does not determine (the multinomial gauge, a constant column next
 * to the intercept, p > n) the duals then grow geometrically. Over-relaxation and residual
 * balancing are off by default for the same reason (both assume every x_i is fresh).
 *
 * One "epoch" is N completions. At each epoch boundary the residuals are checked against the z
 * of the previous boundary (Boyd's stopping rule) and, at the configured epochs, the metric is
 * refreshed; `maxIter` counts epochs. Local solves still running when it stops are awaited and
 * dropped, so no task outlives the solver; the first failed local solve fails the solver.
 */
import { AdmmState } from "./admm-state.js";
import type { AdmmOptions } from "./admm-state.js";
import type { PartitionedProblem, SolverResult } from "./types.js";

interface Completion {
  readonly i: number;
  readonly x?: Float64Array;
  readonly error?: unknown;
}

/** Local solves in completion order: each settles into one queue, one waiter at a time. */
class CompletionQueue {
  private readonly done: Completion[] = [];
  private wake: (() => void) | null = null;
  private readonly running = new Set<Promise<void>>();

  add(i: number, solve: Promise<Float64Array>): void {
    const settled = solve.then(
      (x) => this.push({ i, x }),
      (error: unknown) => this.push({ i, error }),
    );
    this.running.add(settled);
    void settled.then(() => this.running.delete(settled));
  }

  async next(): Promise<Completion> {
    while (this.done.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    return this.done.shift()!;
  }

  /** Waits for every solve still running. */
  async drain(): Promise<void> {
    await Promise.all([...this.running]);
  }

  private push(c: Completion): void {
    this.done.push(c);
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

export async function admmAsync(problem: PartitionedProblem, options: AdmmOptions = {}): Promise<SolverResult> {
  const st = await AdmmState.create(problem, { alpha: 1, adaptiveRho: false, ...options }, "admmAsync");
  const { N } = st;
  const localProx = problem.localProx!.bind(problem);
  const zSeen: Float64Array[] = new Array<Float64Array>(N);
  const queue = new CompletionQueue();
  const submit = (i: number): void => {
    zSeen[i] = st.z;
    queue.add(i, localProx(i, st.localArgs(i)));
  };
  let epochStartZ = st.z;
  let completions = 0;
  let epoch = 0;
  let converged = false;
  try {
    for (let i = 0; i < N; i++) submit(i);
    while (epoch < st.maxIter) {
      const { i, x, error } = await queue.next();
      if (x === undefined) throw error;
      st.acceptLocal(i, x, zSeen[i]);
      st.dualUpdate(i, zSeen[i]);
      st.zUpdate(st.consensusTarget());
      if (++completions % N === 0) {
        epoch++;
        st.obj.passes++;
        const res = st.residuals(epochStartZ);
        options.callback?.(epoch, res.r);
        if (res.r <= res.epsPri && res.s <= res.epsDual) {
          converged = true;
          break;
        }
        st.balance(res);
        await st.maybeRefreshMetric(epoch);
        epochStartZ = st.z;
      }
      submit(i);
    }
  } finally {
    await queue.drain();
  }
  return st.result(epoch, converged);
}

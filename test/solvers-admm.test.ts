import { admm } from "../solvers/index.js";
import { oracleCases } from "./fixtures/glm/cases.js";

// Boyd's residual tolerances, tight enough for the 1e-4 coefficient bar.
const tight = { absTol: 1e-8, relTol: 1e-7 };
oracleCases("admm", admm, { options: tight });
oracleCases("admm", (problem, options) => admm(problem, { ...options, metric: "identity" }), {
  options: tight,
  partitions: [3],
  title: 'admm (metric "identity")',
});

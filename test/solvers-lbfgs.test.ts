import { lbfgs } from "../solvers/index.js";
import { oracleCases } from "./fixtures/glm/cases.js";

oracleCases("lbfgs", lbfgs);

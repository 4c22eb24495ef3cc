import { gradientDescent } from "../solvers/index.js";
import { oracleCases } from "./fixtures/glm/cases.js";

oracleCases("gradientDescent", gradientDescent);

import { proximalGradient } from "../solvers/index.js";
import { oracleCases } from "./fixtures/glm/cases.js";

oracleCases("proximalGradient", proximalGradient);

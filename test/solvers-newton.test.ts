import { newton } from "../solvers/index.js";
import { oracleCases } from "./fixtures/glm/cases.js";

oracleCases("newton", newton);

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Multi-process tests spawn real worker processes; on a 2-core machine running many files
    // at once starves them, so files run two at a time.
    maxWorkers: 2,
    pool: "forks",
  },
});

/**
 * uPlot's browser build, read from the installed package (resolved like an import, so it works
 * from src/ and from dist/ alike); the dashboard serves it, performance reports inline it.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

let cached: { js: string; css: string } | undefined;

export function uplotAssets(): { js: string; css: string } {
  if (cached === undefined) {
    cached = {
      js: readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8"),
      css: readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8"),
    };
  }
  return cached;
}

/** Text for a <script> element: "</script" inside would end it early. */
export function scriptSafe(text: string): string {
  return text.replace(/<\/(script)/gi, "<\\/$1");
}

// Module hooks that let node run the TypeScript sources directly, as jest does through
// @swc/jest: `./x.js` imports resolve to the `./x.ts` beside them, and .ts files are stripped of
// their types by swc. So a test runs the CLI as a real process without `npm run build`.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { transform } from "@swc/core";

export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  if (parent !== undefined && specifier.endsWith(".js") && /^\.{1,2}\//.test(specifier) && !parent.includes("/node_modules/")) {
    const ts = new URL(`${specifier.slice(0, -3)}.ts`, parent);
    if (existsSync(fileURLToPath(ts))) return { url: ts.href, format: "module", shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return next(url, context);
  const filename = fileURLToPath(url);
  const { code } = await transform(await readFile(filename, "utf8"), {
    filename,
    jsc: { parser: { syntax: "typescript" }, target: "es2022" },
    module: { type: "es6" },
    sourceMaps: "inline",
  });
  return { format: "module", source: code, shortCircuit: true };
}

/**
 * `node dist/contracts/toolchain/build.js` (npm run contracts:build): compiles contracts/src and
 * rewrites contracts/generated (typed bindings, ABIs, bytecode, source manifest). The output is
 * committed; contracts/generated/generated.test.ts fails when it no longer matches the sources.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { compileAll, contractsDir } from "./compile.js";
import { generate } from "./codegen.js";

const started = Date.now();
const { artifacts, manifest } = compileAll();
const outDir = join(contractsDir(), "generated");
mkdirSync(outDir, { recursive: true });
const files = generate(artifacts, manifest);
const keep = new Set(files.map((f) => f.path));
for (const name of readdirSync(outDir)) {
  // Drop modules of contracts that no longer exist; tests living here are not generated.
  if (name.endsWith(".ts") && !name.endsWith(".test.ts") && !keep.has(name)) rmSync(join(outDir, name));
}
for (const file of files) writeFileSync(join(outDir, file.path), file.text);
console.log(`contracts: ${artifacts.length} contracts compiled into contracts/generated in ${Date.now() - started} ms`);

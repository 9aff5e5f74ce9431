/**
 * `npm run bench`: runs every benchmark in one process, so each figure and its reference are
 * measured in the same run on the same machine. A benchmark prints its own table; the ratio
 * to its reference is what to compare across machines.
 */
import { benchmarks } from "./index.js";

// The services a benchmark runs log warnings only (stderr): the figures are the output.
process.env.NEKTAR_LOG_LEVEL ??= "warn";

const only = process.argv.slice(2);
for (const bench of benchmarks) {
  if (only.length > 0 && !only.includes(bench.name)) continue;
  console.log(`\n## ${bench.name}: ${bench.description}`);
  await bench.run();
}

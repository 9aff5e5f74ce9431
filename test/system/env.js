// Loads the variables test/system/provision.sh recorded (tool paths), for the system suites.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

const cache = process.env.NEKTAR_CACHE ?? join(homedir(), ".cache", "nektar");
const file = join(cache, "env.sh");
if (existsSync(file)) {
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m && process.env[m[1]] === undefined) process.env[m[1]] = m[2].replace(/^'(.*)'$/, "$1");
  }
}

#!/usr/bin/env node
// Entry point of the `nektar` command; the sources are compiled to dist/ by `npm run build`.
import { main } from "../dist/services/cli/main.js";

process.exitCode = await main(process.argv.slice(2));

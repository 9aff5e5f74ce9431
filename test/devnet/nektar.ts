// bin/nektar.js over the TypeScript sources rather than dist/: what the devnet test spawns.
import { main } from "../../services/cli/main.js";

process.exitCode = await main(process.argv.slice(2));

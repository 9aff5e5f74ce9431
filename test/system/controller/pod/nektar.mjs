// `nektar` from the sources: node --import test/devnet/register.mjs nektar.mjs <args>.
import { main } from "../../../../services/cli/main.ts";

process.exitCode = await main(process.argv.slice(2));

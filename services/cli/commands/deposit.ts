import type { Command } from "commander";
import { NektarError } from "../../core/errors.js";
import { networkByName, verifyDepositData } from "../../core/eth/index.js";
import { readJsonFile } from "../io.js";

export function registerDepositCommands(program: Command): void {
  const deposit = program.command("deposit").description("deposit data (deposit_data.json) tools");

  deposit
    .command("verify")
    .description("check every entry of a deposit_data.json: roots recomputed, signature verified for its fork version")
    .argument("<file>", "deposit_data.json as the staking deposit tools and `nektar dkg` write it")
    .option("--network <name>", "require every entry to be for this network (mainnet, hoodi, holesky, sepolia)")
    .action(async (file: string, options: { network?: string }) => {
      const network = options.network === undefined ? undefined : networkByName(options.network);
      const json = await readJsonFile(file);
      const problems = verifyDepositData(json, { network });
      if (problems.length > 0) {
        for (const problem of problems) process.stderr.write(`${file}: ${problem.message}\n`);
        throw new NektarError(`${file}: ${problems.length} problem${problems.length === 1 ? "" : "s"}, not a valid deposit file`);
      }
      const entries = json as { network_name: string }[];
      const networks = [...new Set(entries.map((e) => e.network_name))].join(", ");
      process.stdout.write(`${file}: ${entries.length} valid deposit${entries.length === 1 ? "" : "s"} (${networks})\n`);
    });
}

import "../core/polyfills.js"; // first: the runtime shims every other module may rely on
import { Command, CommanderError } from "commander";
import { NektarError } from "../core/errors.js";
import { registerCommands } from "./commands/index.js";

/** The `nektar` command: every service is a subcommand. */
export function buildProgram(): Command {
  const program = new Command("nektar")
    .description("Distributed validators and restaking for Ethereum")
    .version(process.env.npm_package_version ?? "0.1.0")
    .showHelpAfterError()
    .exitOverride();
  registerCommands(program);
  return program;
}

/** Runs the CLI; returns the process exit code instead of exiting, so tests can call it. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof NektarError) {
      process.stderr.write(`nektar: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

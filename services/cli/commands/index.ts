import type { Command } from "commander";
import { registerControllerCommands } from "./controller.js";
import { registerDepositCommands } from "./deposit.js";
import { registerKeysCommands } from "./keys.js";
import { registerSlashingProtectionCommands } from "./slashingProtection.js";

/** Each command module adds its subcommands here; this is the one place they are wired. */
export function registerCommands(program: Command): void {
  registerControllerCommands(program);
  registerDepositCommands(program);
  registerKeysCommands(program);
  registerSlashingProtectionCommands(program);
}

import type { Command } from "commander";
import { registerAvsCommands } from "./avs.js";
import { registerClusterCommands } from "./cluster.js";
import { registerControllerCommands } from "./controller.js";
import { registerDepositCommands } from "./deposit.js";
import { registerDevnetCommands } from "./devnet.js";
import { registerDkgCommands } from "./dkg.js";
import { registerIdentityCommands } from "./identity.js";
import { registerKeysCommands } from "./keys.js";
import { registerNodeCommands } from "./node.js";
import { registerSlashingProtectionCommands } from "./slashingProtection.js";

/** Each command module adds its subcommands here; this is the one place they are wired. */
export function registerCommands(program: Command): void {
  registerAvsCommands(program);
  registerClusterCommands(program);
  registerControllerCommands(program);
  registerDepositCommands(program);
  registerDevnetCommands(program);
  registerDkgCommands(program);
  registerIdentityCommands(program);
  registerKeysCommands(program);
  registerNodeCommands(program);
  registerSlashingProtectionCommands(program);
}

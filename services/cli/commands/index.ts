import type { Command } from "commander";

/** Each command module adds its subcommands here; this is the one place they are wired. */
export function registerCommands(_program: Command): void {}

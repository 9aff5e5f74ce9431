import type { Command } from "commander";
import { NektarError } from "../../core/errors.js";
import { minThreshold } from "../../core/p2p/definition.js";
import { runDevnet } from "../devnet/devnet.js";
import { parseIndexRange } from "../devnet/interop.js";
import { parseInteger } from "../options.js";

interface DevnetCliOptions {
  operators: number;
  threshold?: number;
  validators: number;
  beaconNode?: string;
  interopValidators?: string;
  dataDir?: string;
  portBase?: number;
}

export function registerDevnetCommands(program: Command): void {
  program
    .command("devnet")
    .description(
      "run the whole system on this machine: a local chain with the contracts, operators, a DKG of validators among them, " +
        "their nodes and the example AVS with tasks flowing; Ctrl-C stops everything",
    )
    .option("--operators <n>", "operators in the cluster", parseInteger, 16)
    .option("--threshold <t>", "shares that sign (default: ceil(2n/3), 11 of 16)", parseInteger)
    .option("--validators <n>", "distributed validators made by the DKG", parseInteger, 4)
    .option("--beacon-node <url>", "a beacon node's REST API: the distributed validators run on its chain, one nektar node per operator")
    .option(
      "--interop-validators <first..last>",
      "with --beacon-node on a dev chain with interop genesis keys (e.g. lodestar dev): split these validators among the operators instead of a DKG, so they attest from genesis",
    )
    .option("--data-dir <dir>", "a new or empty folder for keys, state and logs (default: a new folder in the temp dir)")
    .option("--port-base <port>", "consecutive ports from this one for the devnet's servers (default: free ports)", parseInteger)
    .action(async (options: DevnetCliOptions) => {
      const threshold = options.threshold ?? minThreshold(options.operators);
      if (options.operators < 1 || options.operators > 64) throw new NektarError(`--operators ${options.operators}: must be between 1 and 64`);
      if (options.validators < 1) throw new NektarError(`--validators ${options.validators}: must be at least 1`);
      if (options.interopValidators !== undefined && options.beaconNode === undefined) {
        throw new NektarError("--interop-validators: needs --beacon-node, the dev chain whose genesis has them");
      }
      const interopValidators = options.interopValidators === undefined ? undefined : parseIndexRange(options.interopValidators, "--interop-validators");
      if (options.portBase !== undefined && (options.portBase < 1024 || options.portBase > 65_000)) {
        throw new NektarError(`--port-base ${options.portBase}: must be between 1024 and 65000`);
      }
      await runUntilSignalled((signal) =>
        runDevnet(
          { operators: options.operators, threshold, validators: options.validators, beaconNode: options.beaconNode, interopValidators, dataDir: options.dataDir, portBase: options.portBase, summaryIntervalMs: 3_000, taskIntervalMs: 3_000 },
          signal,
          { print: (text) => process.stdout.write(text), columns: process.stdout.isTTY ? process.stdout.columns : undefined },
        ),
      );
    });
}

/**
 * Runs `fn` until it finishes; the first SIGINT or SIGTERM aborts its signal (it then stops what
 * it started), a second one exits at once: anvil, the only child process, dies with this one.
 */
async function runUntilSignalled(fn: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      process.stderr.write(`\n${name} again: exiting without waiting\n`);
      process.exit(130);
    }
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    await fn(controller.signal);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

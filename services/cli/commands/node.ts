import type { Command } from "commander";
import { createLogger } from "../../core/log/index.js";
import { readNodeConfig } from "../../signer/node/config.js";
import { runNode } from "../../signer/node/node.js";

export function registerNodeCommands(program: Command): void {
  program
    .command("node")
    .description("run an operator's distributed validator node until SIGTERM: duties with its cluster, the node API and the Web3Signer API (docs/node.md)")
    .requiredOption("--config <file>", "node.json, as the controller writes it (see docs/node.md)")
    .action(async (options: { config: string }) => {
      const config = await readNodeConfig(options.config);
      const log = createLogger("node");
      const node = await runNode(config, { logger: (component) => createLogger(component) });
      const signalled = new Promise<NodeJS.Signals>((resolve) => {
        process.once("SIGTERM", () => resolve("SIGTERM"));
        process.once("SIGINT", () => resolve("SIGINT"));
      });
      try {
        // A node that cannot start (identity, network, slashing protection) exits; a signal during the start stops it.
        const first = await Promise.race([node.started.then(() => undefined), signalled]);
        const signal = first ?? (await signalled);
        log.info({ signal }, "stopping");
      } finally {
        await node.stop();
      }
    });
}

import type { Command } from "commander";

import { AggregatorConfigSchema, GatewayConfigSchema, WorkerConfigSchema, readConfigFile } from "../../avs/config.js";
import { startAggregatorService, startGatewayService, startWorkerService } from "../../avs/wire.js";

/** Runs until SIGINT/SIGTERM, then stops what it started. */
async function runUntilSignal(stop: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      resolve();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  await stop();
}

export function registerAvsCommands(program: Command): void {
  const avs = program.command("avs").description("the AVS service: REST gateway, operator workers and the aggregator (docs/avs.md)");

  avs
    .command("gateway")
    .description("serve the REST API AVS teams submit tasks to and read certificates from (OpenAPI at /openapi.json, UI at /docs)")
    .requiredOption("--config <file>", "avs-gateway.json")
    .action(async (options: { config: string }) => {
      const config = await readConfigFile(GatewayConfigSchema, options.config);
      const gateway = await startGatewayService(config, { configPath: options.config });
      process.stdout.write(`AVS gateway on ${gateway.url} (docs: ${gateway.url}/docs)\n`);
      await runUntilSignal(() => gateway.stop());
    });

  avs
    .command("worker")
    .description("answer an AVS's tasks for one operator: call the executor, sign with the operator's BLS key, send to the aggregator")
    .requiredOption("--config <file>", "avs-worker.json")
    .action(async (options: { config: string }) => {
      const config = await readConfigFile(WorkerConfigSchema, options.config);
      const worker = await startWorkerService(config, { configPath: options.config });
      process.stdout.write(`AVS worker for AVS ${config.avsId}: operator ${worker.operatorId}, peer ${worker.peerId}, status ${worker.url}/status\n`);
      await runUntilSignal(() => worker.stop());
    });

  avs
    .command("aggregator")
    .description("collect workers' responses until the stake quorum holds and submit certificates to the TaskManager")
    .requiredOption("--config <file>", "avs-aggregator.json")
    .action(async (options: { config: string }) => {
      const config = await readConfigFile(AggregatorConfigSchema, options.config);
      const aggregator = await startAggregatorService(config, { configPath: options.config });
      process.stdout.write(`AVS aggregator: peer ${aggregator.peerId} on ${aggregator.multiaddrs.join(", ")}, tasks API ${aggregator.url}\n`);
      await runUntilSignal(() => aggregator.stop());
    });
}

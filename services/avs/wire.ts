/**
 * The AVS service's processes, wired from their config files: what `nektar avs <process>` runs
 * and what the devnet starts in-process. Each returns a handle whose stop() releases
 * everything it started.
 */
import { readFile } from "node:fs/promises";
import { Registry } from "prom-client";

import { NektarError } from "../core/errors.js";
import { createLogger } from "../core/log/index.js";
import type { Logger } from "../core/log/index.js";
import { readIdentityFile } from "../core/p2p/index.js";
import { startAggregator } from "./aggregator.js";
import type { Aggregator } from "./aggregator.js";
import { connectChain } from "./chain.js";
import { resolvePath } from "./config.js";
import type { AggregatorConfig, GatewayConfig, WorkerConfig } from "./config.js";
import { startGateway } from "./gateway.js";
import { keystoreSigner } from "./signer.js";
import { startWorker } from "./worker.js";
import type { Worker } from "./worker.js";

export interface ServiceOptions {
  /** The config file's path: files it names are relative to its folder. */
  configPath: string;
  registry?: Registry;
  logger?: Logger;
}

/** A secp256k1 account key file: 32 bytes as hex. */
async function readAccountKey(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = (await readFile(path, "utf8")).trim();
  } catch (err) {
    throw new NektarError(`${what} ${path}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  if (!/^(0x)?[0-9a-fA-F]{64}$/.test(text)) throw new NektarError(`${what} ${path}: expected a 32-byte secret key as hex`);
  return text.startsWith("0x") ? text : `0x${text}`;
}

export async function startWorkerService(config: WorkerConfig, options: ServiceOptions): Promise<Worker> {
  const path = (p: string) => resolvePath(options.configPath, p);
  const chain = connectChain(config.chain);
  await chain.connect();
  return withChainClosed(chain, await startWorker({
    chain,
    avsId: config.avsId,
    signer: await keystoreSigner(path(config.blsKey.keystoreFile), path(config.blsKey.passwordFile)),
    identity: await readIdentityFile(path(config.identityFile)),
    listen: config.p2p.listen,
    aggregator: config.aggregator,
    executor: config.executor,
    dataDir: config.dataDir === undefined ? undefined : path(config.dataDir),
    lookbackBlocks: config.lookbackBlocks,
    http: config.http,
    registry: options.registry ?? new Registry(),
    logger: options.logger ?? createLogger("avs-worker"),
  }));
}

export async function startAggregatorService(config: AggregatorConfig, options: ServiceOptions): Promise<Aggregator> {
  const path = (p: string) => resolvePath(options.configPath, p);
  const chain = connectChain(config.chain, await readAccountKey(path(config.submitter.keyFile), "submitter.keyFile"));
  await chain.connect();
  return withChainClosed(chain, await startAggregator({
    chain,
    avsIds: config.avsIds,
    identity: await readIdentityFile(path(config.identityFile)),
    listen: config.p2p.listen,
    submitEvidence: config.submitEvidence,
    dataDir: config.dataDir === undefined ? undefined : path(config.dataDir),
    http: config.http,
    registry: options.registry ?? new Registry(),
    logger: options.logger ?? createLogger("avs-aggregator"),
  }));
}

export interface GatewayService {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startGatewayService(config: GatewayConfig, options: ServiceOptions): Promise<GatewayService> {
  const chain = connectChain(config.chain, await readAccountKey(resolvePath(options.configPath, config.taskCreator.keyFile), "taskCreator.keyFile"));
  await chain.connect();
  const gateway = await startGateway(
    { chain, aggregatorUrl: config.aggregatorUrl, apiKeys: config.apiKeys, rateLimit: config.rateLimit, logger: options.logger ?? createLogger("avs-gateway") },
    config.http,
  );
  return {
    url: gateway.url,
    stop: async () => {
      await gateway.close();
      chain.close();
    },
  };
}

/** `service` whose stop() also closes the connection to the node it was given. */
function withChainClosed<T extends { stop(): Promise<void> }>(chain: { close(): void }, service: T): T {
  const stop = service.stop.bind(service);
  service.stop = async () => {
    await stop();
    chain.close();
  };
  return service;
}

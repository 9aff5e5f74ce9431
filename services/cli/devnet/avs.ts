/**
 * The example AVS on the devnet (examples/sha256-avs): registered on-chain with every operator
 * opted in, its executor, the aggregator, one worker per operator signing with the operator's
 * registered BLS key, and the REST gateway, all in this process from the config files `nektar avs
 * <process> --config` takes (written to the devnet's folder, so each can be rerun by hand; the
 * workers' and the aggregator's `dataDir` beside their config keep what each signed or holds
 * across such a rerun); then a task every few seconds, submitted over REST as an AVS team would.
 */
import { createHash, randomBytes } from "node:crypto";
import { join, relative } from "node:path";
import type { Static, TSchema } from "@sinclair/typebox";
import { Wallet, parseEther, toBeHex } from "ethers";
import type { Logger } from "pino";
import type { Anvil } from "../../../contracts/anvil.js";
import { connectNektar, type NektarContracts } from "../../../contracts/client/index.js";
import { startExecutor } from "../../../examples/sha256-avs/executor.js";
import { AggregatorConfigSchema, type ChainConfig, GatewayConfigSchema, WorkerConfigSchema, parseConfig } from "../../avs/config.js";
import { startAggregatorService, startGatewayService, startWorkerService } from "../../avs/wire.js";
import { createIdentityFile } from "../../core/p2p/identity.js";
import { writeFileAtomic } from "../../core/store/files.js";
import type { ChainAccounts } from "./chain.js";
import type { Lifecycle } from "./lifecycle.js";
import type { LogFiles } from "./logs.js";
import { type DevnetOperator, IDENTITY_FILE, OPERATOR_KEYSTORE_FILE } from "./operators.js";
import { HOST, type Ports } from "./ports.js";

/** The AVS's task rules: 2/3 of the stake signs; windows well inside the 1,000-block withdrawal delay. */
const TASK_PARAMS = {
  quorumBps: 6_667,
  minOperators: 1,
  minTotalStake: 0,
  responseWindowBlocks: 50,
  challengeWindowBlocks: 50,
  resolutionWindowBlocks: 50,
  challengeBond: parseEther("1"),
};
const SLASHING_PARAMS = { stakeBps: 1_000, collateralBps: 5_000, vetoWindowBlocks: 0, vetoThreshold: 0, vetoCommittee: [] };

/**
 * Registers the example AVS from the AVS owner's account and opts every operator in; resolves
 * to its id. The task creator (the gateway's account) and the aggregator's account are new keys,
 * funded by anvil, written to `dir` as `taskCreator.key` and `aggregator.key`.
 */
export async function registerExampleAvs(
  anvil: Anvil,
  contracts: NektarContracts,
  accounts: ChainAccounts,
  operators: readonly DevnetOperator[],
  dir: string,
): Promise<number> {
  const keys = { taskCreator: Wallet.createRandom(), aggregator: Wallet.createRandom() };
  for (const [name, wallet] of Object.entries(keys)) {
    await anvil.provider.send("anvil_setBalance", [wallet.address, toBeHex(parseEther("1000"))]);
    await writeFileAtomic(join(dir, `${name}.key`), wallet.privateKey + "\n", { mode: 0o600, overwrite: false });
  }
  const owner = connectNektar(contracts.addresses, await anvil.provider.getSigner(accounts.avsOwner));
  const task = { ...TASK_PARAMS, taskCreator: keys.taskCreator.address, arbiter: accounts.avsOwner };
  const receipt = await (await owner.avsDirectory.registerAVS(0, task, SLASHING_PARAMS, "https://github.com/nektar/examples/sha256-avs")).wait();
  const registered = receipt!.logs.map((l) => owner.avsDirectory.interface.parseLog(l)).find((l) => l?.name === "AVSRegistered");
  const avsId = Number(registered!.args.avsId as bigint);
  // One at a time: each opt-in changes the AVS's aggregate key, so a gas estimate made beside
  // another opt-in can fall short once that one is mined.
  for (const op of operators) {
    const own = connectNektar(contracts.addresses, await anvil.provider.getSigner(op.address));
    await (await own.avsDirectory.optIn(avsId)).wait();
  }
  return avsId;
}

export interface RunningAvs {
  /** The REST API (/v1/..., OpenAPI at /openapi.json, Swagger UI at /docs). */
  gatewayUrl: string;
  /** The file holding the gateway's API key for this AVS. */
  apiKeyFile: string;
  apiKey: string;
  executorUrl: string;
  aggregatorUrl: string;
  /** Each operator's worker status endpoint (/status, /metrics). */
  workerUrls: string[];
}

export interface StartAvsOptions {
  anvil: Anvil;
  contracts: NektarContracts;
  chainId: bigint;
  avsId: number;
  operators: readonly DevnetOperator[];
  /** The keystore password file (every devnet keystore has the one password). */
  passwordFile: string;
  ports: Ports;
  logs: LogFiles;
  lifecycle: Lifecycle;
  /** The AVS's folder in the data dir: its configs and keys. */
  dir: string;
}

/**
 * Writes each process's config file, as `nektar avs <process> --config` takes it (the workers'
 * in their operator's folder), and starts them from it in this process: the executor, the
 * aggregator, a worker per operator, the gateway. Each is registered with `lifecycle` as it starts.
 */
export async function startExampleAvs(options: StartAvsOptions): Promise<RunningAvs> {
  const { avsId, lifecycle, ports, operators, dir } = options;
  const logger = options.logs.logger("avs");
  const chain: ChainConfig = {
    rpcUrl: options.anvil.url,
    chainId: Number(options.chainId),
    taskManager: options.contracts.addresses.taskManager,
    avsDirectory: options.contracts.addresses.avsDirectory,
    operatorRegistry: options.contracts.addresses.operatorRegistry,
    slasher: options.contracts.addresses.slasher,
    pollingIntervalMs: 250,
  };

  const executor = await startExecutor({ host: HOST, port: await ports.one("the AVS executor") });
  lifecycle.add("AVS executor", () => executor.stop());

  const [aggregatorP2p, aggregatorHttp] = await ports.take(2, "the AVS aggregator");
  const aggregatorIdentity = await createIdentityFile(join(dir, "aggregator-identity.key"));
  const aggregatorConfig = await writeConfig(AggregatorConfigSchema, join(dir, "avs-aggregator.json"), {
    chain,
    avsIds: [avsId],
    submitter: { keyFile: "aggregator.key" },
    identityFile: "aggregator-identity.key",
    p2p: { listen: [`/ip4/${HOST}/tcp/${aggregatorP2p}`] },
    submitEvidence: true,
    dataDir: "aggregator-data",
    http: { host: HOST, port: aggregatorHttp },
  });
  const aggregator = await startAggregatorService(aggregatorConfig.config, { configPath: aggregatorConfig.path, logger: component(logger, "aggregator") });
  lifecycle.add("AVS aggregator", () => aggregator.stop());

  const workerPorts = await ports.take(operators.length * 2, "the AVS workers");
  const workerUrls = await Promise.all(
    operators.map(async (op, i) => {
      const { config, path } = await writeConfig(WorkerConfigSchema, join(op.dir, "avs-worker.json"), {
        chain,
        avsId,
        blsKey: { keystoreFile: OPERATOR_KEYSTORE_FILE, passwordFile: relative(op.dir, options.passwordFile) },
        identityFile: IDENTITY_FILE,
        p2p: { listen: [`/ip4/${HOST}/tcp/${workerPorts[2 * i]}`] },
        aggregator: { peerId: aggregatorIdentity.peerId.toString(), multiaddrs: aggregatorConfig.config.p2p.listen },
        executor: { url: executor.url, timeoutMs: 10_000, retries: 2, backoffMs: 200 },
        dataDir: "avs-worker-data",
        http: { host: HOST, port: workerPorts[2 * i + 1] },
      });
      const worker = await startWorkerService(config, { configPath: path, logger: component(logger, "worker", op.name) });
      lifecycle.add(`AVS worker of ${op.name}`, () => worker.stop());
      return worker.url!;
    }),
  );

  // The API key is the devnet's own: kept in a file for the user's curl; the gateway stores its hash.
  const apiKey = randomBytes(24).toString("hex");
  const apiKeyFile = join(dir, "api-key.txt");
  await writeFileAtomic(apiKeyFile, apiKey + "\n", { mode: 0o600, overwrite: false });
  const gatewayConfig = await writeConfig(GatewayConfigSchema, join(dir, "avs-gateway.json"), {
    chain,
    taskCreator: { keyFile: "taskCreator.key" },
    aggregatorUrl: aggregator.url!,
    apiKeys: [{ name: "devnet", sha256: createHash("sha256").update(apiKey).digest("hex"), avsIds: [avsId] }],
    rateLimit: { max: 600, windowMs: 60_000 },
    http: { host: HOST, port: await ports.one("the AVS gateway") },
  });
  const gateway = await startGatewayService(gatewayConfig.config, { configPath: gatewayConfig.path, logger: component(logger, "gateway") });
  lifecycle.add("AVS gateway", () => gateway.stop());
  return { gatewayUrl: gateway.url, apiKeyFile, apiKey, executorUrl: executor.url, aggregatorUrl: aggregator.url!, workerUrls };
}

/** Checks `value` against the process's config schema (defaults filled in) and writes it to `path`. */
async function writeConfig<T extends TSchema>(schema: T, path: string, value: unknown): Promise<{ config: Static<T>; path: string }> {
  const config = parseConfig(schema, value, path);
  await writeFileAtomic(path, JSON.stringify(config, null, 2) + "\n", { overwrite: false });
  return { config, path };
}

function component(logger: Logger, name: string, operator?: string): Logger {
  return logger.child(operator === undefined ? { component: name } : { component: name, operator });
}

/**
 * Submits a task to the gateway every `intervalMs` (a random input each: the executor hashes it)
 * until stopped. A failure is logged and the next task tried: a busy machine is no reason to stop
 * the devnet.
 */
export function submitTasks(avs: RunningAvs, avsId: number, intervalMs: number, logger: Logger): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let pending: Promise<void> = Promise.resolve();
  let stopped = false;
  const submit = async (): Promise<void> => {
    const response = await fetch(`${avs.gatewayUrl}/v1/avs/${avsId}/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": avs.apiKey },
      body: JSON.stringify({ input: `0x${randomBytes(32).toString("hex")}` }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await response.json()) as { taskId?: number; blockNumber?: number; message?: string };
    if (response.status !== 202) throw new Error(`gateway answered HTTP ${response.status}: ${body.message ?? ""}`);
    logger.info({ taskId: body.taskId, block: body.blockNumber }, "task submitted");
  };
  const tick = (): void => {
    pending = submit()
      .catch((err: unknown) => logger.warn({ err: (err as Error).message }, "could not submit a task"))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, 0);
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await pending;
    },
  };
}

/**
 * The example AVS on the devnet (examples/sha256-avs): registered on-chain with every operator
 * opted in, its executor, the aggregator, and one worker per operator signing with the
 * operator's registered BLS key, all in this process (the start functions `nektar avs ...`
 * wraps); then a task every few seconds.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Wallet, parseEther, toBeHex } from "ethers";
import { Registry } from "prom-client";
import type { Logger } from "pino";
import type { Anvil } from "../../../contracts/anvil.js";
import { connectNektar, type NektarContracts } from "../../../contracts/client/index.js";
import { startExecutor } from "../../../examples/sha256-avs/executor.js";
import { startAggregator } from "../../avs/aggregator.js";
import { type AvsChain, connectChain } from "../../avs/chain.js";
import type { ChainConfig } from "../../avs/config.js";
import { secretKeySigner } from "../../avs/signer.js";
import { startWorker } from "../../avs/worker.js";
import { createIdentityFile } from "../../core/p2p/identity.js";
import { writeFileAtomic } from "../../core/store/files.js";
import type { ChainAccounts } from "./chain.js";
import type { Lifecycle } from "./lifecycle.js";
import type { LogFiles } from "./logs.js";
import type { DevnetOperator } from "./operators.js";
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

/** An Ethereum account's key. */
export interface AccountKey {
  address: string;
  privateKey: string;
}

export interface AvsAccounts {
  /** Creates the tasks (the AVS's task creator). */
  taskCreator: AccountKey;
  /** Submits the certificates. */
  aggregator: AccountKey;
}

/**
 * Registers the example AVS from the AVS owner's account and opts every operator in. The task
 * creator and aggregator are new keys (funded by anvil), written to the data dir as the
 * `nektar avs` configs take them.
 */
export async function registerExampleAvs(
  anvil: Anvil,
  contracts: NektarContracts,
  accounts: ChainAccounts,
  operators: readonly DevnetOperator[],
  dir: string,
): Promise<{ avsId: number; keys: AvsAccounts }> {
  const keys: AvsAccounts = { taskCreator: Wallet.createRandom(), aggregator: Wallet.createRandom() };
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
  return { avsId, keys };
}

export interface RunningAvs {
  executorUrl: string;
  aggregatorUrl: string;
  /** Each operator's worker status endpoint (/status, /metrics). */
  workerUrls: string[];
  /** Creates tasks (the task creator's chain handle). */
  taskCreator: AvsChain;
}

export interface StartAvsOptions {
  anvil: Anvil;
  contracts: NektarContracts;
  chainId: bigint;
  avsId: number;
  keys: AvsAccounts;
  operators: readonly DevnetOperator[];
  ports: Ports;
  logs: LogFiles;
  lifecycle: Lifecycle;
  dir: string;
}

/** Starts the executor, the aggregator and a worker per operator, each registered with `lifecycle` as it starts. */
export async function startExampleAvs(options: StartAvsOptions): Promise<RunningAvs> {
  const { avsId, lifecycle, ports, operators } = options;
  const logger = options.logs.logger("avs");
  const chainConfig: ChainConfig = {
    rpcUrl: options.anvil.url,
    chainId: Number(options.chainId),
    taskManager: options.contracts.addresses.taskManager,
    avsDirectory: options.contracts.addresses.avsDirectory,
    operatorRegistry: options.contracts.addresses.operatorRegistry,
    slasher: options.contracts.addresses.slasher,
    pollingIntervalMs: 250,
  };
  const chain = async (key?: string): Promise<AvsChain> => {
    const connected = connectChain(chainConfig, key);
    lifecycle.add("AVS chain client", () => connected.provider.destroy());
    await connected.connect();
    return connected;
  };

  const executor = await startExecutor({ host: HOST, port: await ports.one("the AVS executor") });
  lifecycle.add("AVS executor", () => executor.stop());

  const [aggregatorP2p, aggregatorHttp] = await ports.take(2, "the AVS aggregator");
  const aggregator = await startAggregator({
    chain: await chain(options.keys.aggregator.privateKey),
    avsIds: [avsId],
    identity: await createIdentityFile(join(options.dir, "aggregator-identity.key")),
    listen: [`/ip4/${HOST}/tcp/${aggregatorP2p}`],
    submitEvidence: true,
    http: { host: HOST, port: aggregatorHttp! },
    registry: new Registry(),
    logger: component(logger, "aggregator"),
  });
  lifecycle.add("AVS aggregator", () => aggregator.stop());

  const workerPorts = await ports.take(operators.length * 2, "the AVS workers");
  const workerUrls = await Promise.all(
    operators.map(async (op, i) => {
      const worker = await startWorker({
        chain: await chain(),
        avsId,
        signer: secretKeySigner(op.blsKey),
        identity: op.identity,
        listen: [`/ip4/${HOST}/tcp/${workerPorts[2 * i]}`],
        aggregator: { peerId: aggregator.peerId, multiaddrs: aggregator.multiaddrs },
        executor: { url: executor.url, timeoutMs: 10_000, retries: 2, backoffMs: 200 },
        http: { host: HOST, port: workerPorts[2 * i + 1]! },
        registry: new Registry(),
        logger: component(logger, "worker", op.name),
      });
      lifecycle.add(`AVS worker of ${op.name}`, () => worker.stop());
      return worker.url!;
    }),
  );
  return { executorUrl: executor.url, aggregatorUrl: aggregator.url!, workerUrls, taskCreator: await chain(options.keys.taskCreator.privateKey) };
}

function component(logger: Logger, name: string, operator?: string): Logger {
  return logger.child(operator === undefined ? { component: name } : { component: name, operator });
}

/**
 * Creates a task every `intervalMs` (a random input each: the executor hashes it) until stopped.
 * A failure is logged and the next task tried: a busy chain is no reason to stop the devnet.
 */
export function submitTasks(chain: AvsChain, avsId: number, intervalMs: number, logger: Logger): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let pending: Promise<void> = Promise.resolve();
  let stopped = false;
  const tick = (): void => {
    pending = chain
      .createTask(avsId, randomBytes(32))
      .then((created) => logger.info({ taskId: Number(created.taskId), block: created.blockNumber }, "task created"))
      .catch((err: unknown) => logger.warn({ err: (err as Error).message }, "could not create a task"))
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

/**
 * An AVS network on one machine, for the AVS tests and benches: anvil with the contracts, n
 * operators (BLS key, libp2p identity registered on-chain, delegated stake, opted in), the
 * example executor, one aggregator and one worker per operator, all in this process over real
 * libp2p on loopback. Used by the AVS tests and benches (not by the product).
 */
import { SecretKey } from "@chainsafe/blst";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { HDNodeWallet, parseEther, toUtf8Bytes } from "ethers";
import { Registry } from "prom-client";

import { registerOperator } from "../../contracts/client/index.js";
import { AVS_OWNER, TASK_CREATOR, deployFixture, registerAVS, slashingParams, taskParams } from "../../contracts/test/fixture.js";
import type { Fixture } from "../../contracts/test/fixture.js";
import { startExecutor } from "../../examples/sha256-avs/executor.js";
import type { ExecutorServer } from "../../examples/sha256-avs/executor.js";
import { AvsChain, encodePeerId } from "./chain.js";
import type { ChainConfig } from "./config.js";
import { startAggregator } from "./aggregator.js";
import type { Aggregator } from "./aggregator.js";
import { secretKeySigner } from "./signer.js";
import { startWorker } from "./worker.js";
import type { Worker } from "./worker.js";
import { encryptKeystore } from "../core/crypto/keystore.js";
import { toHex } from "../core/hex.js";
import { createLogger } from "../core/log/index.js";
import { generateIdentity } from "../core/p2p/index.js";
import type { Identity } from "../core/p2p/index.js";

/** Dev accounts with fixed roles (contracts/test/fixture.ts has 14-16); operators are accounts 20, 21, ... */
export const AGGREGATOR_ACCOUNT = 17;
const FIRST_OPERATOR_ACCOUNT = 20;

export interface AvsOperator {
  index: number;
  address: string;
  secretKey: SecretKey;
  identity: Identity;
  stakeEth: number;
}

/** Registers `o` (BLS key with its proof of possession, peer id) and delegates its stake to it. */
async function registerAndDelegate(f: Fixture, o: AvsOperator): Promise<void> {
  const contracts = await f.as(o.index);
  await registerOperator(contracts.operatorRegistry, o.secretKey, encodePeerId(o.identity.peerId.toString()));
  await (await contracts.delegationManager.delegateETH(o.address, { value: parseEther(String(o.stakeEth)) })).wait();
}

/** An operator deployed with `joined` below its position registers, gets its stake and opts in to the AVS now. */
export async function joinAvs(net: AvsNetwork, o: AvsOperator): Promise<void> {
  await registerAndDelegate(net.f, o);
  await (await (await net.f.as(o.index)).avsDirectory.optIn(net.avsId)).wait();
}

export interface AvsNetwork {
  f: Fixture;
  avsId: number;
  chainConfig: ChainConfig;
  operators: AvsOperator[];
  /** The task creator's view (what the gateway holds). */
  creator: AvsChain;
  stop(): Promise<void>;
}

export interface AvsNetworkOptions {
  operators: number;
  /** Operators (the first n) registered and opted in at deployment; the others join with joinAvs. Default all. */
  joined?: number;
  stakeEth?: number;
  quorumBps?: number;
  responseWindowBlocks?: number;
}

export async function deployAvsNetwork(options: AvsNetworkOptions): Promise<AvsNetwork> {
  const f = await deployFixture(FIRST_OPERATOR_ACCOUNT + options.operators);
  const operators: AvsOperator[] = [];
  for (let i = FIRST_OPERATOR_ACCOUNT; i < FIRST_OPERATOR_ACCOUNT + options.operators; i++) {
    const secretKey = SecretKey.fromKeygen(new Uint8Array(32).fill(i), toUtf8Bytes("nektar avs tests"));
    const address = await (await f.anvil.signer(i)).getAddress();
    operators.push({ index: i, address, secretKey, identity: generateIdentity(), stakeEth: options.stakeEth ?? 10 });
  }
  const joined = operators.slice(0, options.joined ?? operators.length);
  for (const o of joined) await registerAndDelegate(f, o);
  const avsId = Number(
    await registerAVS(
      f,
      AVS_OWNER,
      taskParams({
        taskCreator: await (await f.anvil.signer(TASK_CREATOR)).getAddress(),
        arbiter: await (await f.anvil.signer(16)).getAddress(),
        quorumBps: options.quorumBps ?? 6_667,
        responseWindowBlocks: options.responseWindowBlocks ?? 50,
        challengeWindowBlocks: 20,
        resolutionWindowBlocks: 10,
      }),
      slashingParams({ vetoWindowBlocks: 5 }),
    ),
  );
  for (const o of joined) await (await (await f.as(o.index)).avsDirectory.optIn(avsId)).wait();
  const { addresses } = f.contracts;
  const chainConfig: ChainConfig = {
    rpcUrl: f.anvil.url,
    chainId: Number(f.chainId),
    taskManager: addresses.taskManager,
    avsDirectory: addresses.avsDirectory,
    operatorRegistry: addresses.operatorRegistry,
    slasher: addresses.slasher,
    pollingIntervalMs: 50,
  };
  const creator = new AvsChain(chainConfig, f.anvil.provider, await f.anvil.signer(TASK_CREATOR));
  await creator.connect();
  // Past the opt-ins: a task's reference block is the previous one.
  await f.anvil.mine(1);
  return { f, avsId, chainConfig, operators, creator, stop: () => f.anvil.stop() };
}

export interface RunningAvs {
  aggregator: Aggregator;
  workers: Worker[];
  executors: ExecutorServer[];
  stop(): Promise<void>;
}

export interface RunOptions {
  /** Operators (by position) whose executor returns a wrong result. */
  corrupt?: number[];
  /** Executor URL for every worker instead of a running executor (e.g. one nobody listens on). */
  executorUrl?: string;
  executorTimeoutMs?: number;
  executorRetries?: number;
  rounds?: number;
  submitEvidence?: boolean;
  aggregatorHttp?: boolean;
  /** Run workers for the first n operators only. */
  workers?: number;
  /** How often workers poll for tasks (default the chain config's). */
  workerPollingMs?: number;
}

export interface TestAggregatorOptions {
  /** Default a new one; a restarted aggregator keeps its identity (the workers are configured with its peer id). */
  identity?: Identity;
  /** libp2p port; default any free one. */
  port?: number;
  dataDir?: string;
  submitEvidence?: boolean;
  http?: boolean;
  registry?: Registry;
}

/** An aggregator of `net`'s AVS submitting from the aggregator account. */
export async function startTestAggregator(net: AvsNetwork, options: TestAggregatorOptions = {}): Promise<Aggregator> {
  const chain = new AvsChain(net.chainConfig, net.f.anvil.provider, await net.f.anvil.signer(AGGREGATOR_ACCOUNT));
  await chain.connect();
  return startAggregator({
    chain,
    avsIds: [net.avsId],
    identity: options.identity ?? generateIdentity(),
    listen: [`/ip4/127.0.0.1/tcp/${options.port ?? 0}`],
    submitEvidence: options.submitEvidence ?? false,
    dataDir: options.dataDir,
    http: options.http ? { host: "127.0.0.1", port: 0 } : undefined,
    registry: options.registry ?? new Registry(),
    logger: createLogger("avs-test"),
  });
}

export interface TestWorkerOptions {
  aggregator: { peerId: string; multiaddrs: readonly string[] };
  executorUrl: string;
  executorTimeoutMs?: number;
  executorRetries?: number;
  dataDir?: string;
  /** How often the worker polls for tasks (default the chain config's). */
  pollingMs?: number;
}

/** `o`'s worker for `net`'s AVS. */
export async function startTestWorker(net: AvsNetwork, o: AvsOperator, options: TestWorkerOptions): Promise<Worker> {
  const chain = new AvsChain({ ...net.chainConfig, pollingIntervalMs: options.pollingMs ?? net.chainConfig.pollingIntervalMs }, net.f.anvil.provider);
  await chain.connect();
  return startWorker({
    chain,
    avsId: net.avsId,
    signer: secretKeySigner(o.secretKey),
    identity: o.identity,
    listen: ["/ip4/127.0.0.1/tcp/0"],
    aggregator: options.aggregator,
    executor: { url: options.executorUrl, timeoutMs: options.executorTimeoutMs ?? 5_000, retries: options.executorRetries ?? 1, backoffMs: 50 },
    dataDir: options.dataDir,
    registry: new Registry(),
    logger: createLogger("avs-test"),
  });
}

/** Starts the executors, the aggregator and the workers of `net`. */
export async function runAvs(net: AvsNetwork, options: RunOptions = {}): Promise<RunningAvs> {
  const aggregator = await startTestAggregator(net, { submitEvidence: options.submitEvidence, http: options.aggregatorHttp });
  const executors: ExecutorServer[] = [];
  const workers: Worker[] = [];
  try {
    for (const [i, o] of net.operators.slice(0, options.workers ?? net.operators.length).entries()) {
      let url = options.executorUrl;
      if (url === undefined) {
        const executor = await startExecutor({ rounds: options.rounds ?? 10, corrupt: options.corrupt?.includes(i) });
        executors.push(executor);
        url = executor.url;
      }
      workers.push(
        await startTestWorker(net, o, {
          aggregator,
          executorUrl: url,
          executorTimeoutMs: options.executorTimeoutMs,
          executorRetries: options.executorRetries,
          pollingMs: options.workerPollingMs,
        }),
      );
    }
  } catch (err) {
    await Promise.allSettled([aggregator.stop(), ...workers.map((w) => w.stop()), ...executors.map((e) => e.stop())]);
    throw err;
  }
  return {
    aggregator,
    workers,
    executors,
    stop: async () => {
      await Promise.allSettled(workers.map((w) => w.stop()));
      await aggregator.stop();
      await Promise.allSettled(executors.map((e) => e.stop()));
    },
  };
}

/** Resolves with the aggregator's record of `taskId` once it is certified or failed. */
export function settled(aggregator: Aggregator, taskId: number, timeoutMs = 60_000): Promise<NonNullable<ReturnType<Aggregator["task"]>>> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const record = aggregator.task(taskId);
      if (record === undefined || (record.state !== "certified" && record.state !== "failed")) return false;
      cleanup();
      resolve(record);
      return true;
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`task ${taskId} not settled within ${timeoutMs} ms: ${JSON.stringify(aggregator.task(taskId)?.state)}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      aggregator.off("certified", check);
      aggregator.off("failed", check);
    };
    aggregator.on("certified", check);
    aggregator.on("failed", check);
    check();
  });
}

/** Anvil's dev accounts (its default mnemonic): the config files name keys, not signers. */
const ANVIL_MNEMONIC = "test test test test test test test test test test test junk";
const accountKey = (index: number): string => HDNodeWallet.fromPhrase(ANVIL_MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`).privateKey;

export interface AvsConfigFiles {
  aggregator: string;
  workers: string[];
  gateway: string;
  aggregatorPeerId: string;
  aggregatorUrl: string;
}

/**
 * Writes into `dir` the config files of the aggregator, one worker per operator and the
 * gateway, with every file they name (keystores, passwords, identities, account keys) and a
 * data dir for each worker (`worker-<i>-data`) and the aggregator (`aggregator-data`), as an
 * operator would lay them out. The aggregator listens on fixed ports (the others name it);
 * the workers' and the gateway's HTTP ports are any free one.
 */
export async function writeAvsConfigFiles(
  net: AvsNetwork,
  dir: string,
  options: { executorUrl: string; aggregatorPorts: { p2p: number; http: number }; apiKeySha256: string },
): Promise<AvsConfigFiles> {
  const write = async (name: string, content: string | object): Promise<string> => {
    await writeFile(join(dir, name), typeof content === "string" ? content : JSON.stringify(content, null, 2), { mode: 0o600 });
    return join(dir, name);
  };
  const chain = net.chainConfig;
  const identity = generateIdentity();
  const aggregatorUrl = `http://127.0.0.1:${options.aggregatorPorts.http}`;
  await write("aggregator.key", `${accountKey(AGGREGATOR_ACCOUNT)}\n`);
  await write("aggregator-identity.key", `${toHex(identity.privateKey.raw)}\n`);
  const aggregator = await write("avs-aggregator.json", {
    chain,
    avsIds: [net.avsId],
    submitter: { keyFile: "aggregator.key" },
    identityFile: "aggregator-identity.key",
    p2p: { listen: [`/ip4/127.0.0.1/tcp/${options.aggregatorPorts.p2p}`] },
    dataDir: "aggregator-data",
    http: { host: "127.0.0.1", port: options.aggregatorPorts.http },
  });
  const workers: string[] = [];
  for (const [i, o] of net.operators.entries()) {
    // Cheap KDF parameters: a test keystore, not a key worth protecting.
    await write(`keystore-${i}.json`, await encryptKeystore(o.secretKey.toBytes(), `password ${i}`, { kdf: { function: "pbkdf2", c: 16 } }));
    await write(`password-${i}.txt`, `password ${i}\n`);
    await write(`identity-${i}.key`, `${toHex(o.identity.privateKey.raw)}\n`);
    workers.push(
      await write(`avs-worker-${i}.json`, {
        chain,
        avsId: net.avsId,
        blsKey: { keystoreFile: `keystore-${i}.json`, passwordFile: `password-${i}.txt` },
        identityFile: `identity-${i}.key`,
        aggregator: { peerId: identity.peerId.toString(), multiaddrs: [`/ip4/127.0.0.1/tcp/${options.aggregatorPorts.p2p}`] },
        executor: { url: options.executorUrl, timeoutMs: 5_000 },
        dataDir: `worker-${i}-data`,
        http: { host: "127.0.0.1", port: 0 },
      }),
    );
  }
  await write("creator.key", accountKey(TASK_CREATOR));
  const gateway = await write("avs-gateway.json", {
    chain,
    taskCreator: { keyFile: "creator.key" },
    aggregatorUrl,
    apiKeys: [{ name: "test", sha256: options.apiKeySha256, avsIds: [net.avsId] }],
    http: { host: "127.0.0.1", port: 0 },
  });
  return { aggregator, workers, gateway, aggregatorPeerId: identity.peerId.toString(), aggregatorUrl };
}

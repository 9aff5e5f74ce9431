/**
 * `nektar devnet`: the whole system on one machine. In order, each a progress step: a local
 * chain with the contracts, the operators registered, a DKG of the validators among them, the
 * operators' nodes, the example AVS with tasks flowing, then what runs where and a live summary
 * until Ctrl-C (or SIGTERM), when everything stops, newest first, and nothing is left running.
 *
 * Everything runs in this process except anvil, a child process stopped by pid. Components log
 * to files in the data dir; the terminal shows progress, addresses and the summary.
 */
import { mkdtemp, mkdir, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { HOODI } from "../../core/eth/networks.js";
import { NektarError } from "../../core/errors.js";
import { toHex } from "../../core/hex.js";
import { readPasswordFile } from "../../core/crypto/index.js";
import { registerExampleAvs, startExampleAvs, submitTasks } from "./avs.js";
import { deployContracts, registerOperators, startChain } from "./chain.js";
import { clusterDefinition, runClusterDkg } from "./cluster.js";
import { Lifecycle } from "./lifecycle.js";
import { LogFiles } from "./logs.js";
import { createOperator, writePasswordFile, type DevnetOperator } from "./operators.js";
import { Ports } from "./ports.js";
import { LiveSummary } from "./summary.js";
import { Steps, type Print, seconds } from "./steps.js";
import { chainSummary } from "./tasks.js";

export interface DevnetOptions {
  operators: number;
  threshold: number;
  validators: number;
  beaconNode?: string;
  /** A new or empty folder; default: a new one in the system's temp dir. */
  dataDir?: string;
  portBase?: number;
  /** How often the summary line is refreshed. */
  summaryIntervalMs: number;
  /** How often a task is submitted to the example AVS. */
  taskIntervalMs: number;
}

export interface DevnetIO {
  print: Print;
  /** Whether `print` goes to a terminal (the summary is then rewritten in place). */
  terminal: boolean;
}

/**
 * Starts the devnet and runs it until `signal` aborts, then stops everything. Resolves when all
 * is stopped; rejects (after stopping what had started) if a step fails.
 */
export async function runDevnet(options: DevnetOptions, signal: AbortSignal, io: DevnetIO): Promise<void> {
  const { print } = io;
  const dataDir = await prepareDataDir(options.dataDir);
  const logs = new LogFiles(join(dataDir, "logs"));
  const lifecycle = new Lifecycle();
  const ports = new Ports(options.portBase);
  const steps = new Steps(7, print);
  const startedAt = performance.now();
  print(
    `nektar devnet: ${options.operators} operators (threshold ${options.threshold}), ${options.validators} validator${options.validators === 1 ? "" : "s"}; ` +
      `data dir ${dataDir}\n`,
  );
  try {
    const { anvil, accounts } = await steps.run("starting a local chain (anvil, Prague)", async () => {
      const chain = await startChain(options.operators);
      lifecycle.add("anvil", () => chain.anvil.stop());
      return { result: chain, summary: chain.anvil.url };
    });
    signal.throwIfAborted();

    const forkVersion = toHex(HOODI.genesisForkVersion);
    const contracts = await steps.run("deploying the nektar contracts", async () => {
      const deployed = await deployContracts(anvil, accounts, forkVersion);
      return { result: deployed, summary: `task manager at ${deployed.addresses.taskManager}` };
    });
    signal.throwIfAborted();

    const passwordFile = await writePasswordFile(dataDir);
    const password = await readPasswordFile(passwordFile);
    const operators = await steps.run(`registering ${options.operators} operators (BLS keys, collateral, stake)`, async () => {
      const p2pPorts = await ports.take(options.operators, "the operators' libp2p");
      const created: DevnetOperator[] = await Promise.all(
        accounts.operators.map((address, i) => createOperator(dataDir, i, address, p2pPorts[i]!, password)),
      );
      await registerOperators(anvil, contracts, created, BigInt(options.validators) * 10n ** 18n);
      return { result: created, summary: `${created.length} registered, ${options.validators} divETH collateral each` };
    });
    signal.throwIfAborted();

    const lock = await steps.run(`DKG of ${options.validators} validators among the ${options.operators} operators over libp2p`, async () => {
      const clusterOptions = {
        name: "devnet",
        threshold: options.threshold,
        validators: options.validators,
        forkVersion,
        withdrawalAddress: contracts.addresses.stakingPool,
        password,
        signal,
        logger: logs.logger("dkg"),
      };
      const definition = await clusterDefinition(operators, clusterOptions);
      const result = await runClusterDkg(operators, definition, clusterOptions);
      return { result, summary: `lock ${result.lockHash.slice(0, 18)}..., keystores in ${join(dataDir, "operators", "op-*", "dkg")}` };
    });
    signal.throwIfAborted();

    const avsDir = join(dataDir, "avs");
    await mkdir(avsDir);
    const avsId = await steps.run("registering the example AVS (examples/sha256-avs), every operator opted in", async () => {
      const registered = await registerExampleAvs(anvil, contracts, accounts, operators, avsDir);
      return { result: registered, summary: `AVS ${registered}` };
    });
    signal.throwIfAborted();

    const avs = await steps.run(`starting the AVS: executor, aggregator, ${operators.length} workers`, async () => {
      const chainId = (await anvil.provider.getNetwork()).chainId;
      const running = await startExampleAvs({ anvil, contracts, chainId, avsId, operators, passwordFile, ports, logs, lifecycle, dir: avsDir });
      return { result: running, summary: `aggregator ${running.aggregatorUrl}` };
    });
    signal.throwIfAborted();

    const summary = new LiveSummary(print, io.terminal);
    await steps.run(`submitting a task every ${seconds(options.taskIntervalMs)} over REST`, async () => {
      const tasks = submitTasks(avs, avsId, options.taskIntervalMs, logs.logger("tasks"));
      lifecycle.add("task submission", () => tasks.stop());
      summary.add(chainSummary(anvil, contracts));
      lifecycle.add("summary", () => summary.stop());
      return { result: undefined, summary: "" };
    });

    print(`\nrunning (started in ${seconds(performance.now() - startedAt)}):\n`);
    for (const [what, where] of [
      ["chain (JSON-RPC)", anvil.url],
      ["AVS REST API", `${avs.gatewayUrl}/v1 (API key in ${avs.apiKeyFile})`],
      ["Swagger UI", `${avs.gatewayUrl}/docs (OpenAPI: ${avs.gatewayUrl}/openapi.json)`],
      ["AVS aggregator", `${avs.aggregatorUrl}/v1/tasks/{id}, metrics ${avs.aggregatorUrl}/metrics`],
      ["AVS executor", avs.executorUrl],
      ["AVS workers", `${avs.workerUrls[0]}/status ... ${avs.workerUrls.at(-1)}/status, each with /metrics`],
      ["validators", lock.validators.map((v) => v.pubkey.slice(0, 12) + "...").join(", ")],
      ["keystore password", passwordFile],
      ["logs", logs.dir],
      ["data dir", dataDir],
    ] as const) {
      print(`  ${what.padEnd(20)} ${where}\n`);
    }
    print(
      `\nsubmit a task yourself:\n  curl -s -H "x-api-key: $(cat ${avs.apiKeyFile})" -H "content-type: application/json" ` +
        `-d '{"input":"0x68656c6c6f"}' ${avs.gatewayUrl}/v1/avs/${avsId}/tasks\n`,
    );
    print(`press Ctrl-C to stop\n\n`);
    summary.start(options.summaryIntervalMs);
    await aborted(signal);
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    print("\nstopping ...\n");
    const failures = await lifecycle.stopAll();
    for (const failure of failures) print(`  could not stop ${failure}\n`);
    print(`stopped; data and logs kept in ${dataDir}\n`);
  }
}

/** A new data dir, or the given one if it is empty (a devnet starts from nothing). */
async function prepareDataDir(dataDir: string | undefined): Promise<string> {
  if (dataDir === undefined) return mkdtemp(join(tmpdir(), "nektar-devnet-"));
  const dir = resolve(dataDir);
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) throw new NektarError(`--data-dir ${dataDir}: not empty; a devnet starts from a new or empty folder`);
  return dir;
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

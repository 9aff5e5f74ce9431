/**
 * `nektar devnet`: the whole system on one machine. In order, each a progress step: a local
 * chain with the contracts, the operators registered, a DKG of the validators among them, the
 * example AVS (its workers are the operators' AVS nodes), with a beacon node the operators'
 * validator nodes on its chain, then tasks flowing, what runs where and a live summary until
 * Ctrl-C (or SIGTERM), when everything stops, newest first, and nothing is left running.
 *
 * Everything runs in this process except anvil, a child process stopped by pid. Components log
 * to files in the data dir; the terminal shows progress, addresses and the summary.
 */
import { mkdtemp, mkdir, readdir } from "node:fs/promises";
import type { Logger } from "pino";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { HOODI } from "../../core/eth/networks.js";
import { NektarError } from "../../core/errors.js";
import { toHex } from "../../core/hex.js";
import { readPasswordFile } from "../../core/crypto/index.js";
import { registerExampleAvs, startExampleAvs, submitTasks } from "./avs.js";
import { deployContracts, depositValidators, registerOperators, startChain } from "./chain.js";
import { clusterDefinition, runClusterDkg } from "./cluster.js";
import { Lifecycle } from "./lifecycle.js";
import { LogFiles } from "./logs.js";
import { createOperator, writePasswordFile, type DevnetOperator } from "./operators.js";
import { Ports } from "./ports.js";
import { LiveSummary } from "./summary.js";
import { Steps, type Print, seconds } from "./steps.js";
import { chainSummary } from "./tasks.js";
import { beaconNetwork, dutiesSummary, splitInteropValidators, startValidatorNodes } from "./validators.js";

export interface DevnetOptions {
  operators: number;
  threshold: number;
  validators: number;
  /** A beacon node's REST API: the distributed validators run on its chain. */
  beaconNode?: string;
  /** With beaconNode: split these interop validators (a dev chain's genesis keys) instead of a DKG. */
  interopValidators?: number[];
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
  /** The terminal's width if `print` goes to one (progress and summary are then rewritten in place). */
  columns: number | undefined;
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
  lifecycle.add("process warnings", warningsTo(logs.logger("warnings")));
  const ports = new Ports(options.portBase);
  const { beaconNode, interopValidators } = options;
  const validators = interopValidators?.length ?? options.validators;
  const steps = new Steps(beaconNode === undefined ? 8 : 10, print, io.columns);
  const startedAt = performance.now();
  print(
    `nektar devnet: ${options.operators} operators (threshold ${options.threshold}), ${validators} validator${validators === 1 ? "" : "s"}` +
      `${beaconNode === undefined ? "" : ` on the beacon chain of ${beaconNode}`}; data dir ${dataDir}\n`,
  );
  try {
    const network =
      beaconNode === undefined
        ? undefined
        : await steps.run(`reading the network of the beacon node ${beaconNode}`, async () => {
            const read = await beaconNetwork(beaconNode);
            return { result: read, summary: `${read.name}, genesis fork version ${toHex(read.genesisForkVersion)}` };
          });
    signal.throwIfAborted();

    const { anvil, accounts } = await steps.run("starting a local chain (anvil, Prague)", async () => {
      const chain = await startChain(options.operators);
      lifecycle.add("anvil", () => chain.anvil.stop());
      return { result: chain, summary: chain.anvil.url };
    });
    signal.throwIfAborted();

    // Deposits are signed for the beacon chain's network, or for Hoodi's when there is none.
    const forkVersion = toHex((network ?? HOODI).genesisForkVersion);
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
      await registerOperators(anvil, contracts, created, BigInt(validators) * 10n ** 18n);
      return { result: created, summary: `${created.length} registered, ${validators} divETH collateral each` };
    });
    signal.throwIfAborted();

    const clusterOptions = {
      name: "devnet",
      threshold: options.threshold,
      validators,
      forkVersion,
      withdrawalAddress: contracts.addresses.stakingPool,
      password,
      signal,
      logger: logs.logger("dkg"),
    };
    const keysWhere = `keystores in ${join(dataDir, "operators", "op-*", "dkg")}`;
    const lock =
      interopValidators === undefined || network === undefined
        ? await steps.run(`DKG of ${validators} validators among the ${options.operators} operators over libp2p`, async (progress) => {
            const definition = await clusterDefinition(operators, clusterOptions);
            const made = await runClusterDkg(operators, definition, clusterOptions, ({ phase, peersReady, peers, validatorsDone }) =>
              progress(phase === "connect" ? `connecting ${peersReady}/${peers}` : `${phase} ${validatorsDone}/${validators}`),
            );
            return { result: made, summary: `lock ${made.lockHash.slice(0, 18)}..., ${keysWhere}` };
          })
        : await steps.run(`splitting the chain's interop validators ${interopValidators.join(", ")} among the ${options.operators} operators (dev-chain keys, trusted dealer)`, async () => {
            const definition = await clusterDefinition(operators, clusterOptions);
            const made = await splitInteropValidators(operators, definition, interopValidators, network, password);
            return { result: made, summary: `lock ${made.lockHash.slice(0, 18)}..., ${keysWhere}` };
          });
    signal.throwIfAborted();

    await steps.run(`depositing the ${validators} validators through the staking pool`, async () => {
      await depositValidators(anvil, contracts, accounts, lock);
      return { result: undefined, summary: `${validators * 32} ETH to the deposit contract, 1 divETH of each operator's collateral locked per validator` };
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

    const nodes =
      beaconNode === undefined || network === undefined
        ? undefined
        : await steps.run(`starting ${operators.length} validator nodes (nektar node) on ${beaconNode}`, async () => {
            const started = await startValidatorNodes({ operators, beaconNode, network, passwordFile, ports, logs, lifecycle });
            return { result: started.nodes, summary: `node APIs ${started.nodes[0]!.apiUrl} ...` };
          });
    signal.throwIfAborted();

    // The devnet's own failure (its chain gone, say) ends the run as Ctrl-C would, then throws.
    let lost: string | undefined;
    const stopped = new AbortController();
    const summary = new LiveSummary(print, io.columns, (reason) => {
      lost = `the chain at ${anvil.url} stopped answering (${reason})`;
      stopped.abort();
    });
    await steps.run(`submitting a task every ${seconds(options.taskIntervalMs)} over REST`, async () => {
      const tasks = submitTasks(avs, avsId, options.taskIntervalMs, logs.logger("tasks"));
      lifecycle.add("task submission", () => tasks.stop());
      summary.add(chainSummary(anvil, contracts), true);
      if (nodes !== undefined) summary.add(dutiesSummary(nodes[0]!.metricsUrl));
      lifecycle.add("summary", () => summary.stop());
      return { result: undefined, summary: "" };
    });

    print(`\nrunning (started in ${seconds(performance.now() - startedAt)}):\n`);
    printWhere(print, [
      ["chain (JSON-RPC)", anvil.url],
      ["AVS REST API", `${avs.gatewayUrl}/v1 (API key in ${avs.apiKeyFile})`],
      ["Swagger UI", `${avs.gatewayUrl}/docs (OpenAPI: ${avs.gatewayUrl}/openapi.json)`],
      ["AVS aggregator", `${avs.aggregatorUrl}/v1/tasks/{id}, metrics ${avs.aggregatorUrl}/metrics`],
      ["AVS executor", avs.executorUrl],
      ["AVS workers", `${avs.workerUrls[0]}/status ... ${avs.workerUrls.at(-1)}/status, each with /metrics`],
      ["validators", lock.validators.map((v) => v.pubkey.slice(0, 12) + "...").join(", ")],
      ...(nodes === undefined
        ? []
        : ([
            ["validator nodes", `${nodes[0]!.apiUrl}/v1/node ... ${nodes.at(-1)!.apiUrl}/v1/node, Web3Signer API at /api/v1/eth2`],
            ["node metrics", `${nodes[0]!.metricsUrl}/metrics ... ${nodes.at(-1)!.metricsUrl}/metrics`],
          ] as const)),
      ["keystore password", passwordFile],
      ["logs", logs.dir],
      ["data dir", dataDir],
    ]);
    print(
      `\nsubmit a task yourself:\n  curl -s -H "x-api-key: $(cat ${avs.apiKeyFile})" -H "content-type: application/json" ` +
        `-d '{"input":"0x68656c6c6f"}' ${avs.gatewayUrl}/v1/avs/${avsId}/tasks\n`,
    );
    print(`press Ctrl-C to stop\n\n`);
    summary.start(options.summaryIntervalMs);
    await aborted(AbortSignal.any([signal, stopped.signal]));
    if (lost !== undefined) throw new NektarError(`devnet: ${lost}; stopping everything`);
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    print("\nstopping ...\n");
    const failures = await lifecycle.stopAll();
    for (const failure of failures) print(`  could not stop ${failure}\n`);
    print(`stopped; data and logs kept in ${dataDir}\n`);
  }
}

/** What runs where, one aligned line each. */
function printWhere(print: Print, lines: readonly (readonly [string, string])[]): void {
  for (const [what, where] of lines) print(`  ${what.padEnd(20)} ${where}\n`);
}

/** A new data dir, or the given one if it is empty (a devnet starts from nothing). */
async function prepareDataDir(dataDir: string | undefined): Promise<string> {
  if (dataDir === undefined) return mkdtemp(join(tmpdir(), "nektar-devnet-"));
  const dir = resolve(dataDir);
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) throw new NektarError(`--data-dir ${dataDir}: not empty; a devnet starts from a new or empty folder`);
  return dir;
}

/**
 * Sends Node's process warnings (a dependency's deprecation notice, say) to a log file instead of
 * between the progress lines; returns what puts Node's own printing back.
 */
function warningsTo(logger: Logger): () => void {
  const previous = process.listeners("warning");
  process.removeAllListeners("warning");
  const onWarning = (warning: Error): void => logger.warn({ name: warning.name, err: warning.message }, "process warning");
  process.on("warning", onWarning);
  return () => {
    process.off("warning", onWarning);
    for (const listener of previous) process.on("warning", listener);
  };
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

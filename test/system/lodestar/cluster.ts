/**
 * A cluster of real `nektar node` processes for the dev chain's genesis validators: their
 * interop keys split by a trusted dealer (services/signer/node/testing.ts), one process per
 * operator, run from its DKG-layout folder, over the TypeScript sources (test/devnet/register.mjs).
 *
 *   const cluster = await writeNodeCluster(dir, chain, { validators: [6, 7], operators: 4, threshold: 3 });
 *   const run = startNodes(cluster, [0, 1, 2], { validatorClient: true });   // operator 3 down
 *   ...
 *   await run.stop();
 */
import { mkdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { customNetwork } from "../../../services/core/eth/networks.js";
import { BeaconClient } from "../../../services/core/eth/beacon/index.js";
import { toHex } from "../../../services/core/hex.js";
import { type TestClusterFiles, testNodeConfig, writeTestCluster } from "../../../services/signer/node/testing.js";
import { freePort, Processes } from "../processes.js";
import type { LodestarDevChain } from "./devchain.js";
import { interopSecretScalar } from "./interop.js";

const REPO = resolve(fileURLToPath(import.meta.url), "../../../..");

export interface NodeCluster extends TestClusterFiles {
  dir: string;
  /** Each operator's p2p, API and metrics ports. */
  ports: { p2p: number; api: number; metrics: number }[];
  beaconUrl: string;
}

export async function writeNodeCluster(
  dir: string,
  chain: LodestarDevChain,
  options: { validators: readonly number[]; operators: number; threshold: number },
): Promise<NodeCluster> {
  // The network as the nodes will see it from the beacon node (its genesis fork version).
  const genesis = await new BeaconClient(chain.restUrl).genesis();
  const ports = [];
  for (let i = 0; i < options.operators; i++) ports.push({ p2p: await freePort(), api: await freePort(), metrics: await freePort() });
  const files = await writeTestCluster(dir, {
    validatorSecrets: options.validators.map(interopSecretScalar),
    operators: options.operators,
    threshold: options.threshold,
    ports: ports.map((p) => p.p2p),
    network: customNetwork({ name: "lodestar-dev", genesisForkVersion: toHex(genesis.genesisForkVersion) }),
  });
  return { ...files, dir, ports, beaconUrl: chain.restUrl };
}

export interface NodeRun {
  /** http://127.0.0.1:<api port> of operator i. */
  apiUrl(i: number): string;
  logTail(i: number, lines?: number): string;
  /** The first node that has exited, with its log, if any has. */
  exited(): string | undefined;
  /** Kills every node of this run (SIGKILL: the state on disk is what a crash leaves). */
  stop(): Promise<void>;
}

/** Starts `nektar node` for the given operators; the others stay down. */
export async function startNodes(cluster: NodeCluster, operators: readonly number[], options: { validatorClient: boolean; logDir: string }): Promise<NodeRun> {
  mkdirSync(options.logDir, { recursive: true });
  const processes = new Processes(options.logDir);
  for (const i of operators) {
    const op = cluster.operators[i]!;
    const config = testNodeConfig(op, cluster.ports[i]!, { beaconNodeUrls: [cluster.beaconUrl], network: "lodestar-dev", validatorClient: options.validatorClient });
    const file = join(op.dir, "node.json");
    await writeFile(file, JSON.stringify(config, null, 2));
    processes.start(`op-${i}`, process.execPath, ["--import", join(REPO, "test/devnet/register.mjs"), join(REPO, "test/devnet/nektar.ts"), "node", "--config", file], {
      env: {
        ...Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== "NODE_OPTIONS")),
        // @lodestar/types sizes Altair blocks by the preset: the dev chain's is minimal.
        LODESTAR_PRESET: "minimal",
        NEKTAR_LOG_LEVEL: "debug",
      },
      cwd: REPO,
    });
  }
  return {
    apiUrl: (i) => `http://127.0.0.1:${cluster.ports[i]!.api}`,
    logTail: (i, lines = 40) => processes.logTail(`op-${i}`, lines),
    exited: () => processes.exited(),
    stop: () => processes.stopAll(),
  };
}

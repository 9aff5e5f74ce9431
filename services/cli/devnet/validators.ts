/**
 * The distributed validators on a real beacon chain (--beacon-node): the chain's network read
 * from the beacon node, optionally the chain's interop validators split among the operators
 * instead of a DKG (a dev chain's validators are active from genesis; a DKG's would first need a
 * deposit), and one `nektar node` per operator, in this process, from a node.json in its folder.
 */
import { mkdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { dealCluster } from "../../core/cluster/dealt.js";
import type { ClusterLock } from "../../core/cluster/lock.js";
import { KEYS_DIR, LOCK_FILE } from "../../core/cluster/shares.js";
import { BeaconClient, BeaconNodes } from "../../core/eth/beacon/index.js";
import type { Network } from "../../core/eth/index.js";
import { NektarError } from "../../core/errors.js";
import { writeFileAtomic } from "../../core/store/files.js";
import type { ClusterDefinition } from "../../core/p2p/definition.js";
import { writeCeremonyOutput } from "../../dkg/output.js";
import { parseNodeConfig } from "../../signer/node/config.js";
import { type RunningNode, runNode } from "../../signer/node/node.js";
import { dkgDir } from "./cluster.js";
import { interopSecret } from "./interop.js";
import type { Lifecycle } from "./lifecycle.js";
import type { LogFiles } from "./logs.js";
import { DEVNET_KDF, type DevnetOperator, IDENTITY_FILE } from "./operators.js";
import { HOST, type Ports } from "./ports.js";

/** The beacon node's network (name, genesis fork version and validators root), or an error naming the URL. */
export async function beaconNetwork(url: string): Promise<Network> {
  try {
    return await new BeaconClient(new BeaconNodes([url])).network();
  } catch (err) {
    throw new NektarError(`--beacon-node ${url}: cannot read its network (${(err as Error).message}); is it a beacon node's REST API?`, { cause: err });
  }
}

/**
 * Splits the given interop validators among the definition's operators (a trusted dealer: this
 * process holds every whole key for a moment, which is what a dev chain's public keys allow) and
 * writes each operator's folder as a DKG would: same lock, same layout, so everything after is
 * the DKG path. Resolves to the lock.
 */
export async function splitInteropValidators(
  operators: readonly DevnetOperator[],
  definition: ClusterDefinition,
  indices: readonly number[],
  network: Network,
  password: string,
): Promise<ClusterLock> {
  const { lock, shares } = await dealCluster(definition, indices.map(interopSecret), network, operators.map((op) => op.identity));
  await Promise.all(
    operators.map((op, i) =>
      writeCeremonyOutput(dkgDir(op), { lock, shareId: i + 1, shares: shares[i]!, disqualified: [] }, { password, kdf: DEVNET_KDF }),
    ),
  );
  return lock;
}

export interface RunningValidators {
  /** Each node's API (node API and Web3Signer API) and metrics URLs, by operator. */
  nodes: { apiUrl: string; metricsUrl: string }[];
}

export interface StartNodesOptions {
  operators: readonly DevnetOperator[];
  beaconNode: string;
  network: Network;
  passwordFile: string;
  ports: Ports;
  logs: LogFiles;
  lifecycle: Lifecycle;
}

/**
 * Writes each operator's node.json (as `nektar node --config` takes it: shares from its DKG
 * folder, p2p on its address in the lock) and runs the node from it in this process; resolves
 * once every node has loaded its shares and met the beacon node. Each logs to logs/node-op-<i>.log.
 */
export async function startValidatorNodes(options: StartNodesOptions): Promise<RunningValidators> {
  const { operators, lifecycle } = options;
  const apiPorts = await options.ports.take(operators.length * 2, "the validator nodes' APIs and metrics");
  const nodes = await Promise.all(
    operators.map(async (op, i): Promise<RunningNode> => {
      const path = join(op.dir, "node.json");
      await mkdir(join(op.dir, "node-data"), { mode: 0o700 });
      const json = {
        network: options.network.name,
        beaconNodeUrls: [options.beaconNode],
        p2p: { port: op.p2pPort, address: HOST },
        api: { port: apiPorts[2 * i], address: HOST },
        metrics: { port: apiPorts[2 * i + 1], address: HOST },
        identityFile: IDENTITY_FILE,
        lockFile: join("dkg", LOCK_FILE),
        keysDir: join("dkg", KEYS_DIR),
        passwordFile: relative(op.dir, options.passwordFile),
        dataDir: "node-data",
      };
      const config = parseNodeConfig(json, path, op.dir);
      await writeFileAtomic(path, JSON.stringify(json, null, 2) + "\n", { overwrite: false });
      const log = options.logs.logger(`node-${op.name}`);
      const node = await runNode(config, { logger: (component) => log.child({ component }) });
      lifecycle.add(`validator node of ${op.name}`, () => node.stop());
      await node.started;
      return node;
    }),
  );
  return { nodes: nodes.map((node) => ({ apiUrl: node.apiUrl, metricsUrl: node.metricsUrl })) };
}

/** The summary's validator part, from operator 0's node: "duties 12 done, 0 failed". */
export function dutiesSummary(metricsUrl: string): () => Promise<string> {
  return async () => {
    const text = await (await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
    let done = 0;
    let failed = 0;
    for (const m of text.matchAll(/^nektar_signer_duties_total\{([^}]*)\} (\d+)/gm)) {
      if (m[1]!.includes('outcome="done"')) done += Number(m[2]);
      else if (m[1]!.includes('outcome="failed"')) failed += Number(m[2]);
    }
    return `duties ${done} done, ${failed} failed (op-0)`;
  };
}

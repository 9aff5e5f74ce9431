/**
 * A cluster's keys made the way operators make them, each step in the operator's own container
 * of the image: `nektar identity create`, `nektar cluster create` and `nektar cluster sign` in
 * turn on a shared definition, then `nektar dkg` in every container at once over the cluster
 * network. Each operator's output stays on its volume, for `nektar node` to run on.
 */
import { join } from "node:path";
import { NektarError } from "../../../services/core/errors.js";
import { type ContainerCluster, type RunResult, STATE_DIR } from "./cluster.js";

/** Every operator's libp2p port (each container has its own address). */
export const P2P_PORT = 3610;
export const PASSWORD = "correct horse battery staple";
/** Where `nektar dkg` writes, in each operator's volume. */
export const DKG_DIR = "dkg";

export interface DkgOutput {
  readonly operators: readonly string[];
  readonly peerIds: readonly string[];
  /** Host folder of the signed definition (mounted at /cluster). */
  readonly clusterDir: string;
  /** Host folder of operator i's ceremony output (cluster-lock.json, deposit_data.json, validator_keys/). */
  outDir(i: number): string;
  /** `nektar dkg`'s output, per operator. */
  readonly results: readonly RunResult[];
}

/** `forkVersion`: the genesis fork version of the chain the validators are for. */
export async function dkgInContainers(cluster: ContainerCluster, options: { operators: number; validators: number; forkVersion: string }): Promise<DkgOutput> {
  const operators = Array.from({ length: options.operators }, (_, i) => `op-${i}`);
  const identity = `${STATE_DIR}/identity.key`;
  const peerIds = await Promise.all(
    operators.map(async (op) => {
      const { output } = succeeded(op, await cluster.run(op, ["identity", "create", "--out", identity]));
      const peerId = /peer id (\S+)/.exec(output)?.[1];
      if (peerId === undefined) throw new NektarError(`${op}: no peer id in the output of identity create: ${output}`);
      return peerId;
    }),
  );

  const clusterDir = cluster.volume("cluster");
  const mounts = { [clusterDir]: "/cluster" };
  cluster.writeFile(
    "cluster",
    "operators.json",
    JSON.stringify(
      operators.map((name, i) => ({
        name,
        address: `0x${(i + 1).toString(16).padStart(40, "0")}`,
        peerId: peerIds[i],
        multiaddrs: [`/dns4/${name}/tcp/${P2P_PORT}`],
      })),
    ),
  );
  const withdrawal = `0x${"aa".repeat(20)}`;
  succeeded(
    operators[0]!,
    await cluster.run(
      operators[0]!,
      ["cluster", "create", "--name", "containers", "--operators", "/cluster/operators.json", "--fork-version", options.forkVersion,
        "--validators", String(options.validators), "--withdrawal-address", withdrawal, "--fee-recipient", withdrawal,
        "--out", "/cluster/definition.json"],
      { mounts },
    ),
  );
  // Each operator signs in turn, as they would passing the file around.
  for (const op of operators) succeeded(op, await cluster.run(op, ["cluster", "sign", "/cluster/definition.json", "--identity", identity], { mounts }));

  for (const op of operators) cluster.writeFile(op, "password.txt", PASSWORD + "\n");
  const results = await Promise.all(
    operators.map(async (op) =>
      succeeded(
        op,
        await cluster.run(
          op,
          ["dkg", "--definition", "/cluster/definition.json", "--identity", identity, "--out", `${STATE_DIR}/${DKG_DIR}`,
            "--password-file", `${STATE_DIR}/password.txt`, "--kdf", "pbkdf2", "--timeout", "120", "--phase-timeout", "60"],
          { mounts },
        ),
      ),
    ),
  );
  return { operators, peerIds, clusterDir, outDir: (i) => join(cluster.volume(operators[i]!), DKG_DIR), results };
}

function succeeded(op: string, result: RunResult): RunResult {
  if (result.exitCode !== 0) throw new NektarError(`${op}: exit code ${result.exitCode}:\n${result.output}`);
  return result;
}

/**
 * The DKG of the devnet's validators, from the pieces `nektar dkg` wires (services/dkg/wire.ts),
 * once per operator in this process: each over its own ClusterHost on its loopback port, each
 * writing its own output folder (cluster-lock.json, deposit_data.json, validator_keys/).
 */
import { setMaxListeners } from "node:events";
import { join } from "node:path";
import { Registry } from "prom-client";
import type { Logger } from "pino";
import type { ClusterLock } from "../../core/cluster/lock.js";
import { createDefinition, signDefinition, type ClusterDefinition } from "../../core/p2p/definition.js";
import { ClusterHost } from "../../core/p2p/host.js";
import { type CeremonyResult, type Progress, runCeremony } from "../../dkg/ceremony.js";
import { ClusterHostNetwork } from "../../dkg/libp2p.js";
import { writeCeremonyOutput } from "../../dkg/output.js";
import { DEVNET_KDF, DKG_DIR, type DevnetOperator } from "./operators.js";

export interface ClusterOptions {
  name: string;
  threshold: number;
  validators: number;
  /** The network's genesis fork version, which the deposit data is signed over. */
  forkVersion: string;
  /** Of the validators' withdrawal credentials (0x01) and fee recipient: the staking pool. */
  withdrawalAddress: string;
  password: string;
  signal: AbortSignal;
  /** The ceremony's and the hosts' logs. */
  logger: Logger;
}

/** How far the ceremony is, as operator 0 sees it. */
export type DkgProgress = (progress: Progress) => void;

/** The folder of an operator's DKG output. */
export function dkgDir(op: DevnetOperator): string {
  return join(op.dir, DKG_DIR);
}

/** A definition of the operators, signed by all of them (they all live here). */
export async function clusterDefinition(operators: readonly DevnetOperator[], options: ClusterOptions): Promise<ClusterDefinition> {
  let definition = createDefinition({
    name: options.name,
    forkVersion: options.forkVersion,
    threshold: options.threshold,
    numValidators: options.validators,
    withdrawalAddress: options.withdrawalAddress,
    feeRecipient: options.withdrawalAddress,
    operators: operators.map((op) => ({ name: op.name, address: op.address, peerId: op.identity.peerId.toString(), multiaddrs: [op.multiaddr] })),
  });
  for (const op of operators) definition = await signDefinition(definition, op.identity);
  return definition;
}

/**
 * Runs every operator's side of the DKG and writes each one's output; resolves to the cluster
 * lock when all completed. The first failure aborts the others, so a broken ceremony fails fast
 * rather than at its timeouts.
 */
export async function runClusterDkg(
  operators: readonly DevnetOperator[],
  definition: ClusterDefinition,
  options: ClusterOptions,
  onProgress?: DkgProgress,
): Promise<ClusterLock> {
  const failed = new AbortController();
  const signal = AbortSignal.any([options.signal, failed.signal]);
  setMaxListeners(0, signal); // one listener per operator's ceremony
  const outcomes = await Promise.allSettled(
    operators.map((op) =>
      runOperatorDkg(op, definition, signal, options.logger, op.index === 0 ? onProgress : undefined).catch((err: unknown) => {
        failed.abort(err);
        throw err;
      }),
    ),
  );
  // Every operator has stopped its host by now, failed or not: nothing outlives the step.
  const results = outcomes.map((outcome) => {
    if (outcome.status === "rejected") throw outcome.reason;
    return outcome.value;
  });
  await Promise.all(results.map((result, i) => writeCeremonyOutput(dkgDir(operators[i]!), result, { password: options.password, kdf: DEVNET_KDF })));
  return results[0]!.lock;
}

async function runOperatorDkg(
  op: DevnetOperator,
  definition: ClusterDefinition,
  signal: AbortSignal,
  logger: Logger,
  onProgress: DkgProgress | undefined,
): Promise<CeremonyResult> {
  const host = new ClusterHost({
    identity: op.identity,
    operators: definition.operators,
    listen: [op.multiaddr],
    registry: new Registry(),
    logger: logger.child({ component: "p2p", operator: op.name }),
    // Every host shares this event loop: when all dial at once, handshakes queue there and finish
    // late together, so dials get the time to finish rather than being retried.
    dialTimeoutMs: 30_000,
    redial: { initialMs: 100, maxMs: 1_000 },
    // The ceremony's own timeouts judge the peers; a liveness ping delayed by a busy event loop
    // (every operator verifying deals at once) would only cut connections the ceremony is using.
    pingIntervalMs: 600_000,
  });
  await host.start();
  try {
    return await runCeremony({
      definition,
      identity: op.identity,
      network: new ClusterHostNetwork(host),
      timeouts: { connectMs: 120_000, phaseMs: 120_000 },
      logger: logger.child({ component: "dkg" }),
      onProgress,
      signal,
    });
  } finally {
    await host.stop();
  }
}

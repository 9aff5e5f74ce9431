/**
 * Valid resources of each kind, for tests, docs and benchmarks: one place that knows what a
 * complete, plausible resource looks like.
 */
import type { V1ConfigMap } from "@kubernetes/client-node";
import { createHash } from "node:crypto";
import { API_VERSION, type AVSSubscription, type DistributedValidator, type KeyShare, type Operator } from "./v1alpha1.js";

/** A deterministic, well-formed (not necessarily on-curve) BLS public key. */
export function pubkey(seed: number): string {
  return `0x${seed.toString(16).padStart(8, "0").repeat(12)}`;
}

export const examples = {
  operator(name: string): Operator {
    return {
      apiVersion: API_VERSION,
      kind: "Operator",
      metadata: { name },
      spec: {
        network: "hoodi",
        // A deterministic, non-zero address per name.
        address: `0x${Buffer.from(name).toString("hex").padStart(40, "0").slice(-40)}`,
        identitySecretRef: { name: `${name}-identity` },
        beaconNodeUrls: ["http://beacon.hoodi.svc:5052"],
        executionUrl: "http://geth.hoodi.svc:8545",
      },
    };
  },

  keyShare(name: string, operator: string, shareIndex: number, validator = 1, clusterLock = "cluster-1-lock"): KeyShare {
    return {
      apiVersion: API_VERSION,
      kind: "KeyShare",
      metadata: { name },
      spec: {
        operatorRef: { name: operator },
        validatorPubkey: pubkey(validator),
        shareIndex,
        threshold: 3,
        totalShares: 4,
        publicShares: [1, 2, 3, 4].map((i) => pubkey(validator * 100 + i)),
        keystoreSecretRef: { name: `${name}-keystore` },
        clusterLockConfigMapRef: { name: clusterLock },
      },
    };
  },

  /**
   * A ConfigMap with a cluster lock for `keyShares`' validators: what the controller reads of a
   * lock (lockHash, each validator's public shares), not one a node would accept.
   */
  clusterLockConfigMap(name: string, keyShares: readonly KeyShare[]): V1ConfigMap {
    const validators = [...new Map(keyShares.map((ks) => [ks.spec.validatorPubkey, { pubkey: ks.spec.validatorPubkey, publicShares: ks.spec.publicShares }])).values()];
    const lockHash = `0x${createHash("sha256").update(JSON.stringify(validators)).digest("hex")}`;
    return { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { "cluster-lock.json": `${JSON.stringify({ lockHash, validators }, null, 2)}\n` } };
  },

  avsSubscription(name: string, operator: string): AVSSubscription {
    return {
      apiVersion: API_VERSION,
      kind: "AVSSubscription",
      metadata: { name },
      spec: {
        operatorRef: { name: operator },
        avsId: 1,
        chainId: 560048,
        contracts: { taskManager: `0x${"a1".repeat(20)}`, avsDirectory: `0x${"a2".repeat(20)}`, operatorRegistry: `0x${"a3".repeat(20)}` },
        aggregator: { peerId: "16Uiu2HAmQf5KGz1rX2a5jSFyuhDT9A2gHqbBz5Cm6VfCZcfH2eHL", multiaddrs: ["/dns4/aggregator.avs.svc/tcp/3620"] },
        blsKeySecretRef: { name: `${operator}-bls` },
        executor: { url: "http://executor.avs.svc:8080" },
      },
    };
  },

  distributedValidator(name: string, operators: string[]): DistributedValidator {
    return {
      apiVersion: API_VERSION,
      kind: "DistributedValidator",
      metadata: { name },
      spec: {
        network: "hoodi",
        operators,
        threshold: Math.ceil((2 * operators.length) / 3),
        validators: 1,
        withdrawalAddress: `0x${"11".repeat(20)}`,
        feeRecipient: `0x${"22".repeat(20)}`,
      },
    };
  },
};

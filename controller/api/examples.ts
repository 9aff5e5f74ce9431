/**
 * Valid resources of each kind, for tests, docs and benchmarks: one place that knows what a
 * complete, plausible resource looks like.
 */
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
        identitySecretRef: { name: `${name}-identity` },
        beaconNodeUrls: ["http://beacon.hoodi.svc:5052"],
        executionUrl: "http://geth.hoodi.svc:8545",
      },
    };
  },

  keyShare(name: string, operator: string, shareIndex: number, validator = 1): KeyShare {
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
      },
    };
  },

  avsSubscription(name: string, operator: string): AVSSubscription {
    return {
      apiVersion: API_VERSION,
      kind: "AVSSubscription",
      metadata: { name },
      spec: {
        operatorRef: { name: operator },
        avsAddress: `0x${"ab".repeat(20)}`,
        chainId: 560048,
        stakeWei: "32000000000000000000",
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

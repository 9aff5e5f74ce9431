/**
 * How KeyShares reach their operator's node: one Secret per operator holding the keystore and
 * password of every share assigned to it, the cluster lock of each, and the manifest
 * `keyshares.json` (services/core/cluster/manifest.ts, what the node reads). The node mounts it
 * as a volume, which the kubelet updates in place, so the node hot-loads a new share without a
 * restart; its slashing-protection records stay on its own volume, untouched by share changes.
 */
import type { V1Secret } from "@kubernetes/client-node";
import { type KeyShareEntry, MANIFEST_FILE, lockFileName } from "../../services/core/cluster/manifest.js";
import type { KeyShare, Operator } from "../api/v1alpha1.js";
import { LABELS, ownedMeta } from "./meta.js";
import { keySharesSecretName, selectorLabels } from "./operator.js";

export const MANIFEST_KEY = MANIFEST_FILE;

/** A KeyShare with what goes to the node with it. */
export interface LoadedKeyShare {
  keyShare: KeyShare;
  keystore: Buffer;
  password: Buffer;
  clusterLock: { lockHash: string; text: string };
}

/**
 * The node's Secret. A node holds one share of a validator (its manifest allows no more): of
 * KeyShares of the same validator, the first by name goes (see duplicateOf).
 */
export function keySharesSecret(operator: Operator, shares: readonly LoadedKeyShare[]): V1Secret {
  const sorted = [...shares].sort((a, b) => a.keyShare.metadata!.name!.localeCompare(b.keyShare.metadata!.name!));
  const data: Record<string, string> = {};
  const manifest: KeyShareEntry[] = [];
  const validators = new Set<string>();
  for (const { keyShare, keystore, password, clusterLock } of sorted) {
    if (validators.has(keyShare.spec.validatorPubkey)) continue;
    validators.add(keyShare.spec.validatorPubkey);
    const name = keyShare.metadata!.name!;
    const keystoreFile = `${name}.keystore.json`;
    const passwordFile = `${name}.password`;
    const clusterLockFile = lockFileName(clusterLock.lockHash);
    data[keystoreFile] = keystore.toString("base64");
    data[passwordFile] = password.toString("base64");
    // One copy of a lock however many of the node's shares were made under it.
    data[clusterLockFile] ??= Buffer.from(clusterLock.text).toString("base64");
    const { validatorPubkey, shareIndex, threshold, publicShares } = keyShare.spec;
    manifest.push({ name, validatorPubkey, shareIndex, threshold, publicShares, keystoreFile, passwordFile, clusterLockFile });
  }
  data[MANIFEST_KEY] = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`).toString("base64");
  const operatorName = operator.metadata!.name!;
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: ownedMeta(operator, keySharesSecretName(operatorName), { ...selectorLabels(operatorName), [LABELS.component]: "keyshares" }),
    data,
  };
}

/** The KeyShare that goes to the node instead of `keyShare`, another of its validator on its operator, if any. */
export function duplicateOf(keyShare: KeyShare, others: readonly KeyShare[]): KeyShare | undefined {
  const name = keyShare.metadata!.name!;
  return others.find(
    (other) =>
      other.spec.operatorRef.name === keyShare.spec.operatorRef.name &&
      other.spec.validatorPubkey === keyShare.spec.validatorPubkey &&
      other.metadata!.name!.localeCompare(name) < 0 &&
      !other.metadata?.deletionTimestamp,
  );
}

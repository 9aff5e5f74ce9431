/**
 * How KeyShares reach their operator's node: one Secret per operator holding the keystore and
 * password of every share assigned to it, plus a manifest. The node mounts it as a volume, which
 * the kubelet updates in place, so the node hot-loads a new share without a restart; its
 * slashing-protection records stay on its own volume, untouched by share changes.
 */
import type { V1Secret } from "@kubernetes/client-node";
import type { KeyShare, Operator } from "../api/v1alpha1.js";
import { LABELS, ownedMeta } from "./meta.js";
import { keySharesSecretName, selectorLabels } from "./operator.js";

export const MANIFEST_KEY = "keyshares.json";

/** A KeyShare with its keystore and password, as read from its keystore Secret. */
export interface LoadedKeyShare {
  keyShare: KeyShare;
  keystore: Buffer;
  password: Buffer;
}

/** The entry of one share in keyshares.json, what the node reads. */
export interface KeyShareManifestEntry {
  name: string;
  validatorPubkey: string;
  shareIndex: number;
  threshold: number;
  publicShares: string[];
  keystoreFile: string;
  passwordFile: string;
}

export function keySharesSecret(operator: Operator, shares: readonly LoadedKeyShare[]): V1Secret {
  const sorted = [...shares].sort((a, b) => a.keyShare.metadata!.name!.localeCompare(b.keyShare.metadata!.name!));
  const data: Record<string, string> = {};
  const manifest: KeyShareManifestEntry[] = [];
  for (const { keyShare, keystore, password } of sorted) {
    const name = keyShare.metadata!.name!;
    const keystoreFile = `${name}.keystore.json`;
    const passwordFile = `${name}.password`;
    data[keystoreFile] = keystore.toString("base64");
    data[passwordFile] = password.toString("base64");
    const { validatorPubkey, shareIndex, threshold, publicShares } = keyShare.spec;
    manifest.push({ name, validatorPubkey, shareIndex, threshold, publicShares, keystoreFile, passwordFile });
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

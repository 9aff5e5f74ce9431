/**
 * The cluster locks KeyShares name (spec.clusterLockConfigMapRef), as the KeyShare reconciler
 * delivers them to the nodes. A DistributedValidator's lock ConfigMap is the controller's own and
 * read from its cache; another is read from the API server at most once a minute, however many
 * shares name it (a lock is shared by every share of its cluster). The controller checks what
 * it relies on, the lock hash and the share's validator in it; the node checks the rest.
 */
import { ApiException, type CoreV1Api, type V1ConfigMap } from "@kubernetes/client-node";
import { LOCK_FILE } from "../../services/core/cluster/shares.js";
import type { KeyShare } from "../api/v1alpha1.js";
import type { Informers } from "./informers.js";
import { KEYSTORE_FRESH_MS } from "./keystores.js";

export interface ClusterLockFile {
  lockHash: string;
  /** The lock as written, what the node reads. */
  text: string;
  /** Public shares of each validator in the lock, by validator public key. */
  validators: Map<string, readonly string[]>;
}

/** A lock for a KeyShare, or what is wrong: a reason and a message for its status. */
export type LockLookup = { lock: ClusterLockFile } | { reason: "ClusterLockNotFound" | "ClusterLockInvalid" | "ClusterLockMismatch"; message: string };

export class ClusterLocks {
  /** Parsed locks by ConfigMap uid and resourceVersion: parsed once per version, whoever asks. */
  private readonly parsed = new Map<string, { version: string; lock: ClusterLockFile | string }>();
  private readonly reads = new Map<string, { at: number; configMap: V1ConfigMap }>();

  constructor(
    private readonly core: CoreV1Api,
    private readonly informers: Informers,
  ) {}

  async forKeyShare(keyShare: KeyShare): Promise<LockLookup> {
    const namespace = keyShare.metadata!.namespace!;
    const name = keyShare.spec.clusterLockConfigMapRef.name;
    const configMap = (this.informers.configMaps.get(name, namespace) as V1ConfigMap | undefined) ?? (await this.read(namespace, name));
    const text = configMap?.data?.[LOCK_FILE];
    if (configMap === undefined || text === undefined) return { reason: "ClusterLockNotFound", message: `ConfigMap ${name} does not exist in this namespace or has no ${LOCK_FILE}` };
    const lock = this.parse(configMap, text);
    if (typeof lock === "string") return { reason: "ClusterLockInvalid", message: `ConfigMap ${name}: ${LOCK_FILE}: ${lock}` };
    const publicShares = lock.validators.get(keyShare.spec.validatorPubkey);
    if (publicShares === undefined) return { reason: "ClusterLockMismatch", message: `the cluster lock in ConfigMap ${name} has no validator ${keyShare.spec.validatorPubkey}` };
    if (publicShares.join() !== keyShare.spec.publicShares.join()) {
      return { reason: "ClusterLockMismatch", message: `spec.publicShares are not validator ${keyShare.spec.validatorPubkey}'s in the cluster lock in ConfigMap ${name}` };
    }
    return { lock };
  }

  private async read(namespace: string, name: string): Promise<V1ConfigMap | undefined> {
    const key = `${namespace}/${name}`;
    const cached = this.reads.get(key);
    if (cached !== undefined && Date.now() - cached.at < KEYSTORE_FRESH_MS) return cached.configMap;
    const configMap = await this.core.readNamespacedConfigMap({ namespace, name }).catch((error: unknown) => {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    });
    // A missing one is looked for again at the next lookup, as a missing keystore Secret is.
    if (configMap === undefined) this.reads.delete(key);
    else this.reads.set(key, { at: Date.now(), configMap });
    return configMap;
  }

  private parse(configMap: V1ConfigMap, text: string): ClusterLockFile | string {
    const key = configMap.metadata?.uid ?? `${configMap.metadata?.namespace}/${configMap.metadata?.name}`;
    const version = configMap.metadata?.resourceVersion ?? text;
    const cached = this.parsed.get(key);
    if (cached?.version === version) return cached.lock;
    const lock = parseLockFile(text);
    this.parsed.set(key, { version, lock });
    return lock;
  }
}

/** What the controller reads of a lock, or what is wrong with it. */
function parseLockFile(text: string): ClusterLockFile | string {
  let value: { lockHash?: unknown; validators?: unknown };
  try {
    value = JSON.parse(text) as typeof value;
  } catch (error) {
    return `not JSON (${(error as Error).message})`;
  }
  if (typeof value.lockHash !== "string" || !/^0x[0-9a-f]{64}$/.test(value.lockHash)) return "no lockHash (32 bytes, 0x-lowercase hex)";
  if (!Array.isArray(value.validators)) return "no validators";
  const validators = new Map<string, readonly string[]>();
  for (const v of value.validators as { pubkey?: unknown; publicShares?: unknown }[]) {
    if (typeof v?.pubkey !== "string" || !Array.isArray(v.publicShares)) return "a validator without pubkey or publicShares";
    validators.set(v.pubkey, v.publicShares as string[]);
  }
  return { lockHash: value.lockHash, text, validators };
}

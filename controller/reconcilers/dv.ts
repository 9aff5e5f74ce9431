/**
 * DistributedValidator -> a DKG across its operators (one Job each, resources/dkg.ts), then its
 * KeyShares, cluster lock and deposit data from the Jobs' output Secrets. The phase is what the
 * Jobs report: Running until every Job completed, Failed if one failed for good, Succeeded once
 * the outputs agree on one valid lock and the KeyShares exist.
 *
 * The controller signs the cluster definition with every operator's identity: it reads their
 * identity Secrets (it mounts them into the operators' pods anyway), and a DistributedValidator
 * is a request, by whoever may create one in the namespace, that these operators make these
 * validators. Operators that do not share a namespace, and so a controller, sign a definition
 * themselves (`nektar cluster sign`) and run `nektar dkg` outside of this resource.
 */
import type { V1Job, V1Secret } from "@kubernetes/client-node";
import { type ClusterLock, parseLock } from "../../services/core/cluster/lock.js";
import { DEPOSIT_DATA_FILE, LOCK_FILE } from "../../services/core/cluster/shares.js";
import { NektarError } from "../../services/core/errors.js";
import type { Identity } from "../../services/core/p2p/identity.js";
import { signDefinition } from "../../services/core/p2p/definition.js";
import { DistributedValidatorKind, type DistributedValidator, type Operator } from "../api/v1alpha1.js";
import {
  clusterLockConfigMap,
  depositDataConfigMap,
  depositDataConfigMapName,
  dkgDefinition,
  dkgDefinitionConfigMap,
  dkgIdentity,
  dkgJobs,
  dkgKeyShares,
  dkgOutputSecretName,
  dkgPasswordsSecret,
  dkgService,
  type DkgResourceOptions,
} from "../resources/dkg.js";
import type { ControllerClient } from "./client.js";
import { IdentityUnavailable, type OperatorIdentities } from "./identities.js";
import { setConditions, type Observation } from "./conditions.js";
import { splitKey, type Informers } from "./informers.js";
import { statusChanged, type ReconcileResult } from "./reconciler.js";

type Phase = "Pending" | "Running" | "Succeeded" | "Failed";

/** Reasons to wait for something no event announces, and how soon to look again. */
const UNWATCHED = new Set(["IdentitySecretNotFound", "IdentityInvalid", "OutputMissing"]);
const UNWATCHED_RETRY_MS = 10_000;

/** Why the DKG cannot go on, for status: the phase it leaves the DistributedValidator in, a reason and a message. */
class Blocked extends Error {
  constructor(
    readonly phase: Phase,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export class DistributedValidatorReconciler {
  constructor(
    private readonly identities: OperatorIdentities,
    private readonly informers: Informers,
    private readonly client: ControllerClient,
    private readonly options: DkgResourceOptions,
  ) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const dv = this.informers.distributedValidators.get(name, namespace);
    if (dv === undefined || dv.metadata?.deletionTimestamp) return "done"; // everything it made is garbage collected
    try {
      // A finished DKG is not run again: only its outputs are kept in place.
      const succeeded = dv.status?.phase === "Succeeded" && dv.status.observedGeneration === dv.metadata?.generation;
      if (!succeeded && !(await this.runDkg(dv))) return "done";
      await this.deliver(dv, succeeded);
      return "done";
    } catch (error) {
      if (!(error instanceof Blocked)) throw error;
      const degraded = error.phase !== "Running" || error.reason === "OutputMissing";
      await this.setStatus(dv, { phase: error.phase }, [
        { type: "Ready", status: "False", reason: error.reason, message: error.message },
        { type: "Progressing", status: error.phase === "Running" ? "True" : "False", reason: error.reason, message: error.message },
        degraded ? { type: "Degraded", status: "True", reason: error.reason, message: error.message } : { type: "Degraded", status: "False", reason: "AsExpected", message: "" },
      ]);
      // Identity Secrets are not watched, and an output Secret that is not labelled appears without an event: look again.
      return UNWATCHED.has(error.reason) ? { requeueAfterMs: UNWATCHED_RETRY_MS } : "done";
    }
  }

  /** Applies the DKG's objects; true once every Job has completed. */
  private async runDkg(dv: DistributedValidator): Promise<boolean> {
    const namespace = dv.metadata!.namespace!;
    const operators = this.operators(dv);
    const identities = await Promise.all(operators.map((operator) => this.readIdentity(operator)));
    let definition;
    try {
      definition = dkgDefinition(
        dv,
        operators.map((operator, i) => ({ name: operator.metadata!.name!, address: operator.spec.address!, peerId: identities[i]!.identity.peerId.toString() })),
        this.options.dkgPort,
      );
      for (const { identity } of identities) definition = await signDefinition(definition, identity);
    } catch (error) {
      if (error instanceof NektarError) throw new Blocked("Failed", "InvalidDefinition", error.message);
      throw error;
    }

    // The identity objects are not watched (nothing else edits them): applied each time, a no-op when unchanged.
    for (const object of dkgIdentity(dv)) await this.client.apply(object);
    const objects = [
      dkgService(dv, this.options.dkgPort),
      dkgPasswordsSecret(dv, identities.map((i) => i.secret)),
      dkgDefinitionConfigMap(dv, definition),
      ...dkgJobs(dv, operators.map((o) => o.spec.identitySecretRef.name), this.options),
    ];
    for (const object of objects) await this.client.ensure(object, this.informers.ownedObject(object.kind, namespace, object.metadata?.name));

    const jobs = objects.filter((o): o is V1Job => o.kind === "Job").map((job) => this.informers.jobs.get(job.metadata!.name!, namespace) as V1Job | undefined);
    const failed = jobs.filter((job) => hasCondition(job, "Failed"));
    if (failed.length > 0) throw new Blocked("Failed", "DkgFailed", `DKG Job(s) ${failed.map((j) => j!.metadata?.name).join(", ")} failed: see their pods' logs`);
    const completed = jobs.filter((job) => hasCondition(job, "Complete")).length;
    if (completed < jobs.length) throw new Blocked("Running", "DkgRunning", `${completed}/${jobs.length} operators finished the DKG`);
    return true;
  }

  /**
   * From the output Secrets: the cluster lock and deposit data ConfigMaps and the KeyShares. The
   * first time, the lock is checked in full (every operator's signature, the public shares,
   * the deposit data) and must be the one every operator wrote, of this DistributedValidator's
   * definition; after that it is only read.
   */
  private async deliver(dv: DistributedValidator, succeeded: boolean): Promise<void> {
    const { name, namespace } = dv.metadata!;
    const outputs = dv.spec.operators.map((_, i) => this.informers.secrets.get(dkgOutputSecretName(name!, i + 1), namespace) as V1Secret | undefined);
    const files = outputs.map((secret) => ({ lock: decode(secret, LOCK_FILE), depositData: decode(secret, DEPOSIT_DATA_FILE) }));
    const missing = files.flatMap((f, i) => (f.lock === undefined || f.depositData === undefined ? [dkgOutputSecretName(name!, i + 1)] : []));
    if (missing.length > 0) throw new Blocked(succeeded ? "Succeeded" : "Running", "OutputMissing", `every DKG Job completed but output Secret(s) ${missing.join(", ")} are missing or incomplete`);
    const lockText = files[0]!.lock!;

    let lock: ClusterLock;
    if (succeeded) {
      lock = JSON.parse(lockText) as ClusterLock;
    } else {
      try {
        lock = await parseLock(JSON.parse(lockText), `output Secret ${dkgOutputSecretName(name!, 1)}: ${LOCK_FILE}`);
      } catch (error) {
        throw new Blocked("Failed", "InvalidOutput", error instanceof Error ? error.message : String(error));
      }
      if (lock.definition.uuid !== dv.metadata!.uid) throw new Blocked("Failed", "InvalidOutput", `the DKG output's lock is of another cluster definition (uuid ${lock.definition.uuid})`);
      const disagreeing = files.flatMap((f, i) => (f.lock !== lockText ? [dkgOutputSecretName(name!, i + 1)] : []));
      if (disagreeing.length > 0) throw new Blocked("Failed", "InvalidOutput", `output Secret(s) ${disagreeing.join(", ")} hold another cluster lock than ${dkgOutputSecretName(name!, 1)}`);
    }

    for (const object of [clusterLockConfigMap(dv, lockText), depositDataConfigMap(dv, files[0]!.depositData!)]) {
      await this.client.ensure(object, this.informers.ownedObject("ConfigMap", namespace, object.metadata?.name));
    }
    for (const keyShare of dkgKeyShares(dv, lock)) {
      // Their spec is immutable where it matters; one that exists is left to its reconciler.
      if (this.informers.keyShares.get(keyShare.metadata!.name!, namespace) === undefined) await this.client.apply(keyShare);
    }
    await this.setStatus(
      dv,
      { phase: "Succeeded", lockHash: lock.lockHash, validatorPubkeys: lock.validators.map((v) => v.pubkey), depositDataConfigMap: depositDataConfigMapName(name!) },
      [
        { type: "Ready", status: "True", reason: "KeySharesCreated", message: `${lock.validators.length} validator(s) across ${dv.spec.operators.length} operators` },
        { type: "Progressing", status: "False", reason: "DkgDone", message: "" },
        { type: "Degraded", status: "False", reason: "AsExpected", message: "" },
      ],
    );
  }

  /** The DistributedValidator's Operators, each with the address the definition needs. */
  private operators(dv: DistributedValidator): Operator[] {
    const namespace = dv.metadata!.namespace;
    const operators = dv.spec.operators.map((name) => this.informers.operators.get(name, namespace));
    const missing = dv.spec.operators.filter((_, i) => operators[i] === undefined);
    if (missing.length > 0) throw new Blocked("Pending", "OperatorNotFound", `Operator(s) ${missing.join(", ")} do not exist in this namespace`);
    const unaddressed = operators.filter((o) => o!.spec.address === undefined).map((o) => o!.metadata!.name);
    if (unaddressed.length > 0) {
      throw new Blocked("Pending", "OperatorAddressMissing", `Operator(s) ${unaddressed.join(", ")} have no spec.address: the cluster definition names each operator's Ethereum address`);
    }
    return operators as Operator[];
  }

  private async readIdentity(operator: Operator): Promise<{ identity: Identity; secret: Uint8Array }> {
    try {
      return await this.identities.read(operator);
    } catch (error) {
      if (error instanceof IdentityUnavailable) throw new Blocked("Pending", error.reason, error.message);
      throw error;
    }
  }

  private async setStatus(dv: DistributedValidator, fields: { phase: Phase; lockHash?: string; validatorPubkeys?: string[]; depositDataConfigMap?: string }, observations: Observation[]): Promise<void> {
    // A later problem (an output Secret deleted) does not erase what the DKG made.
    const kept = fields.phase === "Succeeded" && fields.lockHash === undefined ? { lockHash: dv.status?.lockHash, validatorPubkeys: dv.status?.validatorPubkeys, depositDataConfigMap: dv.status?.depositDataConfigMap } : {};
    const status = { ...kept, ...fields, observedGeneration: dv.metadata?.generation, conditions: setConditions(dv.status?.conditions, observations, dv.metadata?.generation ?? 0) };
    if (statusChanged(dv.status, status)) await this.client.applyStatus(DistributedValidatorKind, dv, status);
  }
}

function hasCondition(job: V1Job | undefined, type: "Complete" | "Failed"): boolean {
  return job?.status?.conditions?.some((c) => c.type === type && c.status === "True") ?? false;
}

function decode(secret: V1Secret | undefined, key: string): string | undefined {
  const value = secret?.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, "base64").toString();
}

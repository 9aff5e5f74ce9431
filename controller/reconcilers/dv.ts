/**
 * DistributedValidator -> a DKG across its operators (one Job each), then its KeyShares and
 * deposit data from the Jobs' output Secrets. The phase is what the Jobs report: Running until
 * every Job completed, Failed if one failed for good, Succeeded once the KeyShares exist.
 */
import { ApiException, CoreV1Api, type KubeConfig, type V1Job, type V1Secret } from "@kubernetes/client-node";
import { DistributedValidatorKind, type DistributedValidator } from "../api/v1alpha1.js";
import { depositDataConfigMap, depositDataConfigMapName, dkgDefinition, dkgIdentity, dkgJobs, dkgKeyShares, dkgOutputSecretName, type DkgLock } from "../resources/dkg.js";
import type { ControllerClient } from "./client.js";
import { setConditions, type Observation } from "./conditions.js";
import { splitKey, type Informers } from "./informers.js";
import { statusChanged, type ReconcileResult } from "./reconciler.js";

type Phase = "Pending" | "Running" | "Succeeded" | "Failed";

export class DistributedValidatorReconciler {
  private readonly core: CoreV1Api;

  constructor(
    kc: KubeConfig,
    private readonly informers: Informers,
    private readonly client: ControllerClient,
    private readonly options: { defaultImage: string },
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const dv = this.informers.distributedValidators.get(name, namespace);
    if (dv === undefined || dv.metadata?.deletionTimestamp) return "done"; // Jobs, KeyShares and deposit data are garbage collected
    const operators = dv.spec.operators.map((operator) => this.informers.operators.get(operator, namespace));
    const missing = dv.spec.operators.filter((_, i) => operators[i] === undefined);
    if (missing.length > 0) {
      const message = `Operator(s) ${missing.join(", ")} do not exist in this namespace`;
      await this.setStatus(dv, { phase: "Pending" }, [
        { type: "Ready", status: "False", reason: "OperatorNotFound", message },
        { type: "Progressing", status: "False", reason: "OperatorNotFound", message },
        { type: "Degraded", status: "True", reason: "OperatorNotFound", message },
      ]);
      return "done";
    }

    // Not watched (a DV's DKG runs once): applied each time, a no-op when unchanged.
    for (const object of dkgIdentity(dv)) await this.client.apply(object);
    const definition = dkgDefinition(dv);
    await this.client.ensure(definition, this.informers.ownedObject("ConfigMap", namespace, definition.metadata?.name));
    const jobs = dkgJobs(dv, operators.map((o) => o!.spec.identitySecretRef.name), this.options);
    for (const job of jobs) await this.client.ensure(job, this.informers.ownedObject("Job", namespace, job.metadata?.name));

    const observed = jobs.map((job) => this.informers.ownedObject("Job", namespace, job.metadata?.name) as V1Job | undefined);
    const failed = observed.filter((job) => hasCondition(job, "Failed"));
    if (failed.length > 0) {
      const message = `DKG Job(s) ${failed.map((j) => j!.metadata?.name).join(", ")} failed: see their pods' logs`;
      await this.setStatus(dv, { phase: "Failed" }, [
        { type: "Ready", status: "False", reason: "DkgFailed", message },
        { type: "Progressing", status: "False", reason: "DkgFailed", message },
        { type: "Degraded", status: "True", reason: "DkgFailed", message },
      ]);
      return "done";
    }
    const completed = observed.filter((job) => hasCondition(job, "Complete")).length;
    if (completed < jobs.length) {
      const message = `${completed}/${jobs.length} operators finished the DKG`;
      await this.setStatus(dv, { phase: "Running" }, [
        { type: "Ready", status: "False", reason: "DkgRunning", message },
        { type: "Progressing", status: "True", reason: "DkgRunning", message },
        { type: "Degraded", status: "False", reason: "AsExpected", message: "" },
      ]);
      return "done";
    }

    const outputs = await Promise.all(jobs.map((_, i) => this.readOutput(namespace, dkgOutputSecretName(name, i + 1))));
    const first = outputs[0];
    const lockText = first?.data?.["lock.json"];
    const depositData = first?.data?.["deposit-data.json"];
    if (outputs.some((o) => o === undefined) || lockText === undefined || depositData === undefined) {
      const message = "every DKG Job completed but not every output Secret (lock.json, deposit-data.json, keystores) exists";
      await this.setStatus(dv, { phase: "Running" }, [
        { type: "Ready", status: "False", reason: "OutputMissing", message },
        { type: "Progressing", status: "True", reason: "OutputMissing", message },
        { type: "Degraded", status: "True", reason: "OutputMissing", message },
      ]);
      return { requeueAfterMs: 10_000 };
    }
    const lock = JSON.parse(Buffer.from(lockText, "base64").toString()) as DkgLock;
    for (const keyShare of dkgKeyShares(dv, lock)) {
      // KeyShares are immutable where it matters; one that exists is left to its reconciler.
      if (this.informers.keyShares.get(keyShare.metadata!.name!, namespace) === undefined) await this.client.apply(keyShare);
    }
    const deposit = depositDataConfigMap(dv, Buffer.from(depositData, "base64").toString());
    await this.client.ensure(deposit, this.informers.ownedObject("ConfigMap", namespace, deposit.metadata?.name));
    await this.setStatus(
      dv,
      { phase: "Succeeded", lockHash: lock.lockHash, validatorPubkeys: lock.validators.map((v) => v.pubkey), depositDataConfigMap: depositDataConfigMapName(name) },
      [
        { type: "Ready", status: "True", reason: "KeySharesCreated", message: `${lock.validators.length} validator(s) across ${jobs.length} operators` },
        { type: "Progressing", status: "False", reason: "DkgDone", message: "" },
        { type: "Degraded", status: "False", reason: "AsExpected", message: "" },
      ],
    );
    return "done";
  }

  private async setStatus(dv: DistributedValidator, fields: { phase: Phase; lockHash?: string; validatorPubkeys?: string[]; depositDataConfigMap?: string }, observations: Observation[]): Promise<void> {
    const status = { ...fields, observedGeneration: dv.metadata?.generation, conditions: setConditions(dv.status?.conditions, observations, dv.metadata?.generation ?? 0) };
    if (statusChanged(dv.status, status)) await this.client.applyStatus(DistributedValidatorKind, dv, status);
  }

  private async readOutput(namespace: string, name: string): Promise<V1Secret | undefined> {
    return this.core.readNamespacedSecret({ namespace, name }).catch((error: unknown) => {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    });
  }
}

function hasCondition(job: V1Job | undefined, type: "Complete" | "Failed"): boolean {
  return job?.status?.conditions?.some((c) => c.type === type && c.status === "True") ?? false;
}

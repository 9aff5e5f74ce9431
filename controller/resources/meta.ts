/**
 * Names, labels and owner references shared by every object the controller creates, so that
 * `kubectl get all -l nektar.network/operator=op-1` finds an operator's objects and garbage
 * collection removes them with their owner.
 */
import type { V1ObjectMeta, V1OwnerReference } from "@kubernetes/client-node";
import type { CustomResource } from "../api/v1alpha1.js";

export const FIELD_MANAGER = "nektar-controller";

export const LABELS = {
  name: "app.kubernetes.io/name",
  instance: "app.kubernetes.io/instance",
  component: "app.kubernetes.io/component",
  managedBy: "app.kubernetes.io/managed-by",
  partOf: "app.kubernetes.io/part-of",
  operator: "nektar.network/operator",
} as const;

/** The owner reference that makes `owner` the controller of an object, for garbage collection. */
export function controllerReference(owner: CustomResource<unknown, unknown>): V1OwnerReference {
  const { name, uid } = owner.metadata ?? {};
  if (!name || !uid || !owner.apiVersion || !owner.kind) throw new Error(`owner ${owner.kind}/${name} has no uid: read it from the API server first`);
  return { apiVersion: owner.apiVersion, kind: owner.kind, name, uid, controller: true, blockOwnerDeletion: true };
}

/** Metadata of an object owned by `owner`, in its namespace. */
export function ownedMeta(owner: CustomResource<unknown, unknown>, name: string, labels: Record<string, string>): V1ObjectMeta {
  return {
    name,
    namespace: owner.metadata?.namespace,
    labels: { ...labels, [LABELS.managedBy]: FIELD_MANAGER, [LABELS.partOf]: "nektar" },
    ownerReferences: [controllerReference(owner)],
  };
}

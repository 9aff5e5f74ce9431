/**
 * The controller's writes, all of them server-side applies under one field manager: applying
 * the same object twice changes nothing, and applying it again after someone edited a field the
 * controller owns takes that field back (force: the controller is the authority on its objects).
 */
import {
  ApiException,
  CustomObjectsApi,
  EventsV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  V1MicroTime,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { createHash } from "node:crypto";
import { GROUP, VERSION, type CustomResource, type KindDefinition } from "../api/v1alpha1.js";
import { FIELD_MANAGER } from "../resources/meta.js";

export const FINALIZER = "nektar.network/finalizer";
/** Hash of what the controller last applied to an object, to skip re-applying it unchanged. */
export const APPLIED_HASH = "nektar.network/applied-hash";
const REPORTING_CONTROLLER = "nektar.network/controller";
const FINALIZER_MANAGER = `${FIELD_MANAGER}-finalizer`;

export interface EventNote {
  type: "Normal" | "Warning";
  reason: string;
  action: string;
  note: string;
}

export class ControllerClient {
  private readonly objects: KubernetesObjectApi;
  private readonly customObjects: CustomObjectsApi;
  private readonly events: EventsV1Api;

  constructor(
    kc: KubeConfig,
    /** This controller instance, reported in Events. */
    private readonly identity: string,
  ) {
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.customObjects = kc.makeApiClient(CustomObjectsApi);
    this.events = kc.makeApiClient(EventsV1Api);
  }

  /** Server-side applies `object` (a built-in kind, typed as @kubernetes/client-node models it). */
  async apply<T extends KubernetesObject>(object: T): Promise<T> {
    return this.objects.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
  }

  /**
   * Applies `object` unless `current` (the informer's copy) shows it already applied, untouched:
   * it carries the hash of this very object and no other manager owns any of its fields. A
   * manual edit adds a manager, so it is still taken back at once; an unchanged object costs no
   * request, which is what keeps a burst of reconciles cheap.
   */
  async ensure<T extends KubernetesObject>(object: T, current: KubernetesObject | undefined): Promise<void> {
    const hash = createHash("sha256").update(JSON.stringify(object)).digest("hex").slice(0, 32);
    const untouched = current?.metadata?.managedFields?.every((f) => f.manager === FIELD_MANAGER || f.subresource === "status") ?? false;
    if (untouched && current?.metadata?.annotations?.[APPLIED_HASH] === hash) return;
    await this.apply({ ...object, metadata: { ...object.metadata, annotations: { ...object.metadata?.annotations, [APPLIED_HASH]: hash } } });
  }

  /** Server-side applies the status subresource of a custom resource. */
  async applyStatus(kind: KindDefinition, resource: CustomResource<unknown, unknown>, status: unknown): Promise<void> {
    const { name, namespace } = resource.metadata!;
    await this.customObjects.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural: kind.plural,
        namespace: namespace!,
        name: name!,
        body: { apiVersion: resource.apiVersion, kind: resource.kind, metadata: { name, namespace }, status },
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
    );
  }

  /**
   * Adds or removes the controller's finalizer. Applied as a set element its own manager owns, so
   * other finalizers on the object are untouched, and so is everything the controller applied to
   * the object itself (a KeyShare it created): one manager's apply replaces all it applied before.
   */
  async setFinalizer(kind: KindDefinition, resource: CustomResource<unknown, unknown>, present: boolean): Promise<void> {
    const { name, namespace } = resource.metadata!;
    await this.customObjects.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural: kind.plural,
        namespace: namespace!,
        name: name!,
        body: { apiVersion: resource.apiVersion, kind: resource.kind, metadata: { name, namespace, finalizers: present ? [FINALIZER] : [] } },
        fieldManager: FINALIZER_MANAGER,
        force: true,
      },
      setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
    );
  }

  /** Records an Event (events.k8s.io/v1) about `regarding`. */
  async event(regarding: KubernetesObject, event: EventNote): Promise<void> {
    const { name, namespace, uid } = regarding.metadata!;
    await this.events.createNamespacedEvent({
      namespace: namespace!,
      body: {
        // Named as client-go names Events: the object's name and the time in hex nanoseconds.
        metadata: { name: `${name}.${(BigInt(Date.now()) * 1_000_000n + process.hrtime.bigint() % 1_000_000n).toString(16)}`, namespace },
        eventTime: new V1MicroTime(),
        reportingController: REPORTING_CONTROLLER,
        reportingInstance: this.identity,
        regarding: { apiVersion: regarding.apiVersion, kind: regarding.kind, name, namespace, uid },
        ...event,
      },
    });
  }
}

/** An API error in words for a condition's message: the status code and the start of the body. */
export function apiErrorMessage(error: unknown): string {
  if (error instanceof ApiException) return `${error.code}: ${String(error.body).slice(0, 512)}`;
  return error instanceof Error ? error.message : String(error);
}

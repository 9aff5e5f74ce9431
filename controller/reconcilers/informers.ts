/**
 * The controller's view of the cluster: one list-watch informer per resource type, shared by
 * every reconciler that reads it. Reconcilers read from these caches, never from the API server,
 * and are woken by their events. An informer whose watch fails starts again (a new list, then a
 * watch), so the cache converges after any disconnection.
 */
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  PolicyV1Api,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
} from "@kubernetes/client-node";
import type { Logger } from "../../services/core/log/index.js";
import {
  AVSSubscriptionKind,
  DistributedValidatorKind,
  GROUP,
  KeyShareKind,
  OperatorKind,
  VERSION,
  type AVSSubscription,
  type DistributedValidator,
  type KeyShare,
  type KindDefinition,
  type Operator,
} from "../api/v1alpha1.js";
import { FIELD_MANAGER, LABELS } from "../resources/meta.js";

export type Cache<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

/** Objects the controller creates carry this label; it watches only those. */
const OWNED = `${LABELS.managedBy}=${FIELD_MANAGER}`;

export class Informers {
  readonly operators: Cache<Operator>;
  readonly keyShares: Cache<KeyShare>;
  readonly avsSubscriptions: Cache<AVSSubscription>;
  readonly distributedValidators: Cache<DistributedValidator>;
  readonly statefulSets: Cache<KubernetesObject>;
  readonly deployments: Cache<KubernetesObject>;
  readonly jobs: Cache<KubernetesObject>;
  readonly services: Cache<KubernetesObject>;
  readonly configMaps: Cache<KubernetesObject>;
  readonly secrets: Cache<KubernetesObject>;
  readonly podDisruptionBudgets: Cache<KubernetesObject>;
  readonly networkPolicies: Cache<KubernetesObject>;
  private stopping = false;

  constructor(
    kc: KubeConfig,
    private readonly log: Logger,
  ) {
    const custom = kc.makeApiClient(CustomObjectsApi);
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const policy = kc.makeApiClient(PolicyV1Api);
    const networking = kc.makeApiClient(NetworkingV1Api);
    const batch = kc.makeApiClient(BatchV1Api);
    const customInformer = <T extends KubernetesObject>(kind: KindDefinition): Cache<T> =>
      makeInformer<T>(
        kc,
        `/apis/${GROUP}/${VERSION}/${kind.plural}`,
        () => custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: kind.plural }) as Promise<KubernetesListObject<T>>,
      );
    const owned = <T extends KubernetesObject>(path: string, list: () => Promise<KubernetesListObject<T>>): Cache<KubernetesObject> =>
      makeInformer<KubernetesObject>(kc, path, list as () => Promise<KubernetesListObject<KubernetesObject>>, OWNED);

    this.operators = customInformer<Operator>(OperatorKind);
    this.keyShares = customInformer<KeyShare>(KeyShareKind);
    this.avsSubscriptions = customInformer<AVSSubscription>(AVSSubscriptionKind);
    this.distributedValidators = customInformer<DistributedValidator>(DistributedValidatorKind);
    this.statefulSets = owned("/apis/apps/v1/statefulsets", () => apps.listStatefulSetForAllNamespaces({ labelSelector: OWNED }));
    this.deployments = owned("/apis/apps/v1/deployments", () => apps.listDeploymentForAllNamespaces({ labelSelector: OWNED }));
    this.jobs = owned("/apis/batch/v1/jobs", () => batch.listJobForAllNamespaces({ labelSelector: OWNED }));
    this.services = owned("/api/v1/services", () => core.listServiceForAllNamespaces({ labelSelector: OWNED }));
    this.configMaps = owned("/api/v1/configmaps", () => core.listConfigMapForAllNamespaces({ labelSelector: OWNED }));
    this.secrets = owned("/api/v1/secrets", () => core.listSecretForAllNamespaces({ labelSelector: OWNED }));
    this.podDisruptionBudgets = owned("/apis/policy/v1/poddisruptionbudgets", () => policy.listPodDisruptionBudgetForAllNamespaces({ labelSelector: OWNED }));
    this.networkPolicies = owned("/apis/networking.k8s.io/v1/networkpolicies", () => networking.listNetworkPolicyForAllNamespaces({ labelSelector: OWNED }));
  }

  /** Every owned-object cache, for reconcilers that map an owned object back to its owner. */
  get owned(): Cache<KubernetesObject>[] {
    return [this.statefulSets, this.deployments, this.jobs, this.services, this.configMaps, this.secrets, this.podDisruptionBudgets, this.networkPolicies];
  }

  /** The cached object the controller owns of `kind`, if any. */
  ownedObject(kind: string | undefined, namespace: string | undefined, name: string | undefined): KubernetesObject | undefined {
    const cache = {
      StatefulSet: this.statefulSets,
      Deployment: this.deployments,
      Job: this.jobs,
      Service: this.services,
      ConfigMap: this.configMaps,
      Secret: this.secrets,
      PodDisruptionBudget: this.podDisruptionBudgets,
      NetworkPolicy: this.networkPolicies,
    }[kind ?? ""];
    return name === undefined ? undefined : cache?.get(name, namespace);
  }

  private get all(): Cache<KubernetesObject>[] {
    return [this.operators, this.keyShares, this.avsSubscriptions, this.distributedValidators, ...this.owned] as Cache<KubernetesObject>[];
  }

  /** Lists everything (the caches are complete when this resolves), then keeps watching. */
  async start(): Promise<void> {
    for (const informer of this.all) {
      informer.on("error", (error: unknown) => {
        if (this.stopping) return;
        this.log.warn({ err: error }, "watch failed; listing again");
        setTimeout(() => void informer.start().catch(() => undefined), 1000).unref();
      });
    }
    await Promise.all(this.all.map((informer) => informer.start()));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.all.map((informer) => informer.stop()));
  }
}

/** "namespace/name" of an object. */
export function keyOf(object: KubernetesObject): string {
  return `${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const [namespace = "", name = ""] = key.split("/");
  return { namespace, name };
}

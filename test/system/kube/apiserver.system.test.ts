import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import {
  ApiException,
  ApiextensionsV1Api,
  AuthenticationV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type V1ConfigMap,
} from "@kubernetes/client-node";
import { startKubeApiServer, type KubeApiServer } from "./apiserver.js";

const NAMESPACE = "smoke";

describe("a real kube-apiserver with kube-controller-manager", () => {
  let kube: KubeApiServer;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let objects: KubernetesObjectApi;

  beforeAll(async () => {
    kube = await startKubeApiServer({ controllerManager: true });
    kc = new KubeConfig();
    kc.loadFromFile(kube.kubeconfigPath);
    core = kc.makeApiClient(CoreV1Api);
    objects = KubernetesObjectApi.makeApiClient(kc);
  }, 120_000);

  afterAll(() => kube?.stop());

  it("authenticates the kubeconfig's admin as system:masters", async () => {
    const review = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    expect(review.status?.userInfo?.username).toBe("nektar-admin");
    expect(review.status?.userInfo?.groups).toContain("system:masters");
  });

  it("creates a namespace and a ConfigMap in it", async () => {
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    await core.createNamespacedConfigMap({
      namespace: NAMESPACE,
      body: { metadata: { name: "settings" }, data: { network: "hoodi" } },
    });
    const read = await core.readNamespacedConfigMap({ namespace: NAMESPACE, name: "settings" });
    expect(read.data).toEqual({ network: "hoodi" });
  });

  it("authorizes with RBAC: a ServiceAccount without a role is forbidden", async () => {
    await core.createNamespacedServiceAccount({ namespace: NAMESPACE, body: { metadata: { name: "nobody" } } });
    const { status } = await core.createNamespacedServiceAccountToken({
      namespace: NAMESPACE,
      name: "nobody",
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const asNobody = new KubeConfig();
    asNobody.loadFromOptions({
      clusters: kc.clusters,
      users: [{ name: "nobody", token: status?.token }],
      contexts: [{ name: "nobody", cluster: kc.getCurrentCluster()!.name, user: "nobody" }],
      currentContext: "nobody",
    });
    const denied = await asNobody
      .makeApiClient(CoreV1Api)
      .listNamespacedConfigMap({ namespace: NAMESPACE })
      .catch((error: unknown) => error);
    expect(denied).toBeInstanceOf(ApiException);
    expect((denied as ApiException<unknown>).code).toBe(403);
  });

  it("serves a custom resource once its CRD is established", async () => {
    await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({
      body: {
        metadata: { name: "widgets.smoke.nektar.network" },
        spec: {
          group: "smoke.nektar.network",
          names: { kind: "Widget", plural: "widgets", singular: "widget", listKind: "WidgetList" },
          scope: "Namespaced",
          versions: [
            {
              name: "v1alpha1",
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: "object",
                  properties: {
                    spec: { type: "object", properties: { size: { type: "integer", minimum: 1 } } },
                  },
                },
              },
            },
          ],
        },
      },
    });
    const widget = {
      apiVersion: "smoke.nektar.network/v1alpha1",
      kind: "Widget",
      metadata: { name: "w", namespace: NAMESPACE },
      spec: { size: 3 },
    };
    // Established is set asynchronously; until then the resource is not served.
    await eventually(() => objects.create(widget));
    const read = await objects.read<typeof widget>({ ...widget });
    expect(read.spec).toEqual({ size: 3 });

    // The CRD's schema is enforced by the server.
    const invalid = await objects
      .create({ ...widget, metadata: { ...widget.metadata, name: "bad" }, spec: { size: 0 } })
      .catch((error: unknown) => error);
    expect((invalid as ApiException<unknown>).code).toBe(422);
  });

  it("server-side applies with a field manager and reports conflicts between managers", async () => {
    const applied = (data: Record<string, string>): V1ConfigMap => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "applied", namespace: NAMESPACE },
      data,
    });
    const apply = (data: Record<string, string>, manager: string, force = false) =>
      objects.patch(applied(data), undefined, undefined, manager, force, PatchStrategy.ServerSideApply);

    const first = await apply({ replicas: "1" }, "nektar-controller");
    expect(first.metadata?.managedFields?.map((f) => [f.manager, f.operation])).toEqual([
      ["nektar-controller", "Apply"],
    ]);

    const conflict = await apply({ replicas: "2" }, "someone-else").catch((error: unknown) => error);
    expect((conflict as ApiException<unknown>).code).toBe(409);

    const forced = await apply({ replicas: "2" }, "someone-else", true);
    expect(forced.data).toEqual({ replicas: "2" });
  });

  it("garbage collects an owner-referenced object after its owner is deleted", async () => {
    const owner = await core.createNamespacedConfigMap({ namespace: NAMESPACE, body: { metadata: { name: "owner" } } });
    await core.createNamespacedConfigMap({
      namespace: NAMESPACE,
      body: {
        metadata: {
          name: "dependent",
          ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata!.uid! }],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace: NAMESPACE, name: "owner" });
    await eventually(async () => {
      const gone = await core
        .readNamespacedConfigMap({ namespace: NAMESPACE, name: "dependent" })
        .catch((error: unknown) => error);
      if (!(gone instanceof ApiException && gone.code === 404)) throw new Error("dependent still exists");
    }, 60_000);
  }, 90_000);
});

/** Retries `attempt` until it resolves, for what a server does asynchronously. */
async function eventually<T>(attempt: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/**
 * Shared by the controller's system tests: a real API server with nektar's CRDs installed from
 * crds/ (the checked-in YAML, what Helm installs), and waiting for what a server does later.
 */
import { ApiextensionsV1Api, CoreV1Api, KubeConfig, loadYaml, type V1CustomResourceDefinition } from "@kubernetes/client-node";
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { Controller } from "../../../controller/reconcilers/manager.js";
import type { AvsWorkerApi } from "../../../controller/reconcilers/avs-worker-api.js";
import type { NodeApi } from "../../../controller/reconcilers/node-api.js";
import { createLogger } from "../../../services/core/log/index.js";
import { startKubeApiServer, type KubeApiServer } from "../kube/apiserver.js";

export interface TestCluster {
  kube: KubeApiServer;
  kc: KubeConfig;
  stop(): Promise<void>;
}

const CRDS_DIR = new URL("../../../crds/", import.meta.url);

export async function startCluster(options: { controllerManager?: boolean } = {}): Promise<TestCluster> {
  const kube = await startKubeApiServer(options);
  const kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfigPath);
  return { kube, kc, stop: () => kube.stop() };
}

/**
 * A cluster with the CRDs, the namespace `namespace` and nektar-system, and one controller
 * running against it; stop() stops the controller, then the cluster.
 */
export async function startControllerCluster(
  namespace: string,
  options: { identity: string; nodeApi?: NodeApi; avsWorkerApi?: AvsWorkerApi; dkgPort?: number },
): Promise<TestCluster & { controller: Controller }> {
  const cluster = await startCluster({ controllerManager: true });
  try {
    await installCrds(cluster.kc);
    await createNamespace(cluster.kc, namespace);
    await createNamespace(cluster.kc, "nektar-system");
    const controller = new Controller(cluster.kc, {
      identity: options.identity,
      controllerNamespace: "nektar-system",
      defaultImage: "ghcr.io/nektar-network/nektar:test",
      leaderElection: { name: "nektar-controller", retryPeriodMs: 300 },
      probes: { host: "127.0.0.1", port: 0 },
      ...(options.nodeApi && { nodeApi: options.nodeApi }),
      ...(options.avsWorkerApi && { avsWorkerApi: options.avsWorkerApi }),
      ...(options.dkgPort && { dkgPort: options.dkgPort }),
      log: createLogger("controller"),
    });
    await controller.start();
    return {
      ...cluster,
      controller,
      stop: async () => {
        await controller.stop();
        await cluster.stop();
      },
    };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/** Creates every CRD in crds/ and waits until each is Established. */
export async function installCrds(kc: KubeConfig): Promise<V1CustomResourceDefinition[]> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const crds = readdirSync(CRDS_DIR)
    .filter((file) => file.endsWith(".yaml"))
    .map((file) => loadYaml<V1CustomResourceDefinition>(readFileSync(new URL(file, CRDS_DIR), "utf8")));
  for (const body of crds) await api.createCustomResourceDefinition({ body });
  for (const crd of crds) {
    await eventually(async () => {
      const read = await api.readCustomResourceDefinition({ name: crd.metadata!.name! });
      if (!read.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) throw new Error(`${crd.metadata!.name} not established`);
    });
  }
  return crds;
}

export async function createNamespace(kc: KubeConfig, name: string): Promise<void> {
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
}

/** Retries `attempt` until it resolves, for what a server or controller does asynchronously. */
export async function eventually<T>(attempt: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(200);
    }
  }
}

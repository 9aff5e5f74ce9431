/**
 * The controller under load: 1,000 KeyShares across 16 Operators created at once against a real
 * kube-apiserver (with their keystore Secrets and cluster locks), timed until every KeyShare has
 * its status and every Operator's node Secret holds all its shares. The controller runs as
 * `nektar controller run` in its own process, with the heap limit the chart gives it, so its
 * peak memory is its own (VmHWM). The reference, measured in the same run, is the time the API
 * server took to accept the creates themselves. Targets: <= 60 s and <= 300 MB.
 *
 * Needs the binaries of test/system/provision/kube.sh (`bash test/system/provision.sh kube`).
 */
import { ApiextensionsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, loadYaml, type V1CustomResourceDefinition } from "@kubernetes/client-node";
import { load } from "js-yaml";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { renderCrds } from "../controller/api/crds.js";
import { examples } from "../controller/api/examples.js";
import { GROUP, VERSION, type KeyShare, type Operator } from "../controller/api/v1alpha1.js";
import { pooledKubeConfig } from "../controller/reconcilers/kubeconfig.js";
import { MANIFEST_KEY } from "../controller/resources/keyshares.js";
import { startKubeApiServer } from "../test/system/kube/apiserver.js";
import type { Benchmark } from "./index.js";
import { printTable } from "./measure.js";

const OPERATORS = 16;
const KEY_SHARES = 1000;
const IN_FLIGHT = 16;
const CLUSTER_SIZE = 4;
const NS = "bench";
const TARGET_S = 60;
const TARGET_MB = 300;

export const controllerBench: Benchmark = {
  name: "controller",
  description: `${KEY_SHARES} KeyShares across ${OPERATORS} Operators created at once: time until reconciled, controller peak memory`,
  async run() {
    // The tool paths test/system/provision.sh recorded (the same loader the system tests use).
    await import(new URL("../../test/system/env.js", import.meta.url).href);
    if (!process.env.KUBE_APISERVER) {
      console.log("skipped: no kube-apiserver; run `bash test/system/provision.sh kube` first");
      return;
    }
    const kube = await startKubeApiServer();
    const probePort = await freePort();
    const controller = spawn(
      process.execPath,
      [`--max-old-space-size=${chartHeapLimitMb()}`, fileURLToPath(new URL("../../bin/nektar.js", import.meta.url)), "controller", "run", "--kubeconfig", kube.kubeconfigPath, "--namespace", "nektar-system", "--identity", "bench", "--node-image", "nektar:bench", "--probe-address", `127.0.0.1:${probePort}`],
      { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, NEKTAR_LOG_LEVEL: "error" } },
    );
    try {
      const file = new KubeConfig();
      file.loadFromFile(kube.kubeconfigPath);
      // Connections reused, as kubectl and client-go do: creating 2,000 objects is not a TLS benchmark.
      const kc = pooledKubeConfig(file);
      await installCrds(kc);
      const core = kc.makeApiClient(CoreV1Api);
      const custom = kc.makeApiClient(CustomObjectsApi);
      for (const name of [NS, "nektar-system"]) await core.createNamespace({ body: { metadata: { name } } });
      await waitFor(async () => (await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: "nektar-system", name: "nektar-controller" })).spec?.holderIdentity === "bench", 30_000);

      const operatorOf = (i: number) => `op-${i % OPERATORS}`;
      const create = async (o: { apiVersion?: string; kind?: string; metadata?: { name?: string } }, plural: string) =>
        custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural, body: { ...o, metadata: { ...o.metadata, namespace: NS } } });
      // KeyShare i is a share of validator i. The operators form clusters of CLUSTER_SIZE, each with
      // one lock of its validators: a node holds the lock of every cluster it is in.
      const clusterOf = (i: number) => Math.floor((i % OPERATORS) / CLUSTER_SIZE);
      const keyShare = (i: number) => examples.keyShare(`ks-${i}`, operatorOf(i), 1 + (Math.floor(i / OPERATORS) % 4), i, `lock-${clusterOf(i)}`);
      const keyShares = Array.from({ length: KEY_SHARES }, (_, i) => keyShare(i));
      const start = performance.now();
      await inParallel(OPERATORS, IN_FLIGHT, (i) => create(examples.operator(operatorOf(i)), "operators"));
      await inParallel(OPERATORS / CLUSTER_SIZE, IN_FLIGHT, (c) =>
        core.createNamespacedConfigMap({ namespace: NS, body: examples.clusterLockConfigMap(`lock-${c}`, keyShares.filter((_, i) => clusterOf(i) === c)) }),
      );
      await inParallel(KEY_SHARES, IN_FLIGHT, async (i) => {
        const ks = keyShares[i]!;
        await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: ks.spec.keystoreSecretRef.name }, stringData: { "keystore.json": `{"share":${i}}`, "password.txt": "bench" } } });
        await create(ks, "keyshares");
      });
      const createdS = (performance.now() - start) / 1000;

      await waitFor(async () => converged(core, custom), 600_000);
      const reconciledS = (performance.now() - start) / 1000;
      const peakMb = peakRssMb(controller.pid!);
      const heapMb = await heapUsedMb(probePort);
      printTable(
        ["what", "figure", "target"],
        [
          ["API server accepting the creates (reference)", `${createdS.toFixed(1)} s`, ""],
          ["all reconciled, from the first create", `${reconciledS.toFixed(1)} s`, `<= ${TARGET_S} s`],
          ["ratio to the reference", `${(reconciledS / createdS).toFixed(2)}x`, ""],
          ["controller peak memory (VmHWM)", `${peakMb.toFixed(0)} MB`, `<= ${TARGET_MB} MB`],
          ["controller heap in use at the end", `${heapMb.toFixed(0)} MB`, ""],
        ],
      );
    } finally {
      controller.kill("SIGTERM");
      await new Promise((resolve) => controller.once("exit", resolve));
      await kube.stop();
    }
  },
};

/** Every KeyShare has a status for its generation, and every Operator's Secret holds all its shares. */
async function converged(core: CoreV1Api, custom: CustomObjectsApi): Promise<boolean> {
  const keyShares = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: "keyshares" })) as { items: KeyShare[] };
  if (keyShares.items.length < KEY_SHARES || keyShares.items.some((ks) => ks.status?.observedGeneration !== ks.metadata?.generation)) return false;
  const operators = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: "operators" })) as { items: Operator[] };
  const expected = KEY_SHARES / OPERATORS;
  if (operators.items.some((o) => (o.status?.keyShares ?? 0) < Math.floor(expected))) return false;
  const secrets = await core.listNamespacedSecret({ namespace: NS, labelSelector: "app.kubernetes.io/component=keyshares" });
  const delivered = secrets.items.reduce((sum, s) => sum + (JSON.parse(Buffer.from(s.data?.[MANIFEST_KEY] ?? "", "base64").toString() || "[]") as unknown[]).length, 0);
  return delivered === KEY_SHARES;
}

async function installCrds(kc: KubeConfig): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  for (const { yaml } of renderCrds()) {
    const crd = loadYaml<V1CustomResourceDefinition>(yaml);
    await api.createCustomResourceDefinition({ body: crd });
    await waitFor(async () => (await api.readCustomResourceDefinition({ name: crd.metadata!.name! })).status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ?? false, 30_000);
  }
}

/** Runs `task(0..count-1)` with at most `limit` in flight. */
async function inParallel(count: number, limit: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < count) await task(next++);
  }));
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await sleep(250);
  }
}

/** The controller's heap limit as the chart sets it (values.yaml heapLimitMb). */
function chartHeapLimitMb(): number {
  const values = load(readFileSync(new URL("../../charts/nektar/values.yaml", import.meta.url), "utf8")) as { heapLimitMb: number };
  return values.heapLimitMb;
}

/** The controller's live JS heap, from its own metrics. */
async function heapUsedMb(port: number): Promise<number> {
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const match = /^nektar_controller_nodejs_heap_size_used_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(metrics);
  if (!match) throw new Error("no heap figure in the controller's metrics");
  return Number(match[1]) / 2 ** 20;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Peak resident set of a process, from /proc (Linux). */
function peakRssMb(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no VmHWM for process ${pid}`);
  return Number(match[1]) / 1024;
}
